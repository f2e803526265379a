package sqlite

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/letterbox/letterbox/internal/store"
)

// Blobs are message bodies, stored once per content under
// Dir/blobs/<first two hex digits>/<remaining 62 hex digits> where the name
// is the SHA-256 of the stored (CRLF-normalised) bytes. The blob ID is the
// full 64-digit hex string.

func validBlobID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Store) blobDirOf(id string) string { return filepath.Join(s.blobDir, id[:2]) }
func (s *Store) blobPath(id string) string  { return filepath.Join(s.blobDir, id[:2], id[2:]) }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// crlfWriter normalises line endings to CRLF on the way through: a bare LF
// becomes CRLF; CRLF and a bare CR (not followed by LF) are kept as they
// are. Bare CRs are rare, harmless to IMAP clients and changing them would
// alter bodies that use CR inside binary content.
type crlfWriter struct {
	w      *bufio.Writer
	h      hash.Hash
	n      int64
	max    int64 // 0: no limit
	prevCR bool
	buf    []byte
}

var errTooLarge = store.ErrTooLarge

func (c *crlfWriter) Write(p []byte) (int, error) {
	out := c.buf[:0]
	for _, b := range p {
		if b == '\n' && !c.prevCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		c.prevCR = b == '\r'
	}
	c.buf = out[:0]
	c.n += int64(len(out))
	if c.max > 0 && c.n > c.max {
		return 0, errTooLarge
	}
	c.h.Write(out)
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// tempBlob is a body written and fsynced under blobs/tmp, not yet named by
// its content address.
type tempBlob struct {
	path string
	id   string
	size int64
}

// writeTempBlob streams body into a temp file, normalising to CRLF and
// hashing, and fsyncs it.
func (s *Store) writeTempBlob(body io.Reader) (tempBlob, error) {
	f, err := s.fs.CreateTemp(s.tmpDir, "in-*")
	if err != nil {
		return tempBlob{}, fmt.Errorf("sqlite: temp blob: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			s.fs.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	cw := &crlfWriter{w: bw, h: sha256.New(), max: s.maxSize}
	if _, err := io.Copy(cw, body); err != nil {
		if errors.Is(err, errTooLarge) {
			return tempBlob{}, store.ErrTooLarge
		}
		return tempBlob{}, fmt.Errorf("sqlite: writing blob: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return tempBlob{}, fmt.Errorf("sqlite: writing blob: %w", err)
	}
	if err := f.Sync(); err != nil {
		return tempBlob{}, fmt.Errorf("sqlite: syncing blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return tempBlob{}, fmt.Errorf("sqlite: closing blob: %w", err)
	}
	ok = true
	return tempBlob{path: f.Name(), id: hex.EncodeToString(cw.h.Sum(nil)), size: cw.n}, nil
}

// placeBlob gives a synced temp blob its content address. When a blob with
// that address exists (same content delivered before), the temp file is
// dropped. The directory to sync before commit is recorded in w. Runs on
// the committer goroutine, serialised with blob removal.
func (w *wtx) placeBlob(t tempBlob) error {
	s := w.s
	dir := s.blobDirOf(t.id)
	final := s.blobPath(t.id)
	exists, err := s.fs.Exists(final)
	if err != nil {
		return err
	}
	if exists {
		if err := s.fs.Remove(t.path); err != nil && !isNotExist(err) {
			s.log.Warn("removing duplicate temp blob", "path", t.path, "err", err)
		}
		// The existing file may have been placed by a batch whose directory
		// sync failed; syncing again is cheap and makes the name durable.
		w.syncDirs[dir] = struct{}{}
		return nil
	}
	if err := s.fs.Mkdir(dir); err == nil {
		// A new fan-out directory: its own name must be durable too.
		w.syncDirs[s.blobDir] = struct{}{}
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := s.fs.Rename(t.path, final); err != nil {
		return err
	}
	w.syncDirs[dir] = struct{}{}
	return nil
}

// blobFile is a store.Blob on an open file.
type blobFile struct {
	*os.File
	size int64
}

func (b *blobFile) Size() int64 { return b.size }

// OpenBlob opens a stored body by its ID.
func (s *Store) OpenBlob(ctx context.Context, blobID string) (store.Blob, error) {
	if !validBlobID(blobID) {
		return nil, fmt.Errorf("sqlite: invalid blob id %q: %w", blobID, fs.ErrNotExist)
	}
	f, err := os.Open(s.blobPath(blobID))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &blobFile{File: f, size: st.Size()}, nil
}
