package sqlite

import (
	"context"
	"database/sql"

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

// reserveUID moves the mailbox's UIDNEXT up to uid, so the next
// appendMessage takes uid; a UIDNEXT above uid (the UID was used, or
// handed out and expunged) refuses with store.ErrUIDNotAvailable.
func (w *wtx) reserveUID(mbID int64, uid store.UID) error {
	res, err := w.exec("UPDATE mailboxes SET uidnext = ? WHERE id = ? AND uidnext <= ?", int64(uid), mbID, int64(uid))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrUIDNotAvailable
	}
	return nil
}

// importMailbox looks up an account's mailbox inside the write
// transaction: its ID and the account's name as stored.
func (w *wtx) importMailbox(account, mailbox string) (id int64, acct, name string, err error) {
	acct = store.NormalizeAccount(account)
	if name, err = store.NormalizeMailbox(mailbox); err != nil {
		return 0, "", "", err
	}
	err = w.queryRow(`SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
		WHERE a.name = ? AND m.name = ?`, acct, name).Scan(&id)
	if err != nil {
		if _, aerr := w.account(acct); aerr != nil {
			return 0, "", "", aerr
		}
		return 0, "", "", store.ErrNoSuchMailbox
	}
	return id, acct, name, nil
}

// SetUIDValidity gives a mailbox that never held a message another
// UIDVALIDITY (store.Importer). The meta counter is raised to it when it
// is higher, so a mailbox created later (or this one re-created) gets a
// UIDVALIDITY above it (RFC 3501 §2.3.1.1).
func (s *Store) SetUIDValidity(ctx context.Context, account, mailbox string, uidValidity uint32) error {
	if uidValidity == 0 {
		return store.ErrInvalidUIDValidity
	}
	return s.write(ctx, func(w *wtx) error {
		id, _, _, err := w.importMailbox(account, mailbox)
		if err != nil {
			return err
		}
		res, err := w.exec("UPDATE mailboxes SET uidvalidity = ? WHERE id = ? AND uidnext = 1", int64(uidValidity), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrMailboxUsed
		}
		_, err = w.exec(`INSERT INTO meta (key, value) VALUES ('uidvalidity', ?)
			ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`, int64(uidValidity))
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
		err = w.queryRow(`UPDATE mailboxes SET uidnext = ?, highestmodseq = highestmodseq + 1
			WHERE id = ? AND uidnext < ? RETURNING highestmodseq`, int64(next), id, int64(next)).Scan(&hms)
		if err == sql.ErrNoRows {
			return nil // already at or above next
		}
		if err != nil {
			return err
		}
		w.publish(acct, store.Change{Kind: store.MailboxChanged, MailboxID: id, Mailbox: name, ModSeq: store.ModSeq(hms)})
		return nil
	})
}

// OtherProcess reports whether another process had the data directory's
// store open when this one opened it (the server, while a CLI command
// runs). Its in-memory state (HIGHESTMODSEQ, change logs) does not learn
// of this process's writes to messages, so `letterbox import` refuses to
// run next to it.
func (s *Store) OtherProcess() bool { return !s.spool.Alone }
