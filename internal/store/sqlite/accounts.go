package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// CreateAccount makes the account with INBOX and store.DefaultMailboxes
// (subscribed, with their RFC 6154 special-use attributes).
func (s *Store) CreateAccount(ctx context.Context, name, passwordHash string) (store.Account, error) {
	name = store.NormalizeAccount(name)
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return store.Account{}, fmt.Errorf("sqlite: invalid account name %q", name)
	}
	var acc store.Account
	err := s.write(ctx, func(w *wtx) error {
		now := s.now()
		res, err := w.exec("INSERT INTO accounts (name, password_hash, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			name, passwordHash, now.Unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrAccountExists
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		acc = store.Account{ID: id, Name: name, PasswordHash: passwordHash, Created: time.Unix(now.Unix(), 0)}
		if _, err := w.createMailbox(acc, store.InboxName, "", true); err != nil {
			return err
		}
		for _, d := range store.DefaultMailboxes {
			if _, err := w.createMailbox(acc, d.Name, d.SpecialUse, true); err != nil {
				return err
			}
		}
		return nil
	})
	return acc, err
}

// DeleteAccount removes the account, its mailboxes, messages and
// subscriptions. The messages' content stays readable while a session's
// Pin holds it, then is collected like expunged content (collect.go).
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	name = store.NormalizeAccount(name)
	return s.write(ctx, func(w *wtx) error {
		acc, err := w.account(name)
		if err != nil {
			return err
		}
		rows, err := w.query("SELECT id, name, highestmodseq FROM mailboxes WHERE account_id = ?", acc.ID)
		if err != nil {
			return err
		}
		type mb struct {
			id   int64
			name string
			hms  int64
		}
		var mbs []mb
		for rows.Next() {
			var m mb
			if err := rows.Scan(&m.id, &m.name, &m.hms); err != nil {
				rows.Close()
				return err
			}
			mbs = append(mbs, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range mbs {
			if err := w.deleteMailboxRows(m.id, store.ModSeq(m.hms)); err != nil {
				return err
			}
			w.publish(name, store.Change{Kind: store.MailboxDeleted, MailboxID: m.id, Mailbox: m.name, ModSeq: store.ModSeq(m.hms)})
		}
		_, err = w.exec("DELETE FROM accounts WHERE id = ?", acc.ID)
		return err
	})
}

// SetPasswordHash replaces the account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, name, passwordHash string) error {
	name = store.NormalizeAccount(name)
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec("UPDATE accounts SET password_hash = ? WHERE name = ?", passwordHash, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNoSuchAccount
		}
		// A new password logs every client out (store.Tokens).
		_, err = w.exec("DELETE FROM login_tokens WHERE account_id = (SELECT id FROM accounts WHERE name = ?)", name)
		return err
	})
}

// Account looks an account up by name (any case): one prepared statement.
func (s *Store) Account(ctx context.Context, name string) (store.Account, error) {
	if s.isClosing() {
		return store.Account{}, store.ErrClosed
	}
	acc, err := lookupAccount(ctx, pool{s}, store.NormalizeAccount(name))
	return acc, s.closedErr(err)
}

// Accounts lists all accounts by name.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.readQuery(ctx, "SELECT id, name, password_hash, created FROM accounts ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		var a store.Account
		var created int64
		if err := rows.Scan(&a.ID, &a.Name, &a.PasswordHash, &created); err != nil {
			return nil, s.closedErr(err)
		}
		a.Created = time.Unix(created, 0)
		out = append(out, a)
	}
	return out, s.closedErr(rows.Err())
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func lookupAccount(ctx context.Context, q queryer, name string) (store.Account, error) {
	var a store.Account
	var created int64
	err := q.QueryRowContext(ctx, "SELECT id, name, password_hash, created FROM accounts WHERE name = ?", name).
		Scan(&a.ID, &a.Name, &a.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.ErrNoSuchAccount
	}
	if err != nil {
		return a, err
	}
	a.Created = time.Unix(created, 0)
	return a, nil
}

func (w *wtx) account(name string) (store.Account, error) {
	return lookupAccount(w.ctx, w, name)
}
