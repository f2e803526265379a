package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// CreateAccount makes the account with INBOX and store.DefaultMailboxes
// (subscribed, with their RFC 6154 special-use attributes).
func (s *Store) CreateAccount(ctx context.Context, name, passwordHash string) (store.Account, error) {
	name = store.NormalizeAccount(name)
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return store.Account{}, fmt.Errorf("postgres: invalid account name %q", name)
	}
	var acc store.Account
	err := s.write(ctx, func(w *wtx) error {
		now := s.now().Unix()
		var id int64
		err := w.queryRow(`INSERT INTO accounts (name, password_hash, created) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING RETURNING id`, name, passwordHash, now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrAccountExists
		}
		if err != nil {
			return err
		}
		acc = store.Account{ID: id, Name: name, PasswordHash: passwordHash, Created: time.Unix(now, 0)}
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
// subscriptions. The messages' content is kept like expunged content and
// collected later (collect.go).
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	name = store.NormalizeAccount(name)
	return s.write(ctx, func(w *wtx) error {
		var accID int64
		err := w.queryRow("SELECT id FROM accounts WHERE name = $1 FOR UPDATE", name).Scan(&accID)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchAccount
		}
		if err != nil {
			return err
		}
		// Lock the mailboxes in ID order, like every other writer that
		// locks several, so deliveries in flight finish first.
		rows, err := w.query("SELECT id, name, highestmodseq FROM mailboxes WHERE account_id = $1 ORDER BY id FOR UPDATE", accID)
		if err != nil {
			return err
		}
		type mb struct {
			id   int64
			name string
			hms  int64
		}
		mbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mb, error) {
			var m mb
			err := r.Scan(&m.id, &m.name, &m.hms)
			return m, err
		})
		if err != nil {
			return err
		}
		for _, m := range mbs {
			if err := w.deleteMailboxRows(m.id, store.ModSeq(m.hms)); err != nil {
				return err
			}
			w.publish(name, store.Change{Kind: store.MailboxDeleted, MailboxID: m.id, Mailbox: m.name, ModSeq: store.ModSeq(m.hms)})
		}
		_, err = w.exec("DELETE FROM accounts WHERE id = $1", accID)
		return err
	})
}

// SetPasswordHash replaces the account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, name, passwordHash string) error {
	name = store.NormalizeAccount(name)
	return s.write(ctx, func(w *wtx) error {
		tag, err := w.exec("UPDATE accounts SET password_hash = $1 WHERE name = $2", passwordHash, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoSuchAccount
		}
		// A new password logs every client out (store.Tokens).
		_, err = w.exec("DELETE FROM login_tokens WHERE account_id = (SELECT id FROM accounts WHERE name = $1)", name)
		return err
	})
}

// Account looks an account up by name (any case).
func (s *Store) Account(ctx context.Context, name string) (store.Account, error) {
	q, err := s.db()
	if err != nil {
		return store.Account{}, err
	}
	return lookupAccount(ctx, q, store.NormalizeAccount(name))
}

const accountColumns = "id, name, password_hash, created"

func scanAccount(r pgx.Row) (store.Account, error) {
	var a store.Account
	var created int64
	err := r.Scan(&a.ID, &a.Name, &a.PasswordHash, &created)
	a.Created = time.Unix(created, 0)
	return a, err
}

// Accounts lists all accounts by name.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT "+accountColumns+" FROM accounts ORDER BY name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Account, error) { return scanAccount(r) })
}

func lookupAccount(ctx context.Context, q querier, name string) (store.Account, error) {
	a, err := scanAccount(q.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, store.ErrNoSuchAccount
	}
	return a, err
}
