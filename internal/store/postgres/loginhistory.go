package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// loginHistoryMigration keeps, per account, the remote networks it logged
// in from successfully and when last: store.LoginHistory.
const loginHistoryMigration = `
CREATE TABLE login_history (
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	remote     text NOT NULL,
	last       timestamptz NOT NULL,
	PRIMARY KEY (account_id, remote)
);
CREATE INDEX login_history_last ON login_history (last);
`

var _ store.LoginHistory = (*Store)(nil)

// RecordLogin implements store.LoginHistory. An unknown account records
// nothing.
func (s *Store) RecordLogin(ctx context.Context, account, remote string, at, forgetBefore time.Time) error {
	account = store.NormalizeAccount(account)
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO login_history (account_id, remote, last)
			SELECT id, $1, $2 FROM accounts WHERE name = $3
			ON CONFLICT (account_id, remote) DO UPDATE SET last = GREATEST(login_history.last, excluded.last)`,
			remote, at, account); err != nil {
			return err
		}
		_, err := w.exec("DELETE FROM login_history WHERE last < $1", forgetBefore)
		return err
	})
}

// LastLogin implements store.LoginHistory.
func (s *Store) LastLogin(ctx context.Context, account, remote string) (time.Time, error) {
	q, err := s.db()
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	err = q.QueryRow(ctx, `SELECT h.last FROM login_history h JOIN accounts a ON a.id = h.account_id
		WHERE a.name = $1 AND h.remote = $2`, store.NormalizeAccount(account), remote).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return last, err
}
