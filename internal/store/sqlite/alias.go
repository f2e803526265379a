package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// aliasSchema: store.Aliases. An alias goes with its account.
const aliasSchema = `
CREATE TABLE IF NOT EXISTS aliases (
	address    TEXT PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_account ON aliases (account_id);
`

var _ store.Aliases = (*Store)(nil)

// AddAlias implements store.Aliases.
func (s *Store) AddAlias(ctx context.Context, address, account string) error {
	addr, err := store.NormalizeAlias(address)
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *wtx) error {
		var id int64
		err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM accounts WHERE name = ?", store.NormalizeAccount(account)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNoSuchAccount
		}
		if err != nil {
			return err
		}
		var n int
		if err := w.tx.QueryRowContext(w.ctx, "SELECT (SELECT COUNT(*) FROM aliases WHERE address = ?) + (SELECT COUNT(*) FROM accounts WHERE name = ?)", addr, addr).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrAliasExists // an alias, or an account's own address
		}
		_, err = w.exec("INSERT INTO aliases (address, account_id) VALUES (?, ?)", addr, id)
		return err
	})
}

// DeleteAlias implements store.Aliases.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	addr, err := store.NormalizeAlias(address)
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec("DELETE FROM aliases WHERE address = ?", addr)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNoSuchAlias
		}
		return nil
	})
}

// Aliases implements store.Aliases.
func (s *Store) Aliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.readQuery(ctx, "SELECT l.address, a.name FROM aliases l JOIN accounts a ON a.id = l.account_id ORDER BY l.address")
	if err != nil {
		return nil, s.closedErr(err)
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var al store.Alias
		if err := rows.Scan(&al.Address, &al.Account); err != nil {
			return nil, err
		}
		out = append(out, al)
	}
	return out, rows.Err()
}

// ResolveAlias implements store.Aliases: the exact address sorts before
// its catch-all ("a@x" > "@x"), so the first row wins.
func (s *Store) ResolveAlias(ctx context.Context, address string) (string, error) {
	address = strings.ToLower(address)
	rows, err := s.readQuery(ctx, `SELECT a.name FROM aliases l JOIN accounts a ON a.id = l.account_id
		WHERE l.address IN (?, ?) ORDER BY length(l.address) DESC LIMIT 1`, address, store.CatchAll(address))
	if err != nil {
		return "", s.closedErr(err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", rows.Err()
	}
	var name string
	err = rows.Scan(&name)
	return name, err
}
