package blobfs

import (
	"errors"
	"fmt"
	"os"
)

var errWouldBlock = errors.New("blobfs: lock held elsewhere")

// Lock is an exclusive advisory lock (flock) on one file, shared by every
// process that opens the same path: the SQLite driver holds DATA/blobs/.lock
// while it places or removes blob files, so a second process on the same
// data directory (the CLI while the server runs) never removes a file the
// other is reusing. Each OpenLock is its own lock holder, also within one
// process. Not safe for concurrent use by several goroutines.
type Lock struct {
	f *os.File
}

// OpenLock opens (creating) the lock file at path, without locking it.
func OpenLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blobfs: lock file: %w", err)
	}
	return &Lock{f: f}, nil
}

// Lock waits for the exclusive lock. Where flock does not exist it does
// nothing.
func (l *Lock) Lock() error {
	if !locksSupported {
		return nil
	}
	if err := flock(l.f, true, false); err != nil {
		return fmt.Errorf("blobfs: lock %s: %w", l.f.Name(), err)
	}
	return nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error { return funlock(l.f) }

// Close releases the lock and closes the file.
func (l *Lock) Close() error { return l.f.Close() }
