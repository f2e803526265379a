package sqlite

import (
	"context"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// AppendBatch stores several messages in one mailbox, all or none
// (store.BatchAppender; IMAP MULTIAPPEND, RFC 3502 §3).
//
// Each body is spooled to its own synced temp blob by the calling
// goroutine, one after the other (memory stays bounded by the spool's
// buffer whatever the batch's size), and parsed once. Then one committer
// job inserts the blob rows and every message row with consecutive UIDs,
// places the blob files and publishes one change: the job runs in its own
// savepoint, so a failure anywhere rolls back every row of the batch and
// drops its events, and readers (one statement, one snapshot) see either
// none of the batch or all of it.
func (s *Store) AppendBatch(ctx context.Context, account, mailbox string, msgs []store.BatchMessage) (store.BatchResult, error) {
	return s.appendBatch(ctx, account, mailbox, msgs, nil, false)
}

// appendBatch is AppendBatch, and ImportBatch (importer.go) when parallel
// is set: the bodies are then spooled concurrently. When uids is not nil
// msgs[i] gets uids[i].
func (s *Store) appendBatch(ctx context.Context, account, mailbox string, msgs []store.BatchMessage, uids []store.UID, parallel bool) (store.BatchResult, error) {
	if len(msgs) == 0 {
		return store.BatchResult{}, store.ErrEmptyBatch
	}
	select {
	case <-s.closing:
		return store.BatchResult{}, store.ErrClosed
	default:
	}
	type spooled struct {
		tb       tempBlob
		analysis *blobfs.Analysis
		placed   bool
	}
	items := make([]spooled, len(msgs))
	defer func() {
		for _, it := range items {
			if it.placed || it.tb.Path == "" {
				continue
			}
			if err := s.fs.Remove(it.tb.Path); err != nil && !isNotExist(err) {
				s.log.Warn("removing temp blob", "path", it.tb.Path, "err", err)
			}
		}
	}()
	spool := func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		tb, err := s.writeTempBlob(msgs[i].Body)
		if err != nil {
			return &store.BatchError{Index: i, Err: err}
		}
		items[i].tb = tb
		analysis, err := structureOf(tb)
		if err != nil {
			return &store.BatchError{Index: i, Err: err}
		}
		items[i].analysis = analysis
		return nil
	}
	if err := store.SpoolAll(len(msgs), parallel, spool); err != nil {
		return store.BatchResult{}, err
	}
	acct := store.NormalizeAccount(account)
	name, err := store.NormalizeMailbox(mailbox)
	if err != nil {
		return store.BatchResult{}, err
	}
	now := s.now()
	var res store.BatchResult
	err = s.writeBlobs(ctx, func(w *wtx) error {
		// Alone in its batch the job has no savepoint of its own, but
		// then a failure rolls back the whole transaction: either way
		// nothing of this batch survives an error.
		res = store.BatchResult{}
		var mbID, accountID int64
		err := w.queryRow(`SELECT m.id, m.uidvalidity, a.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
			WHERE a.name = ? AND m.name = ?`, acct, name).Scan(&mbID, &res.UIDValidity, &accountID)
		if err != nil {
			if _, aerr := w.account(acct); aerr != nil {
				return aerr
			}
			return store.ErrNoSuchMailbox
		}
		var modseq store.ModSeq
		for i, m := range msgs {
			it := items[i]
			if err := w.insertBlob(it.tb.ID, it.tb.Size, it.analysis); err != nil {
				return err
			}
			date := m.InternalDate
			if date.IsZero() {
				date = now
			}
			ids, err := w.newObjectIDs(accountID, it.analysis, now)
			if err != nil {
				return err
			}
			if uids != nil {
				if err := w.reserveUID(mbID, uids[i]); err != nil {
					return err
				}
			}
			uid, ms, err := w.appendMessage(mbID, store.NormalizeFlags(m.Flags), date, it.tb.Size, it.tb.ID, ids)
			if err != nil {
				return err
			}
			res.UIDs = append(res.UIDs, uid)
			modseq = ms
		}
		// The whole batch against the account's quota (RFC 9208 §5.1:
		// APPEND over quota fails, and MULTIAPPEND is all or nothing).
		if err := w.checkQuota(accountID); err != nil {
			return err
		}
		// Files last, as Deliver does: if the transaction fails after
		// this, cleanupBlobs removes a file no committed row names.
		// A placement that fails rolls this job back: the files it gave
		// a name to before are removed again, since only its own rows
		// (rolled back) could name them (the blob lock keeps every other
		// writer out, and content stored before has its file already).
		var created []string
		for i := range items {
			path := s.blobPath(items[i].tb.ID)
			existed, err := s.fs.Exists(path)
			if err == nil {
				err = w.placeBlob(items[i].tb)
			}
			if err != nil {
				for _, p := range created {
					if rerr := s.fs.Remove(p); rerr != nil && !isNotExist(rerr) {
						s.log.Warn("removing blob of a failed batch", "path", p, "err", rerr)
					}
				}
				return err
			}
			items[i].placed = true
			if !existed {
				created = append(created, path)
			}
		}
		w.publish(acct, store.Change{Kind: store.MailboxChanged, MailboxID: mbID, Mailbox: name, ModSeq: modseq})
		return nil
	})
	if err != nil {
		return store.BatchResult{}, err
	}
	return res, nil
}
