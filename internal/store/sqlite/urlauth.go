package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"

	"github.com/letterbox/letterbox/internal/store"
)

// urlauthSchema keeps the URLAUTH mailbox access keys (RFC 4467 §7), one
// per mailbox at most, deleted with the mailbox.
const urlauthSchema = `
CREATE TABLE IF NOT EXISTS urlauth_keys (
	mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
	key        BLOB NOT NULL
);
`

// mailboxID resolves account and mailbox in the write transaction.
func (w *wtx) mailboxID(account, mailbox string) (int64, error) {
	acct := store.NormalizeAccount(account)
	name, err := store.NormalizeMailbox(mailbox)
	if err != nil {
		return 0, err
	}
	var id int64
	err = w.queryRow(`SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id
		WHERE a.name = ? AND m.name = ?`, acct, name).Scan(&id)
	if err != nil {
		if _, aerr := w.account(acct); aerr != nil {
			return 0, aerr
		}
		return 0, store.ErrNoSuchMailbox
	}
	return id, nil
}

// MailboxAccessKey implements store.AccessKeys.
func (s *Store) MailboxAccessKey(ctx context.Context, account, mailbox string, create bool) ([]byte, error) {
	var key []byte
	err := s.write(ctx, func(w *wtx) error {
		key = nil
		id, err := w.mailboxID(account, mailbox)
		if err != nil {
			return err
		}
		err = w.queryRow("SELECT key FROM urlauth_keys WHERE mailbox_id = ?", id).Scan(&key)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		key = nil
		if !create {
			return nil
		}
		key = make([]byte, store.AccessKeySize)
		rand.Read(key)
		_, err = w.exec("INSERT INTO urlauth_keys (mailbox_id, key) VALUES (?, ?)", id, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// ResetAccessKeys implements store.AccessKeys.
func (s *Store) ResetAccessKeys(ctx context.Context, account, mailbox string) error {
	return s.write(ctx, func(w *wtx) error {
		if mailbox != "" {
			id, err := w.mailboxID(account, mailbox)
			if err != nil {
				return err
			}
			_, err = w.exec("DELETE FROM urlauth_keys WHERE mailbox_id = ?", id)
			return err
		}
		a, err := w.account(store.NormalizeAccount(account))
		if err != nil {
			return err
		}
		_, err = w.exec("DELETE FROM urlauth_keys WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)", a.ID)
		return err
	})
}
