package postgres

import (
	"context"
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
)

// putTextSignature stores the search signature of a blob this transaction
// inserted or found (internal/search, computed at delivery with the
// structure); nothing when sig is nil. The row goes with its blob (ON
// DELETE CASCADE, migration 3).
func (w *wtx) putTextSignature(blobID string, sig []byte) error {
	if sig == nil {
		return nil
	}
	_, err := w.exec(`INSERT INTO blob_textsigs (blob_id, sig) VALUES ($1, $2) ON CONFLICT (blob_id) DO NOTHING`, blobID, sig)
	return err
}

// PutTextSignatures implements store.TextSignatureWriter: one write
// transaction, each signature replacing what the blob had; a blob that is
// gone gets nothing.
func (s *Store) PutTextSignatures(ctx context.Context, sigs map[string][]byte) error {
	if len(sigs) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error {
		for blobID, sig := range sigs {
			if _, err := w.exec(`INSERT INTO blob_textsigs (blob_id, sig) SELECT id, $1 FROM blobs WHERE id = $2
				ON CONFLICT (blob_id) DO UPDATE SET sig = EXCLUDED.sig`, sig, blobID); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ store.TextSignatureWriter = (*Store)(nil)

// TextSignatures implements store.TextSignatures: blob and signature of
// live messages and of expunged ones still kept (as Details), in one
// statement.
func (m *mailbox) TextSignatures(ctx context.Context, uids []store.UID) ([]store.TextSignature, error) {
	db, err := m.s.db()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT m.uid, m.blob_id, t.sig
			FROM messages m LEFT JOIN blob_textsigs t ON t.blob_id = m.blob_id
			WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])
		UNION ALL
		SELECT e.uid, e.blob_id, t.sig
			FROM expunged e LEFT JOIN blob_textsigs t ON t.blob_id = e.blob_id
			WHERE e.mailbox_id = $1 AND e.uid = ANY($2::bigint[])
			AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.mailbox_id = e.mailbox_id AND x.uid = e.uid)
		ORDER BY 1`, m.id, uidArgs(uids))
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer rows.Close()
	out := make([]store.TextSignature, 0, len(uids))
	for rows.Next() {
		var t store.TextSignature
		var uid int64
		if err := rows.Scan(&uid, &t.BlobID, &t.Sig); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		t.UID = store.UID(uid)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return out, nil
}

var _ store.TextSignatures = (*mailbox)(nil)
