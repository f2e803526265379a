package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// Tombstones keep the email and thread IDs of the expunged message
// (store.TombstoneObjects); addTombstones copies them from the content
// row its callers keep in expunged first.

var _ store.TombstoneObjects = (*mailbox)(nil)

// tombstoneMigration (version 10): tombstones made before keep 0 (no
// identity known).
const tombstoneMigration = `
ALTER TABLE tombstones ADD COLUMN email_id bigint NOT NULL DEFAULT 0,
	ADD COLUMN thread_id bigint NOT NULL DEFAULT 0;
`

// TombstoneObjects implements store.TombstoneObjects.
func (m *mailbox) TombstoneObjects(ctx context.Context, uids []store.UID) (map[store.UID]store.TombstoneObject, error) {
	out := map[store.UID]store.TombstoneObject{}
	if len(uids) == 0 {
		return out, nil
	}
	err := m.s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT uid, email_id, thread_id FROM tombstones
			WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) AND email_id <> 0`, m.id, uidArgs(uids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid, email, thread int64
			if err := rows.Scan(&uid, &email, &thread); err != nil {
				return err
			}
			out[store.UID(uid)] = store.TombstoneObject{EmailID: store.FormatEmailID(email), ThreadID: store.FormatThreadID(thread)}
		}
		return rows.Err()
	})
	return out, err
}
