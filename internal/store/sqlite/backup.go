package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Backups (`letterbox backup`, store.Backuper).
//
// A backup is a data directory: letterbox.db, blobs/, and the other files
// of the data directory (the certificate, keys). It is taken while the
// store serves, consistent as of one moment:
//
//  1. under blobs/.lock (the lock every placing and removing of a body
//     takes, in any process), VACUUM INTO writes a snapshot of the
//     database into a staging directory inside the data directory, and
//     every body the snapshot refers to is hard-linked into it. Writes
//     wait meanwhile (a delivery queues; nothing fails); reads go on. A
//     link keeps a body even when the store later collects it;
//  2. without the lock, the staging directory becomes dir: renamed when
//     dir is on the same file system (the backup then shares the bodies'
//     inodes: bodies are never modified, only removed), copied otherwise;
//     everything is fsynced before Backup returns.
//
// Restore copies a backup into an empty data directory.

const backupDB = "letterbox.db"

// Backup implements store.Backuper.
func (s *Store) Backup(ctx context.Context, dir string) (store.BackupStats, error) {
	var st store.BackupStats
	if _, err := os.Lstat(dir); err == nil {
		return st, fmt.Errorf("sqlite: backup: %s already exists", dir)
	}
	staging, err := os.MkdirTemp(s.dir, "backup-")
	if err != nil {
		return st, fmt.Errorf("sqlite: backup: %w", err)
	}
	defer os.RemoveAll(staging) // gone already when renamed
	if st, err = s.snapshot(ctx, staging); err != nil {
		return st, err
	}
	if err := copyOtherFiles(s.dir, staging); err != nil {
		return st, err
	}
	if err := syncTree(staging); err != nil {
		return st, err
	}
	if err := os.Rename(staging, dir); err != nil {
		if !errors.Is(err, syscall.EXDEV) {
			return st, fmt.Errorf("sqlite: backup: %w", err)
		}
		if err := copyTree(staging, dir); err != nil {
			os.RemoveAll(dir)
			return st, err
		}
	}
	return st, syncDir(filepath.Dir(dir))
}

// snapshot is step 1: database and linked bodies in staging.
func (s *Store) snapshot(ctx context.Context, staging string) (store.BackupStats, error) {
	var st store.BackupStats
	lock, err := blobfs.OpenLock(filepath.Join(s.blobDir, ".lock"))
	if err != nil {
		return st, err
	}
	defer lock.Close()
	if err := lock.Lock(); err != nil {
		return st, err
	}
	dbCopy := filepath.Join(staging, backupDB)
	// Its own connection: the store's readers are query_only, which
	// VACUUM INTO refuses.
	live, err := openPlain(filepath.Join(s.dir, backupDB))
	if err != nil {
		return st, err
	}
	defer live.Close()
	if _, err := live.ExecContext(ctx, "VACUUM INTO ?", dbCopy); err != nil {
		return st, fmt.Errorf("sqlite: backup: VACUUM INTO: %w", err)
	}
	snap, err := openPlain(dbCopy)
	if err != nil {
		return st, err
	}
	defer snap.Close()
	if err := snap.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM expunged)").Scan(&st.Messages); err != nil {
		return st, fmt.Errorf("sqlite: backup: %w", err)
	}
	rows, err := snap.QueryContext(ctx, "SELECT id, size FROM blobs")
	if err != nil {
		return st, fmt.Errorf("sqlite: backup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var size int64
		if err := rows.Scan(&id, &size); err != nil {
			return st, err
		}
		if !blobfs.ValidID(id) {
			return st, fmt.Errorf("sqlite: backup: invalid blob id %q in the database", id)
		}
		to := blobfs.Path(filepath.Join(staging, "blobs"), id)
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			return st, err
		}
		if err := os.Link(s.blobPath(id), to); err != nil {
			return st, fmt.Errorf("sqlite: backup: body %s: %w (run letterbox fsck)", id, err)
		}
		st.Blobs++
		st.Bytes += size
	}
	return st, rows.Err()
}

