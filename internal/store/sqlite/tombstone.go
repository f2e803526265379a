package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/letterbox/letterbox/internal/store"
)

// Tombstones keep the email and thread IDs of the expunged message
// (store.TombstoneObjects); keepExpunged copies them from the live row.

var _ store.TombstoneObjects = (*mailbox)(nil)

// migrateTombstoneObjects (schema 4) adds the columns; tombstones made
// before keep 0 (no identity known).
func migrateTombstoneObjects(tx *sql.Tx) error {
	for _, col := range []string{"email_id", "thread_id"} {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM pragma_table_info('tombstones') WHERE name = ?", col).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.Exec("ALTER TABLE tombstones ADD COLUMN " + col + " INTEGER NOT NULL DEFAULT 0"); err != nil {
				return err
			}
		}
	}
	return nil
}

// TombstoneObjects implements store.TombstoneObjects.
func (m *mailbox) TombstoneObjects(ctx context.Context, uids []store.UID) (map[store.UID]store.TombstoneObject, error) {
	out := map[store.UID]store.TombstoneObject{}
	if len(uids) == 0 {
		return out, nil
	}
	js, _ := json.Marshal(uids)
	rows, err := m.s.readQuery(ctx, `SELECT uid, email_id, thread_id FROM tombstones
		WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) AND email_id <> 0`, m.id, string(js))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var uid, email, thread int64
		if err := rows.Scan(&uid, &email, &thread); err != nil {
			return nil, m.s.closedErr(err)
		}
		out[store.UID(uid)] = store.TombstoneObject{EmailID: store.FormatEmailID(email), ThreadID: store.FormatThreadID(thread)}
	}
	return out, m.s.closedErr(rows.Err())
}
