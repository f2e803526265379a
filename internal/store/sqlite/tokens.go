package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// tokenSchema keeps login tokens by their hash (store.Tokens), deleted
// with their account.
const tokenSchema = `
CREATE TABLE IF NOT EXISTS login_tokens (
	hash       BLOB PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	data       TEXT NOT NULL DEFAULT '',
	expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS login_tokens_account ON login_tokens (account_id);
CREATE INDEX IF NOT EXISTS login_tokens_expires ON login_tokens (expires);
`

var _ store.Tokens = (*Store)(nil)

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	account := store.NormalizeAccount(t.Account)
	return s.write(ctx, func(w *wtx) error {
		a, err := w.account(account)
		if err != nil {
			return err
		}
		_, err = w.exec(`INSERT INTO login_tokens (hash, account_id, kind, data, expires) VALUES (?, ?, ?, ?, ?)`,
			t.Hash, a.ID, t.Kind, t.Data, t.Expires.UnixMilli())
		return err
	})
}

// LookupToken implements store.Tokens.
func (s *Store) LookupToken(ctx context.Context, hash []byte, now time.Time) (store.Token, error) {
	rows, err := s.readQuery(ctx, `SELECT a.name, t.kind, t.data, t.expires FROM login_tokens t
		JOIN accounts a ON a.id = t.account_id WHERE t.hash = ? AND t.expires > ?`, hash, now.UnixMilli())
	if err != nil {
		return store.Token{}, s.closedErr(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return store.Token{}, err
		}
		return store.Token{}, store.ErrNoSuchToken
	}
	t := store.Token{Hash: hash}
	var exp int64
	if err := rows.Scan(&t.Account, &t.Kind, &t.Data, &exp); err != nil {
		return store.Token{}, err
	}
	t.Expires = time.UnixMilli(exp)
	return t, nil
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec("DELETE FROM login_tokens WHERE hash = ?", hash)
		return err
	})
}

// DeleteAccountTokens implements store.Tokens.
func (s *Store) DeleteAccountTokens(ctx context.Context, account string, keep []byte) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`DELETE FROM login_tokens WHERE account_id = (SELECT id FROM accounts WHERE name = ?)
			AND hash IS NOT ?`, store.NormalizeAccount(account), keep)
		return err
	})
}

// DeleteExpiredTokens implements store.Tokens.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec("DELETE FROM login_tokens WHERE expires <= ?", now.UnixMilli())
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		n = int(k)
		return nil
	})
	return n, err
}
