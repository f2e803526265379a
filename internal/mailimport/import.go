package mailimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// Options shape one import run.
type Options struct {
	Store   store.Store
	Account string
	// Batch is the number of messages per transaction (default 2000);
	// BatchBytes bounds the bytes per transaction (default 64 MiB).
	Batch      int
	BatchBytes int64
	// Progress reports as the run goes; nil prints nothing.
	Progress *Progress
}

// Report is what Run did, per mailbox.
type Report struct {
	Stats
	Mailboxes []MailboxReport
}

// MailboxReport says how one mailbox was imported.
type MailboxReport struct {
	Name     string
	Imported int
	Skipped  int // already imported by an earlier run
	TooLarge int // over the store's message size limit: not imported
	// KeptUIDs: the source's UIDVALIDITY and UIDs were kept. When false
	// (the target mailbox had held messages, or the source has no UIDs)
	// the messages got new UIDs, and an IMAP client downloads them again.
	KeptUIDs    bool
	UIDValidity uint32
}

// Run imports every mailbox of src into the account (which must exist).
func Run(ctx context.Context, src Source, opts Options) (Report, error) {
	imp, ok := opts.Store.(store.Importer)
	if !ok {
		return Report{}, errors.New("this store cannot import (no store.Importer)")
	}
	if opts.Batch <= 0 {
		opts.Batch = 2000
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 64 << 20
	}
	p := opts.Progress
	if p == nil {
		p = NewProgress(io.Discard, false)
	}
	mbs, err := opts.Store.Mailboxes(ctx, opts.Account)
	if err != nil {
		if errors.Is(err, store.ErrNoSuchAccount) {
			return Report{}, fmt.Errorf("no account %s (create it first: letterbox user add %s)", opts.Account, opts.Account)
		}
		return Report{}, err
	}
	boxes, err := src.Mailboxes(ctx)
	if err != nil {
		return Report{}, err
	}
	total, totalBytes := 0, int64(0)
	for _, b := range boxes {
		if b.Messages < 0 || total < 0 {
			total = -1
		} else {
			total += b.Messages
		}
		if b.Bytes < 0 || totalBytes < 0 {
			totalBytes = -1
		} else {
			totalBytes += b.Bytes
		}
	}
	p.SetTotal(total, totalBytes)
	var rep Report
	for _, b := range boxes {
		mr, err := importMailbox(ctx, src, imp, mbs, b, opts, p)
		rep.Mailboxes = append(rep.Mailboxes, mr)
		if err != nil {
			rep.Stats = p.Done()
			return rep, fmt.Errorf("mailbox %s: %w", b.Name, err)
		}
	}
	subs, err := src.Subscriptions(ctx)
	if err != nil {
		return rep, err
	}
	for _, name := range subs {
		if err := mbs.SetSubscribed(ctx, name, true); err != nil && !errors.Is(err, store.ErrInvalidName) {
			return rep, fmt.Errorf("subscribing %s: %w", name, err)
		}
	}
	rep.Stats = p.Done()
	return rep, nil
}

