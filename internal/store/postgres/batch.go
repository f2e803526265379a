package postgres

import (
	"context"
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// AppendBatch stores several messages in one mailbox, all or none
// (store.BatchAppender; IMAP MULTIAPPEND, RFC 3502 §3).
//
// Each body is spooled (CRLF normalised, hashed, size limit enforced) and
// parsed by the caller, one after the other, so memory stays bounded by
// the spool buffer and one COPY chunk whatever the batch's size. Then one
// transaction stores the bodies not stored yet, allocates consecutive UIDs
// with one UPDATE … RETURNING (which locks the mailbox row) and inserts
// every row; its NOTIFY goes out only if it commits. Readers on any node
// see none of the batch or all of it.
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
	if s.closed.Load() {
		return store.BatchResult{}, store.ErrClosed
	}
	type spooled struct {
		tmp      blobfs.Temp
		analysis blobfs.Analysis
	}
	items := make([]spooled, len(msgs))
	defer func() {
		for _, it := range items {
			if it.tmp.Path == "" {
				continue
			}
			if err := s.fs.Remove(it.tmp.Path); err != nil {
				s.log.Warn("postgres: removing spool file", "path", it.tmp.Path, "err", err)
			}
		}
	}()
	spool := func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := msgs[i]
		tmp, err := blobfs.Spool(m.Body, blobfs.SpoolOptions{FS: s.fs, Dir: s.spoolDir, Pattern: "letterbox-in-*", Max: s.maxSize, Verbatim: store.IsVerbatim(m.Body)})
		if err != nil {
			return &store.BatchError{Index: i, Err: fmt.Errorf("postgres: %w", err)}
		}
		items[i].tmp = tmp
		analysis, err := blobfs.Analyze(tmp.Path, tmp.Size)
		if err != nil {
			return &store.BatchError{Index: i, Err: fmt.Errorf("postgres: %w", err)}
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
	err = s.write(ctx, func(w *wtx) error {
		res = store.BatchResult{}
		var mbID, uidvalidity, accountID int64
		err := w.queryRow(`SELECT m.id, m.uidvalidity, a.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
			WHERE a.name = $1 AND m.name = $2`, acct, name).Scan(&mbID, &uidvalidity, &accountID)
		if err != nil {
			if _, aerr := lookupAccount(w.ctx, w.tx, acct); aerr != nil {
				return aerr
			}
			return store.ErrNoSuchMailbox
		}
		rows := make([]store.Message, len(msgs))
		ids := make([]objectIDs, len(msgs))
		for i, m := range msgs {
			it := &items[i]
			if err := w.storeBlob(it.tmp, &it.analysis); err != nil {
				return err
			}
			if ids[i], err = w.newObjectIDs(accountID, &it.analysis, now); err != nil {
				return err
			}
			date := m.InternalDate
			if date.IsZero() {
				date = now
			}
			rows[i] = store.Message{Flags: store.NormalizeFlags(m.Flags), InternalDate: date, Size: it.tmp.Size, BlobID: it.tmp.ID}
		}
		got, modseq, err := w.appendChosen(mbID, rows, ids, uids)
		if err != nil {
			return err
		}
		// The whole batch against the account's quota (RFC 9208 §5.1:
		// APPEND over quota fails, and MULTIAPPEND is all or nothing).
		if err := w.checkQuota(accountID); err != nil {
			return err
		}
		res = store.BatchResult{UIDValidity: uint32(uidvalidity), UIDs: got}
		w.publish(acct, store.Change{Kind: store.MailboxChanged, MailboxID: mbID, Mailbox: name, ModSeq: modseq})
		return nil
	})
	if err != nil {
		return store.BatchResult{}, err
	}
	return res, nil
}
