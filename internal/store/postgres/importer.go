package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// The store.Importer capability: `letterbox import` keeps the UIDVALIDITY
// and UIDs a mailbox had on the server it comes from.

var _ store.Importer = (*Store)(nil)

// ImportBatch stores msgs with the given UIDs, all or none, in one
// transaction (store.Importer).
func (s *Store) ImportBatch(ctx context.Context, account, mailbox string, msgs []store.BatchMessage, uids []store.UID) (store.BatchResult, error) {
	if len(msgs) == 0 {
		return store.BatchResult{}, store.ErrEmptyBatch
	}
	if uids != nil {
		if err := store.CheckImportUIDs(len(msgs), uids, 1); err != nil {
			return store.BatchResult{}, err
		}
	}
	return s.appendBatch(ctx, account, mailbox, msgs, uids, true)
}

// appendChosen inserts rows with consecutive new UIDs (uids nil) or with
// the UIDs given: for each run of consecutive UIDs, UIDNEXT is first moved
// up to its first UID (refused with store.ErrUIDNotAvailable when UIDNEXT
// is above it already), then the run takes its UIDs through one
// appendMessages. The mailbox row is locked by the first UPDATE until
// commit.
func (w *wtx) appendChosen(mbID int64, rows []store.Message, ids []objectIDs, uids []store.UID) ([]store.UID, store.ModSeq, error) {
	if uids == nil {
		return w.appendMessages(mbID, rows, ids)
	}
	got := make([]store.UID, 0, len(rows))
	var modseq store.ModSeq
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && uids[j] == uids[j-1]+1 {
			j++
		}
		tag, err := w.exec("UPDATE mailboxes SET uidnext = $2 WHERE id = $1 AND uidnext <= $2", mbID, int64(uids[i]))
		if err != nil {
			return nil, 0, err
		}
		if tag.RowsAffected() == 0 {
			return nil, 0, store.ErrUIDNotAvailable
		}
		u, ms, err := w.appendMessages(mbID, rows[i:j], ids[i:j])
		if err != nil {
			return nil, 0, err
		}
		got, modseq = append(got, u...), ms
		i = j
	}
	return got, modseq, nil
}

// importMailbox looks up an account's mailbox inside the transaction.
func (w *wtx) importMailbox(account, mailbox string) (id int64, acct, name string, err error) {
	acct = store.NormalizeAccount(account)
	if name, err = store.NormalizeMailbox(mailbox); err != nil {
		return 0, "", "", err
	}
	err = w.queryRow(`SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
		WHERE a.name = $1 AND m.name = $2`, acct, name).Scan(&id)
	if err != nil {
		if _, aerr := lookupAccount(w.ctx, w.tx, acct); aerr != nil {
			return 0, "", "", aerr
		}
		return 0, "", "", store.ErrNoSuchMailbox
	}
	return id, acct, name, nil
}

// SetUIDValidity gives a mailbox that never held a message another
// UIDVALIDITY (store.Importer); the meta counter is raised to it when it
// is higher, so mailboxes created later get higher ones.
func (s *Store) SetUIDValidity(ctx context.Context, account, mailbox string, uidValidity uint32) error {
	if uidValidity == 0 {
		return store.ErrInvalidUIDValidity
	}
	return s.write(ctx, func(w *wtx) error {
		id, _, _, err := w.importMailbox(account, mailbox)
		if err != nil {
			return err
		}
		tag, err := w.exec("UPDATE mailboxes SET uidvalidity = $2 WHERE id = $1 AND uidnext = 1", id, int64(uidValidity))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrMailboxUsed
		}
		_, err = w.exec(`INSERT INTO meta (key, value) VALUES ('uidvalidity', $1)
			ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)`, int64(uidValidity))
		return err
	})
}

// RaiseUIDNext raises the mailbox's UIDNEXT to next when it is higher; the
// raise takes a MODSEQ and is published (store.Importer).
func (s *Store) RaiseUIDNext(ctx context.Context, account, mailbox string, next store.UID) error {
	return s.write(ctx, func(w *wtx) error {
		id, acct, name, err := w.importMailbox(account, mailbox)
		if err != nil {
			return err
		}
		var hms int64
		err = w.queryRow(`UPDATE mailboxes SET uidnext = $2, highestmodseq = highestmodseq + 1
			WHERE id = $1 AND uidnext < $2 RETURNING highestmodseq`, id, int64(next)).Scan(&hms)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		w.publish(acct, store.Change{Kind: store.MailboxChanged, MailboxID: id, Mailbox: name, ModSeq: store.ModSeq(hms)})
		return nil
	})
}