func importMailbox(ctx context.Context, src Source, imp store.Importer, mbs store.Mailboxes, b *SourceMailbox, opts Options, p *Progress) (MailboxReport, error) {
	mr := MailboxReport{Name: b.Name}
	mi, err := mbs.Get(ctx, b.Name)
	if errors.Is(err, store.ErrNoSuchMailbox) {
		mi, err = mbs.Create(ctx, b.Name, "")
	}
	if err != nil {
		return mr, err
	}
	acct := mbs.Account().Name
	// Keep the source's UIDs when the target never held a message (it
	// takes the source's UIDVALIDITY), or already has it (an earlier
	// run of this import).
	keep := false
	if b.UIDValidity != 0 {
		switch {
		case mi.UIDValidity == b.UIDValidity:
			keep = true
		case mi.UIDNext == 1:
			if err := imp.SetUIDValidity(ctx, acct, mi.Name, b.UIDValidity); err != nil {
				return mr, err
			}
			mi.UIDValidity, keep = b.UIDValidity, true
		default:
			p.Printf("%s: the mailbox has held messages already (UIDVALIDITY %d); imported messages get new UIDs and clients will download them again",
				mi.Name, mi.UIDValidity)
		}
	}
	mr.KeptUIDs, mr.UIDValidity = keep, mi.UIDValidity
	st, err := loadState(ctx, opts.Store, acct, mi.Name)
	if err != nil {
		return mr, err
	}
	var after uint32
	if st.Source == src.ID() && st.Mailbox == b.Name && st.UIDValidity == b.UIDValidity {
		after = st.LastUID
	} else if keep && mi.UIDValidity == b.UIDValidity && mi.UIDNext > 1 {
		// No state of this source, but the UIDs are the source's: what is
		// below UIDNEXT is here already.
		after = uint32(mi.UIDNext) - 1
	}
	// A kept-UID import whose state write was lost in a crash finds its
	// last batch's UIDs taken already: those are present, skip them.
	var present map[store.UID]int64
	if keep && uint32(mi.UIDNext) > after+1 {
		mb, err := mbs.Open(ctx, mi.Name)
		if err != nil {
			return mr, err
		}
		msgs, err := mb.Messages(ctx)
		if err != nil {
			return mr, err
		}
		present = make(map[store.UID]int64, len(msgs))
		for _, m := range msgs {
			present[m.UID] = m.Size
		}
	}
	uidNext := store.UID(mi.UIDNext)

	var (
		batch      []store.BatchMessage
		uids       []store.UID
		srcUIDs    []uint32
		batchBytes int64
		lastDone   = after
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		lastSrc := srcUIDs[len(srcUIDs)-1]
		for len(batch) > 0 {
			u := uids
			if !keep {
				u = nil // new UIDs
			}
			_, err := imp.ImportBatch(ctx, acct, mi.Name, batch, u)
			for _, m := range batch {
				m.Body.(*lazyFile).Close()
			}
			var be *store.BatchError
			if err == nil || !errors.As(err, &be) || !errors.Is(be.Err, store.ErrTooLarge) || be.Index >= len(batch) {
				if err != nil {
					return err
				}
				break
			}
			// A message over the store's size limit is left out (and
			// named); the rest of the batch goes again, each body read
			// from the start.
			i := be.Index
			p.Printf("%s: source UID %d is larger than the message size limit; not imported", mi.Name, srcUIDs[i])
			mr.TooLarge++
			batch = slices.Delete(batch, i, i+1)
			uids = slices.Delete(uids, i, i+1)
			srcUIDs = slices.Delete(srcUIDs, i, i+1)
			for k := range batch {
				batch[k].Body = &lazyFile{open: batch[k].Body.(*lazyFile).open}
			}
		}
		mr.Imported += len(batch)
		p.Add(len(batch), batchBytes)
		lastDone = lastSrc
		batch, uids, srcUIDs, batchBytes = batch[:0], uids[:0], srcUIDs[:0], 0
		return saveState(ctx, opts.Store, acct, mi.Name, state{Source: src.ID(), Mailbox: b.Name, UIDValidity: b.UIDValidity, LastUID: lastDone})
	}
	err = src.Fetch(ctx, b, after, func(m *SourceMessage) error {
		u := store.UID(m.UID)
		if keep && u < uidNext {
			if _, ok := present[u]; ok {
				mr.Skipped++
				p.Add(1, m.Size)
				return nil
			}
			// The UID went to another message meanwhile (a delivery
			// after an earlier run): from here on, new UIDs.
			if err := flush(); err != nil {
				return err
			}
			p.Printf("%s: UID %d is taken in the target; the rest of the mailbox gets new UIDs", mi.Name, u)
			keep, mr.KeptUIDs = false, false
		}
		batch = append(batch, store.BatchMessage{Body: &lazyFile{open: m.Open}, Flags: store.NormalizeFlags(m.Flags), InternalDate: m.Date})
		uids = append(uids, u)
		srcUIDs = append(srcUIDs, m.UID)
		batchBytes += m.Size
		if keep {
			uidNext = u + 1
		}
		if len(batch) >= opts.Batch || batchBytes >= opts.BatchBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	for _, m := range batch {
		m.Body.(*lazyFile).Close()
	}
	if err != nil {
		return mr, err
	}
	if keep && b.UIDNext > 1 {
		if err := imp.RaiseUIDNext(ctx, acct, mi.Name, store.UID(b.UIDNext)); err != nil {
			return mr, err
		}
	}
	how := "UIDs kept"
	if !mr.KeptUIDs {
		how = "new UIDs"
	}
	if mr.Imported > 0 || mr.Skipped > 0 || mr.TooLarge > 0 || after == 0 {
		p.Printf("%s: %d imported (%s, UIDVALIDITY %d)%s", mi.Name, mr.Imported, how, mr.UIDValidity, skippedNote(mr.Skipped, mr.TooLarge, after))
	} else {
		p.Printf("%s: nothing new since the last run", mi.Name)
	}
	return mr, nil
}

func skippedNote(skipped, tooLarge int, after uint32) string {
	var parts []string
	if tooLarge > 0 {
		parts = append(parts, fmt.Sprintf("%d over the message size limit, not imported", tooLarge))
	}
	if after > 0 {
		parts = append(parts, fmt.Sprintf("resumed after source UID %d", after))
	}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d already present", skipped))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

// lazyFile opens a message when the store first reads it, so a batch of
// hundreds of messages holds one open file at a time.
type lazyFile struct {
	open func() (io.ReadCloser, error)
	rc   io.ReadCloser
	err  error
}

func (l *lazyFile) Read(p []byte) (int, error) {
	if l.rc == nil && l.err == nil {
		l.rc, l.err = l.open()
	}
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.rc.Read(p)
	if err == io.EOF {
		l.rc.Close()
		l.rc, l.err = nil, io.EOF
	}
	return n, err
}

func (l *lazyFile) Close() error {
	if l.rc != nil {
		l.rc.Close()
		l.rc = nil
	}
	return nil
}
