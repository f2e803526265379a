package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Blobs are message bodies, stored once per content under
// Dir/blobs/<first two hex digits>/<remaining 62 hex digits> where the name
// is the SHA-256 of the stored (CRLF-normalised) bytes. The blob ID is the
// full 64-digit hex string.

func (s *Store) blobDirOf(id string) string { return blobfs.Dir(s.blobDir, id) }
func (s *Store) blobPath(id string) string  { return blobfs.Path(s.blobDir, id) }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// tempBlob is a body written and fsynced under blobs/tmp, not yet named by
// its content address.
type tempBlob = blobfs.Temp

// writeTempBlob streams body into a temp file through blobfs.Spool: line
// endings normalised to CRLF (a bare LF becomes CRLF; CRLF and a bare CR are
// kept as they are), SHA-256 computed, the size limit enforced, and the file
// fsynced.
func (s *Store) writeTempBlob(body io.Reader) (tempBlob, error) {
	t, err := blobfs.Spool(body, blobfs.SpoolOptions{FS: s.fs, Dir: s.tmpDir, Pattern: s.spool.Pattern, Max: s.maxSize, Sync: true, Journal: s.journal.max, Verbatim: store.IsVerbatim(body)})
	if err != nil && !errors.Is(err, store.ErrTooLarge) {
		err = fmt.Errorf("sqlite: %w", err)
	}
	return t, err
}

// placeBlob gives a synced temp blob its content address. When a blob with
// that address exists (same content delivered before) and a row vouches
// for its file (blobVouchedFor), the temp file is dropped. The directory to sync before commit is recorded in w. Runs on
// the committer goroutine under the blob lock (its job is a writeBlobs
// one), serialised with blob removal in this process and in others.
func (w *wtx) placeBlob(t tempBlob) error {
	s := w.s
	dir := s.blobDirOf(t.ID)
	final := s.blobPath(t.ID)
	// If the batch fails after this, cleanupBlobs removes the file again
	// unless a committed row names it.
	earlier := slices.Contains(w.placed, t.ID)
	w.placed = append(w.placed, t.ID)
	// A journaled body is made durable by this commit through the journal;
	// its file and directories are synced later by the flusher.
	journaled := t.Data != nil
	if journaled {
		if err := w.journalBlob(t); err != nil {
			return err
		}
	}
	syncDir := func(d string) {
		if !journaled {
			w.syncDirs[d] = struct{}{}
		}
	}
	exists, err := s.fs.Exists(final)
	if err != nil {
		return err
	}
	if exists {
		vouched, err := w.blobVouchedFor(t.ID, earlier)
		if err != nil {
			return err
		}
		if vouched {
			if err := s.fs.Remove(t.Path); err != nil && !isNotExist(err) {
				s.log.Warn("removing duplicate temp blob", "path", t.Path, "err", err)
			}
			// The existing name may not be durable yet (left by a process
			// killed between rename and directory sync); syncing again is
			// cheap, once per directory per batch, and makes it so.
			syncDir(dir)
			return nil
		}
		// No row names the file: a placement whose commit never happened
		// left it, and after a power loss it may be empty or torn (a
		// journaled body is not synced before its commit). The same bytes
		// coming again (a client retrying an APPEND that got no OK) must
		// not point at it: this body's own file replaces it, atomically.
		s.log.Warn("replacing a blob file no row names", "blob", t.ID)
	} else if _, known := s.knownDirs.Load(dir); !known {
		// A fan-out directory this process already made durable needs no
		// mkdir (which takes the parent directory's lock and was 3.6% of a
		// delivery's CPU). Otherwise it is made, or found, and its own
		// name synced with the parent: a new directory needs it, and one
		// found may have been left unsynced by a process killed after its
		// mkdir. Once a batch that synced the parent commits, the
		// directory is known.
		if err := s.fs.Mkdir(dir); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if !journaled {
			syncDir(s.blobDir)
			w.newDirs = append(w.newDirs, dir)
		}
	}
	if err := s.fs.Rename(t.Path, final); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// blobVouchedFor reports whether the file at a blob's content address is
// known good: a blobs row committed before this batch names it (its file
// was synced, or is journaled and checked at Open, before that commit),
// or this batch placed it earlier from its own temp file (earlier). Only
// the rare placement that finds its file already there asks; the
// question goes to a reader, which sees exactly the committed rows.
func (w *wtx) blobVouchedFor(id string, earlier bool) (bool, error) {
	if earlier {
		return true, nil
	}
	var one int
	err := pool{w.s}.QueryRowContext(w.ctx, "SELECT 1 FROM blobs WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: checking blob %s: %w", id, err)
	}
	return true, nil
}

// blobFile is a store.Blob on an open file.
type blobFile struct {
	*os.File
	size int64
}

func (b *blobFile) Size() int64 { return b.size }

// OpenBlob opens a stored body by its ID.
func (s *Store) OpenBlob(ctx context.Context, blobID string) (store.Blob, error) {
	if !blobfs.ValidID(blobID) {
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
