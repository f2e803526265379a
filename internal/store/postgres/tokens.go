package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// tokenMigration keeps login tokens by their hash (store.Tokens), deleted
// with their account.
const tokenMigration = `
CREATE TABLE login_tokens (
	hash       bytea PRIMARY KEY,
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	kind       text NOT NULL,
	data       text NOT NULL DEFAULT '',
	expires    timestamptz NOT NULL
);
CREATE INDEX login_tokens_account ON login_tokens (account_id);
CREATE INDEX login_tokens_expires ON login_tokens (expires);
`

var _ store.Tokens = (*Store)(nil)

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	account := store.NormalizeAccount(t.Account)
	return s.write(ctx, func(w *wtx) error {
		tag, err := w.exec(`INSERT INTO login_tokens (hash, account_id, kind, data, expires)
			SELECT $1, id, $2, $3, $4 FROM accounts WHERE name = $5`,
			t.Hash, t.Kind, t.Data, t.Expires, account)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoSuchAccount
		}
		return nil
	})
}

// LookupToken implements store.Tokens.
func (s *Store) LookupToken(ctx context.Context, hash []byte, now time.Time) (store.Token, error) {
	q, err := s.db()
	if err != nil {
		return store.Token{}, err
	}
	t := store.Token{Hash: hash}
	err = q.QueryRow(ctx, `SELECT a.name, t.kind, t.data, t.expires FROM login_tokens t
		JOIN accounts a ON a.id = t.account_id WHERE t.hash = $1 AND t.expires > $2`, hash, now).
		Scan(&t.Account, &t.Kind, &t.Data, &t.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, store.ErrNoSuchToken
	}
	return t, err
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec("DELETE FROM login_tokens WHERE hash = $1", hash)
		return err
	})
}

// DeleteAccountTokens implements store.Tokens.
func (s *Store) DeleteAccountTokens(ctx context.Context, account string, keep []byte) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`DELETE FROM login_tokens WHERE account_id = (SELECT id FROM accounts WHERE name = $1)
			AND hash IS DISTINCT FROM $2`, store.NormalizeAccount(account), keep)
		return err
	})
}

// DeleteExpiredTokens implements store.Tokens.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.write(ctx, func(w *wtx) error {
		tag, err := w.exec("DELETE FROM login_tokens WHERE expires <= $1", now)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		return nil
	})
	return n, err
}
