package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// metadataMigration keeps METADATA entries (RFC 5464, store.Metadata):
// mailbox_metadata per mailbox, going with it (ON DELETE CASCADE; RENAME
// keeps the mailbox's ID, so the entries follow), server_metadata per
// account. name is the lower-cased entry name (COLLATE "C": byte order, so
// the child range name+'/' <= child < name+'0' works as for mailboxes).
const metadataMigration = `
CREATE TABLE mailbox_metadata (
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	name       text COLLATE "C" NOT NULL,
	value      bytea NOT NULL,
	PRIMARY KEY (mailbox_id, name)
);

CREATE TABLE server_metadata (
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       text COLLATE "C" NOT NULL,
	value      bytea NOT NULL,
	PRIMARY KEY (account_id, name)
);
`

// metadataScope is where a Metadata call's entries live: the table, its
// key column and the key (mailbox ID, or account ID for server entries).
type metadataScope struct {
	table, column string
	key           int64
	mailboxID     int64 // 0 for server entries
	mailbox       string
}

func metadataScopeOf(ctx context.Context, q querier, account, mailbox string) (store.Account, metadataScope, error) {
	acc, err := lookupAccount(ctx, q, store.NormalizeAccount(account))
	if err != nil {
		return acc, metadataScope{}, err
	}
	if mailbox == store.ServerMetadata {
		return acc, metadataScope{table: "server_metadata", column: "account_id", key: acc.ID}, nil
	}
	name, err := store.NormalizeMailbox(mailbox)
	if err != nil {
		return acc, metadataScope{}, err
	}
	mi, err := mailboxByName(ctx, q, acc.ID, name)
	if err != nil {
		return acc, metadataScope{}, err
	}
	return acc, metadataScope{table: "mailbox_metadata", column: "mailbox_id", key: mi.ID, mailboxID: mi.ID, mailbox: mi.Name}, nil
}

// GetMetadata implements store.Metadata in one snapshot.
func (s *Store) GetMetadata(ctx context.Context, account, mailbox string, names []string) ([]store.MetadataEntry, error) {
	var out []store.MetadataEntry
	err := s.read(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		_, sc, err := metadataScopeOf(ctx, tx, account, mailbox)
		if err != nil {
			return err
		}
		los, his := make([]string, len(names)), make([]string, len(names))
		for i, n := range names {
			los[i], his[i] = childRange(n)
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT t.name, t.value FROM `+sc.table+` t
			JOIN unnest($2::text[], $3::text[], $4::text[]) AS q(n, lo, hi)
			ON t.name = q.n OR (t.name >= q.lo AND t.name < q.hi)
			WHERE t.`+sc.column+` = $1`, sc.key, names, los, his)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MetadataEntry, error) {
			var e store.MetadataEntry
			err := r.Scan(&e.Name, &e.Value)
			if e.Value == nil {
				e.Value = []byte{}
			}
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.MetadataEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SetMetadata implements store.Metadata in one transaction. Writers of one
// account's metadata serialise on the account row (FOR NO KEY UPDATE: it
// does not block the key-share locks of mailbox and message writes), so
// the limits hold across nodes.
func (s *Store) SetMetadata(ctx context.Context, account, mailbox string, entries []store.MetadataEntry, limits store.MetadataLimits) error {
	return s.write(ctx, func(w *wtx) error {
		acc, err := lookupAccount(w.ctx, w.tx, store.NormalizeAccount(account))
		if err != nil {
			return err
		}
		if _, err := w.exec("SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE", acc.ID); err != nil {
			return err
		}
		_, sc, err := metadataScopeOf(w.ctx, w.tx, account, mailbox)
		if err != nil {
			return err
		}
		countQ := "SELECT COUNT(*) FROM " + sc.table + " WHERE " + sc.column + " = $1"
		totalQ := `SELECT
			COALESCE((SELECT SUM(octet_length(name) + octet_length(value)) FROM server_metadata WHERE account_id = $1), 0) +
			COALESCE((SELECT SUM(octet_length(m.name) + octet_length(m.value)) FROM mailbox_metadata m
				JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = $1), 0)`
		var countBefore, totalBefore int64
		if err := w.queryRow(countQ, sc.key).Scan(&countBefore); err != nil {
			return err
		}
		if err := w.queryRow(totalQ, acc.ID).Scan(&totalBefore); err != nil {
			return err
		}
		for _, e := range entries {
			if e.Value == nil {
				_, err = w.exec("DELETE FROM "+sc.table+" WHERE "+sc.column+" = $1 AND name = $2", sc.key, e.Name)
			} else {
				_, err = w.exec("INSERT INTO "+sc.table+" ("+sc.column+", name, value) VALUES ($1, $2, $3)"+
					" ON CONFLICT ("+sc.column+", name) DO UPDATE SET value = excluded.value", sc.key, e.Name, e.Value)
			}
			if err != nil {
				return err
			}
		}
		var count, total int64
		if err := w.queryRow(countQ, sc.key).Scan(&count); err != nil {
			return err
		}
		if err := w.queryRow(totalQ, acc.ID).Scan(&total); err != nil {
			return err
		}
		if err := limits.Check(countBefore, count, totalBefore, total); err != nil {
			return err
		}
		for _, e := range entries {
			w.publish(acc.Name, store.Change{Kind: store.MetadataChanged, MailboxID: sc.mailboxID, Mailbox: sc.mailbox, Entry: e.Name})
		}
		return nil
	})
}

var _ store.Metadata = (*Store)(nil)
