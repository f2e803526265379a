package sqlite

import (
	"context"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// metadataSchema keeps METADATA entries (RFC 5464, store.Metadata):
// mailbox_metadata per mailbox, going with it (ON DELETE CASCADE; RENAME
// keeps the mailbox's ID, so the entries follow), server_metadata per
// account. name is the lower-cased entry name, value any octets.
const metadataSchema = `
CREATE TABLE IF NOT EXISTS mailbox_metadata (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	value      BLOB NOT NULL,
	PRIMARY KEY (mailbox_id, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS server_metadata (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	value      BLOB NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
`

// metadataScope is where a Metadata call's entries live: the table, its
// key column and the key (mailbox ID, or account ID for server entries).
type metadataScope struct {
	table, column string
	key           int64
	mailboxID     int64 // 0 for server entries
	mailbox       string
}

// metadataScope resolves account and mailbox.
func metadataScopeOf(ctx context.Context, q queryer, account, mailbox string) (store.Account, metadataScope, error) {
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

// GetMetadata implements store.Metadata in one read transaction.
func (s *Store) GetMetadata(ctx context.Context, account, mailbox string, names []string) ([]store.MetadataEntry, error) {
	var out []store.MetadataEntry
	err := s.readTx(ctx, func(tx *rtx) error {
		_, sc, err := metadataScopeOf(ctx, tx, account, mailbox)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, n := range names {
			lo, hi := childRange(n)
			rows, err := tx.QueryContext(ctx, "SELECT name, value FROM "+sc.table+" WHERE "+sc.column+
				" = ? AND (name = ? OR (name >= ? AND name < ?)) ORDER BY name", sc.key, n, lo, hi)
			if err != nil {
				return err
			}
			for rows.Next() {
				var e store.MetadataEntry
				if err := rows.Scan(&e.Name, &e.Value); err != nil {
					rows.Close()
					return err
				}
				if e.Value == nil {
					e.Value = []byte{}
				}
				if !seen[e.Name] {
					seen[e.Name] = true
					out = append(out, e)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.closedErr(err)
	}
	slices.SortFunc(out, func(a, b store.MetadataEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SetMetadata implements store.Metadata: one write request, so its own
// SAVEPOINT in the committer's batch; any error rolls all of it back.
func (s *Store) SetMetadata(ctx context.Context, account, mailbox string, entries []store.MetadataEntry, limits store.MetadataLimits) error {
	return s.write(ctx, func(w *wtx) error {
		acc, sc, err := metadataScopeOf(w.ctx, w, account, mailbox)
		if err != nil {
			return err
		}
		countQ := "SELECT COUNT(*) FROM " + sc.table + " WHERE " + sc.column + " = ?"
		totalQ := `SELECT
			COALESCE((SELECT SUM(length(CAST(name AS BLOB)) + length(value)) FROM server_metadata WHERE account_id = ?1), 0) +
			COALESCE((SELECT SUM(length(CAST(m.name AS BLOB)) + length(m.value)) FROM mailbox_metadata m
				JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?1), 0)`
		var countBefore, totalBefore int64
		if err := w.queryRow(countQ, sc.key).Scan(&countBefore); err != nil {
			return err
		}
		if err := w.queryRow(totalQ, acc.ID).Scan(&totalBefore); err != nil {
			return err
		}
		for _, e := range entries {
			if e.Value == nil {
				_, err = w.exec("DELETE FROM "+sc.table+" WHERE "+sc.column+" = ? AND name = ?", sc.key, e.Name)
			} else {
				_, err = w.exec("INSERT INTO "+sc.table+" ("+sc.column+", name, value) VALUES (?, ?, ?)"+
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
		// Not publish: the event carries no MODSEQ for the HIGHESTMODSEQ
		// cache.
		for _, e := range entries {
			w.events = append(w.events, event{acc.Name, store.Change{
				Kind: store.MetadataChanged, MailboxID: sc.mailboxID, Mailbox: sc.mailbox, Entry: e.Name}})
		}
		return nil
	})
}

var _ store.Metadata = (*Store)(nil)
