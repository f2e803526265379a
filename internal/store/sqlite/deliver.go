package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Deliver stores one message for every target (store.Store.Deliver).
//
// Durability, in order: the body is streamed to Dir/blobs/tmp (CRLF
// normalised, SHA-256 computed) and fsynced by the calling goroutine; the
// committer renames it to its content address (or drops it when that
// content is already stored), fsyncs the blob's directory, inserts the rows
// for all targets and commits with synchronous=FULL (the WAL is fsynced).
// Deliver returns only after that commit. Concurrent deliveries share the
// directory sync and the commit (group commit).
//
// A target that fails (unknown account or mailbox, over quota) gets its own error and
// is rolled back alone; the others commit.
func (s *Store) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	if len(targets) == 0 {
		return nil, errors.New("sqlite: delivery without targets")
	}
	select {
	case <-s.closing:
		return nil, store.ErrClosed
	default:
	}
	tb, analysis, err := s.spoolDelivery(body)
	if err != nil {
		return nil, err
	}
	now := s.now()
	results := make([]store.DeliveryResult, len(targets))
	placed := false
	err = s.writeBlobs(ctx, func(w *wtx) error {
		// The blob row first: message rows refer to it. When no target
		// succeeds the whole request rolls back, blob row included.
		if err := w.insertBlob(tb.ID, tb.Size, analysis); err != nil {
			return err
		}
		ok := 0
		for i, t := range targets {
			deliver := func() error {
				r, err := w.deliverOne(t, tb, analysis, now)
				results[i] = r
				return err
			}
			var err error
			if len(targets) == 1 {
				// A lone target needs no SAVEPOINT of its own (two statements
				// less on the committer, LMTP's bottleneck): if it fails,
				// nothing of this request commits (errNoTargetDelivered).
				err = runRecovered(deliver)
			} else {
				err = w.savepoint(deliver)
			}
			if err != nil {
				results[i] = store.DeliveryResult{Err: err}
				continue
			}
			ok++
		}
		if ok == 0 {
			return errNoTargetDelivered
		}
		if err := w.placeBlob(tb); err != nil {
			return err
		}
		placed = true
		return nil
	})
	if errors.Is(err, errNoTargetDelivered) {
		err = nil
	}
	if !placed {
		if rerr := s.fs.Remove(tb.Path); rerr != nil && !isNotExist(rerr) {
			s.log.Warn("removing temp blob", "path", tb.Path, "err", rerr)
		}
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// spoolDelivery spools and analyses a delivery's body, counted in
// s.spooling meanwhile (groupWait). On error nothing is left behind.
func (s *Store) spoolDelivery(body io.Reader) (tempBlob, *blobfs.Analysis, error) {
	s.spooling.Add(1)
	defer s.spooling.Add(-1)
	tb, err := s.writeTempBlob(body)
	if err != nil {
		return tempBlob{}, nil, err
	}
	analysis, err := structureOf(tb)
	if err != nil {
		s.fs.Remove(tb.Path)
		return tempBlob{}, nil, err
	}
	return tb, analysis, nil
}

// deliverOne inserts one copy: the next UID and the next MODSEQ of the
// target mailbox (one change).
func (w *wtx) deliverOne(t store.Target, tb tempBlob, a *blobfs.Analysis, now time.Time) (store.DeliveryResult, error) {
	account := store.NormalizeAccount(t.Account)
	name, err := store.NormalizeMailbox(t.Mailbox)
	if err != nil {
		return store.DeliveryResult{}, err
	}
	var mbID, accountID int64
	var uidvalidity uint32
	err = w.queryRow(`SELECT m.id, m.uidvalidity, m.account_id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
		WHERE a.name = ? AND m.name = ?`, account, name).Scan(&mbID, &uidvalidity, &accountID)
	if err != nil {
		if _, aerr := w.account(account); aerr != nil {
			return store.DeliveryResult{}, aerr
		}
		return store.DeliveryResult{}, store.ErrNoSuchMailbox
	}
	date := t.InternalDate
	if date.IsZero() {
		date = now
	}
	ids, err := w.newObjectIDs(accountID, a, now)
	if err != nil {
		return store.DeliveryResult{}, err
	}
	uid, modseq, err := w.appendMessage(mbID, store.NormalizeFlags(t.Flags), date, tb.Size, tb.ID, ids)
	if err != nil {
		return store.DeliveryResult{}, err
	}
	// The insert counted the message (quota.go); over a limit, the caller's
	// savepoint undoes it (RFC 9208 §4.1).
	if err := w.checkQuota(accountID); err != nil {
		return store.DeliveryResult{}, err
	}
	w.publish(account, store.Change{Kind: store.MailboxChanged, MailboxID: mbID, Mailbox: name, ModSeq: modseq})
	return store.DeliveryResult{UIDValidity: uidvalidity, UID: uid}, nil
}

// errNoTargetDelivered rolls back a delivery none of whose targets
// succeeded; Deliver reports the per-target errors instead.
var errNoTargetDelivered = errors.New("sqlite: no target delivered")

// errUIDsExhausted: the mailbox used every 32-bit UID.
var errUIDsExhausted = errors.New("sqlite: mailbox has no UIDs left")

// appendMessage allocates the next UID and MODSEQ of a mailbox and inserts
// the message row with its identity and save date.
func (w *wtx) appendMessage(mbID int64, flags []string, date time.Time, size int64, blobID string, ids objectIDs) (store.UID, store.ModSeq, error) {
	var uidnext, modseq int64
	err := w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
		WHERE id = ? RETURNING uidnext - 1, highestmodseq`, mbID).Scan(&uidnext, &modseq)
	if err != nil {
		return 0, 0, err
	}
	if uidnext > math.MaxUint32 {
		return 0, 0, errUIDsExhausted
	}
	_, offset := date.Zone()
	_, err = w.exec(`INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, deleted, internaldate, tzoffset, size, blob_id,
		email_id, thread_id, savedate)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		mbID, uidnext, modseq, joinFlags(flags), hasFlag(flags, store.FlagSeen), hasFlag(flags, store.FlagDeleted),
		date.Unix(), offset, size, blobID, ids.email, ids.thread, ids.saved.Unix())
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: insert message: %w", err)
	}
	seen, deleted := hasFlag(flags, store.FlagSeen), hasFlag(flags, store.FlagDeleted)
	d := counts{messages: 1, size: size}
	if !seen {
		d.unseen = 1
	}
	if deleted {
		d.deleted, d.deletedSize = 1, size
	}
	w.noteCounts(mbID, store.ModSeq(modseq-1), store.ModSeq(modseq), d)
	w.logChange(mbID, store.UID(uidnext+1), store.Message{
		UID: store.UID(uidnext), ModSeq: store.ModSeq(modseq), Flags: storedFlags(flags),
		InternalDate: dateOf(date.Unix(), int64(offset)), Size: size, BlobID: blobID,
	})
	return store.UID(uidnext), store.ModSeq(modseq), nil
}
