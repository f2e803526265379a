package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// aliasMigration: store.Aliases. An alias goes with its account.
const aliasMigration = `
CREATE TABLE aliases (
	address    text PRIMARY KEY,
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
);
CREATE INDEX aliases_account ON aliases (account_id);
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
		if err := w.queryRow("SELECT id FROM accounts WHERE name = $1", store.NormalizeAccount(account)).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNoSuchAccount
			}
			return err
		}
		var n int
		if err := w.queryRow("SELECT (SELECT COUNT(*) FROM aliases WHERE address = $1) + (SELECT COUNT(*) FROM accounts WHERE name = $1)", addr).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrAliasExists // an alias, or an account's own address
		}
		_, err := w.exec("INSERT INTO aliases (address, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", addr, id)
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
		tag, err := w.exec("DELETE FROM aliases WHERE address = $1", addr)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoSuchAlias
		}
		return nil
	})
}

// Aliases implements store.Aliases.
func (s *Store) Aliases(ctx context.Context) ([]store.Alias, error) {
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT l.address, a.name FROM aliases l JOIN accounts a ON a.id = l.account_id ORDER BY l.address")
	if err != nil {
		return nil, err
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

// ResolveAlias implements store.Aliases: the exact address before its
// catch-all.
func (s *Store) ResolveAlias(ctx context.Context, address string) (string, error) {
	q, err := s.db()
	if err != nil {
		return "", err
	}
	address = strings.ToLower(address)
	var name string
	err = q.QueryRow(ctx, `SELECT a.name FROM aliases l JOIN accounts a ON a.id = l.account_id
		WHERE l.address IN ($1, $2) ORDER BY length(l.address) DESC LIMIT 1`, address, store.CatchAll(address)).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return name, err
}
