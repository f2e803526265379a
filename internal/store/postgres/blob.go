package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Bodies live in the database, not on a shared file system: nodes need
// nothing in common but the database, and a body is as durable and as
// replicated as the rows that refer to it. Each body is one blobs row
// (size, structure) and its bytes in blob_chunks, blobChunkSize octets per
// row: a delivery streams the spool file in with COPY, and a reader
// fetches one chunk at a time, so neither side holds a large message
// whole in memory.

// blobChunkSize is the size of a blob_chunks row for new bodies; each
// body records the size it was written with.
const blobChunkSize = 256 << 10

// blobQueryTimeout bounds one chunk fetch of an open Blob (Blob has no
// context of its own).
const blobQueryTimeout = time.Minute

func mailboxGone(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNoSuchMailbox
	}
	return err
}

// storeBlob inserts the body unless its content is stored already. When
// another transaction is inserting or deleting the same content, the
// insert waits for it to finish, so exactly one copy ends up stored.
//
// With it go the body's search signature and its preview (a body stored
// before previews were kept gets its preview now).
func (w *wtx) storeBlob(tmp blobfs.Temp, a *blobfs.Analysis) error {
	tag, err := w.exec(`INSERT INTO blobs (id, size, chunk_size, structure, preview) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING`, tmp.ID, tmp.Size, blobChunkSize, a.Structure, a.Preview)
	if err != nil {
		return err
	}
	if err := w.putTextSignature(tmp.ID, a.TextSig); err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		_, err := w.exec("UPDATE blobs SET preview = $2 WHERE id = $1 AND preview IS NULL", tmp.ID, a.Preview)
		return err
	}
	f, err := os.Open(tmp.Path)
	if err != nil {
		return fmt.Errorf("postgres: spool file: %w", err)
	}
	defer f.Close()
	src := &chunkSource{r: f, id: tmp.ID, buf: make([]byte, blobChunkSize)}
	n, err := w.tx.CopyFrom(w.ctx, pgx.Identifier{"blob_chunks"}, []string{"blob_id", "seq", "data"}, src)
	if err != nil {
		return fmt.Errorf("postgres: storing body: %w", err)
	}
	if want := (tmp.Size + blobChunkSize - 1) / blobChunkSize; n != want {
		return fmt.Errorf("postgres: storing body: %d chunks written, want %d (spool file changed?)", n, want)
	}
	return nil
}

// chunkSource feeds COPY one chunk of the spool file at a time. pgx
// encodes each row before asking for the next, so one buffer serves all.
type chunkSource struct {
	r    io.Reader
	id   string
	buf  []byte
	data []byte
	seq  int32
	err  error
}

func (c *chunkSource) Next() bool {
	n, err := io.ReadFull(c.r, c.buf)
	if n == 0 {
		if err != io.EOF {
			c.err = err
		}
		return false
	}
	if err != nil && err != io.ErrUnexpectedEOF {
		c.err = err
		return false
	}
	c.data = c.buf[:n]
	c.seq++
	return true
}

func (c *chunkSource) Values() ([]any, error) { return []any{c.id, c.seq - 1, c.data}, nil }
func (c *chunkSource) Err() error             { return c.err }

// collectBlobs deletes the bodies among ids that no message and no kept
// expunged content refers to any more (chunks go by cascade). It runs in
// its own transaction after the collector deleted expunged rows, so a race
// cannot fail anybody's write: a delivery that reuses one of these bodies
// holds a key-share lock on its row (the foreign key from messages), so the
// DELETE waits for it and then fails the foreign-key check instead of
// removing a body in use; if the DELETE wins, the delivery's foreign-key
// check fails and the delivery runs again, storing the body anew (see
// retryable).
func (s *Store) collectBlobs(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ctx, cancel := context.WithTimeout(ctx, blobQueryTimeout)
	defer cancel()
	const del = `DELETE FROM blobs b WHERE b.id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)
		AND NOT EXISTS (SELECT 1 FROM expunged e WHERE e.blob_id = b.id)
		AND NOT EXISTS (SELECT 1 FROM outbound q WHERE q.blob_id = b.id)`
	if _, err := s.pool.Exec(ctx, del, ids); err == nil || len(ids) == 1 {
		if err != nil && !retryable(err) {
			s.log.Warn("postgres: collecting unreferenced bodies", "err", err)
		}
		return
	}
	// One of them is in use again: collect the others one by one.
	for _, id := range ids {
		if _, err := s.pool.Exec(ctx, del, []string{id}); err != nil && !retryable(err) {
			s.log.Warn("postgres: collecting unreferenced body", "blob", id, "err", err)
		}
	}
}

