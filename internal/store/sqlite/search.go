package sqlite

import (
	"context"
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
)

// searchSchema keeps the search signature of each stored body
// (internal/search, computed at delivery with the structure): one row per
// blob, going with it (ON DELETE CASCADE). Bodies stored before it existed
// have no row; SEARCH reads those the slow way. A rowid table, not WITHOUT
// ROWID: signatures (up to 2 KiB) then stay in the b-tree page instead of
// spilling into a 4 KiB overflow page each.
const searchSchema = `
CREATE TABLE IF NOT EXISTS blob_textsigs (
	blob_id TEXT PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	sig     BLOB NOT NULL
);
`

// putTextSignature stores the signature of a blob whose row this
// transaction inserted or found (nothing when sig is nil).
func (w *wtx) putTextSignature(blobID string, sig []byte) error {
	if sig == nil {
		return nil
	}
	_, err := w.exec("INSERT INTO blob_textsigs (blob_id, sig) VALUES (?, ?) ON CONFLICT (blob_id) DO NOTHING", blobID, sig)
	return err
}

// PutTextSignatures implements store.TextSignatureWriter: one write
// transaction, each signature replacing what the blob had; a blob that is
// gone (collected) gets nothing, so the row can never outlive its blob.
func (s *Store) PutTextSignatures(ctx context.Context, sigs map[string][]byte) error {
	if len(sigs) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error {
		for blobID, sig := range sigs {
			// The WHERE makes the INSERT … SELECT … ON CONFLICT parse
			// (SQLite's upsert needs it after a SELECT).
			if _, err := w.exec(`INSERT INTO blob_textsigs (blob_id, sig) SELECT id, ? FROM blobs WHERE id = ?
				ON CONFLICT (blob_id) DO UPDATE SET sig = excluded.sig`, sig, blobID); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ store.TextSignatureWriter = (*Store)(nil)

// textSigQuery reads blob and signature of live messages and of expunged
// ones still kept (as Details does), in one statement.
const textSigQuery = `SELECT uid, blob_id, sig FROM (
	SELECT m.uid, m.blob_id, t.sig
		FROM messages m LEFT JOIN blob_textsigs t ON t.blob_id = m.blob_id
		WHERE m.mailbox_id = ?1 AND m.uid IN (SELECT value FROM json_each(?2))
	UNION ALL
	SELECT e.uid, e.blob_id, t.sig
		FROM expunged e LEFT JOIN blob_textsigs t ON t.blob_id = e.blob_id
		WHERE e.mailbox_id = ?1 AND e.uid IN (SELECT value FROM json_each(?2))
		AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.mailbox_id = e.mailbox_id AND x.uid = e.uid)
	) ORDER BY uid`

// TextSignatures implements store.TextSignatures.
func (m *mailbox) TextSignatures(ctx context.Context, uids []store.UID) ([]store.TextSignature, error) {
	// Prepared once on the read pool like every other read (readQuery).
	rows, err := m.s.readQuery(ctx, textSigQuery, m.id, uidsJSON(uids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.TextSignature, 0, len(uids))
	for rows.Next() {
		var t store.TextSignature
		var uid int64
		if err := rows.Scan(&uid, &t.BlobID, &t.Sig); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		t.UID = store.UID(uid)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}

var _ store.TextSignatures = (*mailbox)(nil)
