package blobfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// A spool directory may be shared: by the server and the CLI on one data
// directory (SQLite's blobs/tmp), by several nodes or processes on one host
// (PostgreSQL's spool_dir, which IMAP literals may share too). A process
// killed mid-delivery leaves its temp file behind, and nobody else may
// remove a temp file that a live process is still writing. So each Store
// claims the directory as an owner:
//
//   - it holds an exclusive flock on <prefix>owner-<id> for as long as it
//     is open (the kernel drops it when the process dies);
//   - its temp files are named <prefix>in-<id>-<random> (Pattern);
//   - when it claims, it tries every other owner file without waiting: a
//     lock it gets belongs to a dead owner, whose temp files and owner file
//     it removes. Files not named like this are never touched, except the
//     unowned <prefix>in-<random> of older versions, removed only when no
//     other owner is alive.

// SpoolClaim is one Store's claim on a spool directory (see ClaimSpool).
type SpoolClaim struct {
	// Pattern is the os.CreateTemp pattern for this owner's temp files.
	Pattern string
	// Alone is true when no other live owner held the directory at claim
	// time: no other process is using it (for a data directory's
	// blobs/tmp: no other process has the store open).
	Alone bool
	// Removed counts the stale temp files removed.
	Removed int

	lock *os.File
}

// ClaimSpool claims dir (created when missing) for a new owner with file
// names starting with prefix, and removes what dead owners left behind.
func ClaimSpool(dir, prefix string, log *slog.Logger) (*SpoolClaim, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobfs: spool: %w", err)
	}
	var (
		id   string
		lock *os.File
	)
	for attempt := 0; ; attempt++ {
		var rnd [6]byte
		rand.Read(rnd[:])
		id = hex.EncodeToString(rnd[:])
		path := filepath.Join(dir, prefix+"owner-"+id)
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) && attempt < 5 {
				continue
			}
			return nil, fmt.Errorf("blobfs: spool owner file: %w", err)
		}
		if !locksSupported {
			lock = f
			break
		}
		if err := flock(f, true, false); err != nil {
			f.Close()
			return nil, fmt.Errorf("blobfs: spool owner lock: %w", err)
		}
		// Between create and flock another claimer may have taken the
		// file for a dead owner's and removed it: then start again.
		st, err1 := f.Stat()
		cur, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(st, cur) {
			lock = f
			break
		}
		f.Close()
		if attempt >= 5 {
			return nil, fmt.Errorf("blobfs: spool owner file %s keeps vanishing", path)
		}
	}
	c := &SpoolClaim{Pattern: prefix + "in-" + id + "-*", Alone: true, lock: lock}
	entries, err := os.ReadDir(dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("blobfs: spool: %w", err)
	}
	ownerPrefix, inPrefix := prefix+"owner-", prefix+"in-"
	owners := map[string]bool{} // every owner file listed
	dead := map[string]*os.File{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ownerPrefix) {
			continue
		}
		other := name[len(ownerPrefix):]
		owners[other] = true
		if other == id || other == "" {
			continue
		}
		if !locksSupported {
			c.Alone = false
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR, 0)
		if err != nil {
			continue // removed meanwhile by another claimer
		}
		if err := flock(f, true, true); err != nil {
			f.Close()
			c.Alone = false
			continue
		}
		dead[other] = f // held until its files are gone
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, inPrefix) {
			continue
		}
		rest := name[len(inPrefix):]
		owner, _, owned := strings.Cut(rest, "-")
		switch {
		case owned && dead[owner] != nil:
		case owned && !owners[owner] && locksSupported:
			// An owner makes its owner file before any temp file, so
			// a temp file listed without it belongs to an owner whose
			// owner file a claimer already removed.
		case !owned && c.Alone:
			// An older version's temp file, and nobody else is here.
		default:
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.Warn("blobfs: removing stale spool file", "name", name, "err", err)
			}
			continue
		}
		c.Removed++
	}
	// The owner files of the dead go last, still locked, so a claimer
	// racing with this one cannot take them for live owners.
	for other, f := range dead {
		name := ownerPrefix + other
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("blobfs: removing stale spool owner file", "name", name, "err", err)
		}
		f.Close()
	}
	return c, nil
}

// IsOwnerFile reports whether name (a base name) is a spool owner file
// made with prefix, not a temp file.
func IsOwnerFile(name, prefix string) bool {
	return strings.HasPrefix(name, prefix+"owner-")
}

// Release gives the claim up. The owner file stays (unlocked) until the
// next claimer removes it with whatever temp files this owner still had.
func (c *SpoolClaim) Release() error {
	if c == nil || c.lock == nil {
		return nil
	}
	err := c.lock.Close()
	c.lock = nil
	return err
}
