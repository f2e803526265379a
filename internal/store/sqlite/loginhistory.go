package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// loginHistorySchema keeps, per account, the remote networks it logged
// in from successfully and when last (Unix seconds): store.LoginHistory.
const loginHistorySchema = `
CREATE TABLE IF NOT EXISTS login_history (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	remote     TEXT NOT NULL,
	last       INTEGER NOT NULL,
	PRIMARY KEY (account_id, remote)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS login_history_last ON login_history (last);
`

var _ store.LoginHistory = (*Store)(nil)

// RecordLogin implements store.LoginHistory. An unknown account records
// nothing.
func (s *Store) RecordLogin(ctx context.Context, account, remote string, at, forgetBefore time.Time) error {
	account = store.NormalizeAccount(account)
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO login_history (account_id, remote, last)
			SELECT id, ?, ? FROM accounts WHERE name = ?
			ON CONFLICT (account_id, remote) DO UPDATE SET last = max(last, excluded.last)`,
			remote, at.Unix(), account); err != nil {
			return err
		}
		_, err := w.exec("DELETE FROM login_history WHERE last < ?", forgetBefore.Unix())
		return err
	})
}

// LastLogin implements store.LoginHistory.
func (s *Store) LastLogin(ctx context.Context, account, remote string) (time.Time, error) {
	rows, err := s.readQuery(ctx, `SELECT h.last FROM login_history h JOIN accounts a ON a.id = h.account_id
		WHERE a.name = ? AND h.remote = ?`, store.NormalizeAccount(account), remote)
	if err != nil {
		return time.Time{}, s.closedErr(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, err
		}
		return time.Time{}, nil
	}
	var last int64
	if err := rows.Scan(&last); err != nil {
		return time.Time{}, err
	}
	return time.Unix(last, 0), nil
}