// OpenBlob opens a stored body by its ID. The first chunk is read at once
// (the whole body for most messages); later chunks when read.
func (s *Store) OpenBlob(ctx context.Context, blobID string) (store.Blob, error) {
	if !blobfs.ValidID(blobID) {
		return nil, fmt.Errorf("postgres: invalid blob id %q: %w", blobID, fs.ErrNotExist)
	}
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	b := &blobReader{s: s, id: blobID, cached: -1}
	var first []byte
	err = q.QueryRow(ctx, `SELECT b.size, b.chunk_size, c.data FROM blobs b
		LEFT JOIN blob_chunks c ON c.blob_id = b.id AND c.seq = 0 WHERE b.id = $1`, blobID).Scan(&b.size, &b.chunkSize, &first)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: blob %s: %w", blobID, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: blob %s: %w", blobID, err)
	}
	if b.chunkSize <= 0 {
		return nil, fmt.Errorf("postgres: blob %s: bad chunk size %d", blobID, b.chunkSize)
	}
	if first != nil {
		b.cached, b.cache = 0, first
	}
	return b, nil
}

// OpenBlobs opens, with one query, the bodies among ids that are stored in
// one chunk (up to blobChunkSize octets); the others are left to OpenBlob
// (store.BlobBatchOpener). Each comes with its one chunk already read, so
// reading it costs no further query.
func (s *Store) OpenBlobs(ctx context.Context, ids []string) (map[string]store.Blob, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if blobfs.ValidID(id) {
			valid = append(valid, id)
		}
	}
	out := make(map[string]store.Blob, len(valid))
	if len(valid) == 0 {
		return out, nil
	}
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT b.id, b.size, b.chunk_size, c.data FROM blobs b
		JOIN blob_chunks c ON c.blob_id = b.id AND c.seq = 0
		WHERE b.id = ANY($1) AND b.size <= b.chunk_size`, valid)
	if err != nil {
		return nil, fmt.Errorf("postgres: blobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		b := &blobReader{s: s}
		var data []byte
		if err := rows.Scan(&b.id, &b.size, &b.chunkSize, &data); err != nil {
			return nil, fmt.Errorf("postgres: blobs: %w", err)
		}
		if b.chunkSize <= 0 || int64(len(data)) != b.size {
			continue // not what one chunk should hold: OpenBlob reports it
		}
		b.cached, b.cache = 0, data
		out[b.id] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: blobs: %w", err)
	}
	return out, nil
}

// blobReader is a store.Blob over blob_chunks. ReadAt is safe for
// concurrent use; Read is not (like any io.Reader).
type blobReader struct {
	s         *Store
	id        string
	size      int64
	chunkSize int64
	pos       int64 // for Read

	mu     sync.Mutex
	cached int64 // sequence number of cache, -1 for none
	cache  []byte
	closed bool
}

func (b *blobReader) Size() int64 { return b.size }

func (b *blobReader) Read(p []byte) (int, error) {
	n, err := b.ReadAt(p, b.pos)
	b.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (b *blobReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("postgres: blob: negative offset")
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= b.size {
			return n, io.EOF
		}
		seq := at / b.chunkSize
		chunk, err := b.chunk(seq)
		if err != nil {
			return n, err
		}
		start := at - seq*b.chunkSize
		if start >= int64(len(chunk)) {
			return n, fmt.Errorf("postgres: blob %s: chunk %d is short", b.id, seq)
		}
		n += copy(p[n:], chunk[start:])
	}
	return n, nil
}

// chunk returns chunk seq, from the one-chunk cache or the database.
func (b *blobReader) chunk(seq int64) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, os.ErrClosed
	}
	if b.cached == seq {
		return b.cache, nil
	}
	q, err := b.s.db()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), blobQueryTimeout)
	defer cancel()
	var data []byte
	err = q.QueryRow(ctx, "SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2", b.id, seq).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		// Every message referring to it was expunged since it was opened.
		return nil, fmt.Errorf("postgres: blob %s was removed while open: %w", b.id, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: blob %s: %w", b.id, err)
	}
	b.cached, b.cache = seq, data
	return data, nil
}

func (b *blobReader) Close() error {
	b.mu.Lock()
	b.closed, b.cache, b.cached = true, nil, -1
	b.mu.Unlock()
	return nil
}