// openPlain opens a database file outside the store (a snapshot, a
// backup) with one connection.
func openPlain(path string) (*sql.DB, error) {
	u := (&url.URL{Scheme: "file", Path: path}).String()
	db, err := sql.Open(driverName, dsn(u, false, pragma{"busy_timeout", "10000"}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// copyOtherFiles copies what else the data directory holds (config,
// certificate, keys) into dst: everything but the database, its WAL, the
// bodies and staging directories.
func copyOtherFiles(dataDir, dst string) error {
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, backupDB), name == "blobs", strings.HasPrefix(name, "backup-"):
			continue
		}
		if err := copyTree(filepath.Join(dataDir, name), filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	return nil
}

// Restore copies the backup in dir into dataDir, which must not hold a
// database yet. The copy is fsynced before Restore returns.
func Restore(dir, dataDir string) (store.BackupStats, error) {
	var st store.BackupStats
	if _, err := os.Stat(filepath.Join(dir, backupDB)); err != nil {
		return st, fmt.Errorf("sqlite: restore: %s is not a letterbox backup: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, backupDB)); err == nil {
		return st, fmt.Errorf("sqlite: restore: %s already holds a database; restore into an empty data directory", dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return st, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return st, err
	}
	for _, e := range ents {
		if err := copyTree(filepath.Join(dir, e.Name()), filepath.Join(dataDir, e.Name())); err != nil {
			return st, err
		}
	}
	if err := syncTree(dataDir); err != nil {
		return st, err
	}
	db, err := openPlain(filepath.Join(dataDir, backupDB))
	if err != nil {
		return st, err
	}
	defer db.Close()
	err = db.QueryRow("SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM expunged), (SELECT COUNT(*) FROM blobs), (SELECT COALESCE(SUM(size), 0) FROM blobs)").Scan(&st.Messages, &st.Blobs, &st.Bytes)
	return st, err
}

// copyTree copies a file or a directory tree (regular files and
// directories; modes kept) from src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm()|0o700)
		case info.Mode().IsRegular():
			return copyFile(p, to, info.Mode().Perm())
		default:
			return nil // sockets, links: not part of a data directory
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncTree fsyncs every file and directory under root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Check implements store.Checker: under blobs/.lock (no body is placed or
// removed meanwhile), every blobs row is compared with its file, and
// every file with the rows.
func (s *Store) Check(ctx context.Context, hash, repair bool) (store.CheckReport, error) {
	var r store.CheckReport
	lock, err := blobfs.OpenLock(filepath.Join(s.blobDir, ".lock"))
	if err != nil {
		return r, err
	}
	defer lock.Close() // a holder of its own: the committer's is not shared
	if err := lock.Lock(); err != nil {
		return r, err
	}
	if err := s.reader.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM expunged)").Scan(&r.Messages); err != nil {
		return r, err
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT id, size FROM blobs")
	if err != nil {
		return r, err
	}
	known := map[string]bool{}
	for rows.Next() {
		var id string
		var size int64
		if err := rows.Scan(&id, &size); err != nil {
			rows.Close()
			return r, err
		}
		known[id] = true
		r.Blobs++
		r.Bytes += size
		if !blobfs.ValidID(id) {
			r.Damaged = append(r.Damaged, id)
			continue
		}
		fi, err := os.Stat(s.blobPath(id))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.Missing = append(r.Missing, id)
		case err != nil:
			rows.Close()
			return r, err
		case fi.Size() != size:
			r.Damaged = append(r.Damaged, id)
		case hash:
			if ok, err := hashMatches(s.blobPath(id), id); err != nil {
				rows.Close()
				return r, err
			} else if !ok {
				r.Damaged = append(r.Damaged, id)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	for _, id := range append(append([]string(nil), r.Missing...), r.Damaged...) {
		var n int64
		if err := s.reader.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM messages WHERE blob_id = ?) + (SELECT COUNT(*) FROM expunged WHERE blob_id = ?)", id, id).Scan(&n); err != nil {
			return r, err
		}
		r.Affected += n
	}
	// Files no row names: a delivery that died between placing its body
	// and committing (the lock is held, so none is in flight now).
	err = filepath.WalkDir(s.blobDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == s.tmpDir {
				return filepath.SkipDir // the spool: temp files of live deliveries
			}
			return nil
		}
		dir, name := filepath.Split(p)
		id := filepath.Base(dir) + name
		if filepath.Dir(filepath.Clean(dir)) != filepath.Clean(s.blobDir) || !blobfs.ValidID(id) || known[id] {
			return nil // .lock and anything not named like a body
		}
		r.Orphans = append(r.Orphans, id)
		if repair {
			if err := os.Remove(p); err != nil {
				return err
			}
			r.Removed++
		}
		return nil
	})
	return r, err
}

func hashMatches(path, id string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == id, nil
}
