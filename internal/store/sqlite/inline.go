package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
)

// Inline bodies: small bodies kept in the database, without a file.
//
// A body of at most Options.InlineMax octets (8 KiB by default: most text
// mail) is spooled in memory (blobfs.SpoolOptions.Inline) and stored as a
// blob_inline row in the same transaction as its message rows, so the WAL
// fsync at commit makes it durable. Such a delivery makes no temp file, no
// rename, no directory, and no fsync of its own. Creating and later
// syncing one small file per message was about a quarter of LMTP
// delivery's CPU (issue 7, docs/ARCHITECTURE.md).
//
// OpenBlob looks in blob_inline first and opens the file only when the
// body has no row there; OpenBlobs (FETCH) reads a batch's inline bodies
// in one query. A trigger deletes the inline row with its blobs row, so
// every path that drops a blob (collection, a dropped queue entry) drops
// its bytes in the same transaction.
//
// This replaces the blob journal of earlier versions, which wrote the same
// bytes both to the database and to a file, then synced the file in the
// background and deleted the row. Open moves what such a version left in
// blob_journal into blob_inline (the bytes were committed with their
// message rows; the file beside them may be torn) and drops that table.

const inlineSchema = `
CREATE TABLE IF NOT EXISTS blob_inline (
	id   TEXT PRIMARY KEY,
	data BLOB NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS blob_inline_gone AFTER DELETE ON blobs BEGIN
	DELETE FROM blob_inline WHERE id = OLD.id;
END;
`

// defaultInlineMax: see Options.InlineMax. Each inline byte is written
// twice more than a file's (the WAL, then the checkpoint), which costs
// more CPU than a file saves once bodies grow: with the blob journal that
// preceded this (the same database writes plus a file),
// BenchmarkDeliverSizes at 4 concurrent senders, deliveries/s with /
// without it: 4 KB 843-873 / 810-813, 16 KB 555-624 / 631-632, 49 KB
// 426-433 / 551-554.
const defaultInlineMax = 8 << 10

// maxInline bounds Options.InlineMax: Spool holds an inline body in its
// write buffer until it knows the size.
const maxInline = 64 << 10

// inlineMaxOf turns Options.InlineMax into the limit Spool takes: 0 means
// the default, negative none.
func inlineMaxOf(opt int64) int64 {
	switch {
	case opt == 0:
		return defaultInlineMax
	case opt < 0:
		return 0
	}
	return opt
}

// placeInline stores an inline body's bytes in the transaction. Content
// stored before is kept as it is (same ID, same bytes).
func (w *wtx) placeInline(t tempBlob) error {
	if _, err := w.exec("INSERT OR IGNORE INTO blob_inline (id, data) VALUES (?, ?)", t.ID, t.Data); err != nil {
		return fmt.Errorf("sqlite: inline body: %w", err)
	}
	return nil
}

// inlineBlob is a store.Blob over bytes read from blob_inline.
type inlineBlob struct{ *bytes.Reader }

func (inlineBlob) Close() error { return nil }

func newInlineBlob(data []byte) store.Blob { return inlineBlob{bytes.NewReader(data)} }

// openInline reads blob id's inline bytes; ok is false when it has none.
func (s *Store) openInline(ctx context.Context, id string) (b store.Blob, ok bool, err error) {
	if s.isClosing() {
		return nil, false, store.ErrClosed
	}
	st, err := s.readStmt("SELECT data FROM blob_inline WHERE id = ?")
	if err != nil {
		return nil, false, s.readErr(err)
	}
	var data []byte
	switch err := st.QueryRowContext(ctx, id).Scan(&data); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, s.readErr(err)
	}
	return newInlineBlob(data), true, nil
}

// OpenBlobs implements store.BlobBatchOpener: the inline bodies among ids
// come from one query. The others are left out for OpenBlob, which would
// ask blob_inline again first; so this opens their files too when they
// are there, and leaves out only what OpenBlob must report.
func (s *Store) OpenBlobs(ctx context.Context, ids []string) (map[string]store.Blob, error) {
	out := make(map[string]store.Blob, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	js, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readQuery(ctx, "SELECT id, data FROM blob_inline WHERE id IN (SELECT value FROM json_each(?))", string(js))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, s.readErr(err)
		}
		out[id] = newInlineBlob(data)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		if b, err := s.openBlobFile(id); err == nil {
			out[id] = b
		}
	}
	return out, nil
}

// adoptJournal moves what the blob journal of an earlier version left
// into blob_inline, for the bodies still stored, and drops the journal.
// It runs at Open, before any write of this process.
func adoptJournal(db *sql.DB) error {
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'blob_journal'").Scan(&n); err != nil || n == 0 {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT OR IGNORE INTO blob_inline (id, data)
		SELECT j.id, j.data FROM blob_journal j WHERE EXISTS (SELECT 1 FROM blobs b WHERE b.id = j.id)`); err != nil {
		return err
	}
	if _, err := tx.Exec("DROP TABLE blob_journal"); err != nil {
		return err
	}
	return tx.Commit()
}
