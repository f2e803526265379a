package postgres

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// urlauthSchema keeps the URLAUTH mailbox access keys (RFC 4467 §7), one
// per mailbox at most, deleted with the mailbox.
const urlauthSchema = `
CREATE TABLE IF NOT EXISTS urlauth_keys (
	mailbox_id bigint PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
	key        bytea NOT NULL
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
		WHERE a.name = $1 AND m.name = $2`, acct, name).Scan(&id)
	if err != nil {
		if _, aerr := lookupAccount(w.ctx, w.tx, acct); aerr != nil {
			return 0, aerr
		}
		return 0, store.ErrNoSuchMailbox
	}
	return id, nil
}

// MailboxAccessKey implements store.AccessKeys. Two nodes creating a key
// for one mailbox at once agree on one: the loser's INSERT does nothing
// and it reads the winner's.
func (s *Store) MailboxAccessKey(ctx context.Context, account, mailbox string, create bool) ([]byte, error) {
	var key []byte
	err := s.write(ctx, func(w *wtx) error {
		key = nil
		id, err := w.mailboxID(account, mailbox)
		if err != nil {
			return err
		}
		if create {
			fresh := make([]byte, store.AccessKeySize)
			rand.Read(fresh)
			if _, err := w.exec("INSERT INTO urlauth_keys (mailbox_id, key) VALUES ($1, $2) ON CONFLICT (mailbox_id) DO NOTHING", id, fresh); err != nil {
				return err
			}
		}
		err = w.queryRow("SELECT key FROM urlauth_keys WHERE mailbox_id = $1", id).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) {
			key = nil
			return nil
		}
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
			_, err = w.exec("DELETE FROM urlauth_keys WHERE mailbox_id = $1", id)
			return err
		}
		a, err := lookupAccount(w.ctx, w.tx, store.NormalizeAccount(account))
		if err != nil {
			return err
		}
		_, err = w.exec("DELETE FROM urlauth_keys WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = $1)", a.ID)
		return err
	})
}
