package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Deliver stores one message for every target (store.Store.Deliver).
//
// The body is streamed to a spool file (CRLF normalised, SHA-256 computed,
// size limit enforced) and parsed once. Then one transaction stores the
// body in the database unless that content is stored already, and inserts
// a message row per target; Deliver returns after its COMMIT, which
// PostgreSQL makes durable before answering. The spool file is only a
// staging area: it is never fsynced and is removed before Deliver returns.
//
// A target that fails (unknown account or mailbox) gets its own error and
// is rolled back alone, inside a savepoint; the others commit. Targets are
// processed in (account, mailbox) order so deliveries with the same
// targets lock their mailboxes in the same order.
func (s *Store) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	if len(targets) == 0 {
		return nil, errors.New("postgres: delivery without targets")
	}
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	tmp, err := blobfs.Spool(body, blobfs.SpoolOptions{FS: s.fs, Dir: s.spoolDir, Pattern: "letterbox-in-*", Max: s.maxSize, Verbatim: store.IsVerbatim(body)})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		if err := s.fs.Remove(tmp.Path); err != nil {
			s.log.Warn("postgres: removing spool file", "path", tmp.Path, "err", err)
		}
	}()
	analysis, err := blobfs.Analyze(tmp.Path, tmp.Size)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	order := make([]int, len(targets))
	keys := make([]struct{ account, mailbox string }, len(targets))
	for i, t := range targets {
		order[i] = i
		keys[i].account = store.NormalizeAccount(t.Account)
		keys[i].mailbox, _ = store.NormalizeMailbox(t.Mailbox)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(keys[a].account, keys[b].account), cmp.Compare(keys[a].mailbox, keys[b].mailbox))
	})
	now := s.now()
	results := make([]store.DeliveryResult, len(targets))
	err = s.write(ctx, func(w *wtx) error {
		clear(results)
		if err := w.storeBlob(tmp, &analysis); err != nil {
			return err
		}
		ok := 0
		for _, i := range order {
			err := w.savepoint(func() error {
				r, err := w.deliverOne(targets[i], tmp, &analysis, now)
				results[i] = r
				return err
			})
			if err != nil {
				if retryable(err) {
					// Run the whole delivery again rather than fail
					// this target for a transient reason.
					return err
				}
				results[i] = store.DeliveryResult{Err: err}
				continue
			}
			ok++
		}
		if ok == 0 {
			return errNoTargetDelivered
		}
		return nil
	})
	if errors.Is(err, errNoTargetDelivered) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// errNoTargetDelivered rolls back a delivery none of whose targets
// succeeded (the body is not kept); Deliver reports the per-target errors
// instead.
var errNoTargetDelivered = errors.New("postgres: no target delivered")

// deliverOne inserts one copy: the next UID and the next MODSEQ of the
// target mailbox (one change).
func (w *wtx) deliverOne(t store.Target, tmp blobfs.Temp, a *blobfs.Analysis, now time.Time) (store.DeliveryResult, error) {
	account := store.NormalizeAccount(t.Account)
	name, err := store.NormalizeMailbox(t.Mailbox)
	if err != nil {
		return store.DeliveryResult{}, err
	}
	var mbID, uidvalidity, accountID int64
	err = w.queryRow(`SELECT m.id, m.uidvalidity, m.account_id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
		WHERE a.name = $1 AND m.name = $2`, account, name).Scan(&mbID, &uidvalidity, &accountID)
	if err != nil {
		if _, aerr := lookupAccount(w.ctx, w.tx, account); aerr != nil {
			return store.DeliveryResult{}, aerr
		}
		return store.DeliveryResult{}, store.ErrNoSuchMailbox
	}
	date := t.InternalDate
	if date.IsZero() {
		date = now
	}
	msg := store.Message{Flags: store.NormalizeFlags(t.Flags), InternalDate: date, Size: tmp.Size, BlobID: tmp.ID}
	ids, err := w.newObjectIDs(accountID, a, now)
	if err != nil {
		return store.DeliveryResult{}, err
	}
	uids, modseq, err := w.appendMessages(mbID, []store.Message{msg}, []objectIDs{ids})
	if err != nil {
		return store.DeliveryResult{}, err
	}
	// The insert counted the message (quota.go); over a limit, the caller's
	// savepoint undoes it (RFC 9208 §4.1).
	if err := w.checkQuota(accountID); err != nil {
		return store.DeliveryResult{}, err
	}
	w.publish(account, store.Change{Kind: store.MailboxChanged, MailboxID: mbID, Mailbox: name, ModSeq: modseq})
	return store.DeliveryResult{UIDValidity: uint32(uidvalidity), UID: uids[0]}, nil
}

// errUIDsExhausted: the mailbox used every 32-bit UID.
var errUIDsExhausted = errors.New("postgres: mailbox has no UIDs left")

// appendMessages allocates the next len(msgs) UIDs and MODSEQs of a
// mailbox with one UPDATE ... RETURNING, which also locks the mailbox row
// until commit, and inserts the message rows (flags already normalised).
// ids[i] is the identity and save date of msgs[i]. It returns the new
// UIDs, in order, and the last MODSEQ.
func (w *wtx) appendMessages(mbID int64, msgs []store.Message, ids []objectIDs) ([]store.UID, store.ModSeq, error) {
	n := int64(len(msgs))
	var first, before int64
	err := w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + $2
		WHERE id = $1 RETURNING uidnext - $2, highestmodseq - $2`, mbID, n).Scan(&first, &before)
	if err != nil {
		return nil, 0, mailboxGone(err)
	}
	if first+n-1 > math.MaxUint32 {
		return nil, 0, errUIDsExhausted
	}
	var (
		flags       = make([]string, n)
		seen, del   = make([]bool, n), make([]bool, n)
		dates, size = make([]int64, n), make([]int64, n)
		zones       = make([]int32, n)
		blobs       = make([]string, n)
		uids        = make([]store.UID, n)
		emails      = make([]int64, n)
		threads     = make([]int64, n)
		saved       = make([]int64, n)
	)
	for i, m := range msgs {
		flags[i] = joinFlags(m.Flags)
		seen[i] = slices.Contains(m.Flags, store.FlagSeen)
		del[i] = slices.Contains(m.Flags, store.FlagDeleted)
		_, off := m.InternalDate.Zone()
		dates[i], zones[i] = m.InternalDate.Unix(), int32(off)
		size[i], blobs[i] = m.Size, m.BlobID
		uids[i] = store.UID(first + int64(i))
		emails[i], threads[i], saved[i] = ids[i].email, ids[i].thread, ids[i].saved.Unix()
	}
	_, err = w.exec(`INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, deleted, internaldate, tzoffset, size, blob_id,
			email_id, thread_id, savedate)
		SELECT $1, $2 + i - 1, $3 + i, f, s, d, dt, tz, sz, b, e, th, sv
		FROM unnest($4::text[], $5::boolean[], $6::boolean[], $7::bigint[], $8::integer[], $9::bigint[], $10::text[],
			$11::bigint[], $12::bigint[], $13::bigint[])
			WITH ORDINALITY AS t(f, s, d, dt, tz, sz, b, e, th, sv, i)`,
		mbID, first, before, flags, seen, del, dates, zones, size, blobs, emails, threads, saved)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: insert messages: %w", err)
	}
	return uids, store.ModSeq(before + n), nil
}
