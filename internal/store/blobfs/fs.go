package blobfs

import (
	"io"
	"os"
)

// FS is the durability seam: every file-system call that decides whether a
// blob survives a crash goes through it, so a test can record the order of
// writes and syncs, or inject failures. OSFS is the real implementation.
type FS interface {
	// CreateTemp creates a new file in dir (like os.CreateTemp).
	CreateTemp(dir, pattern string) (File, error)
	// Rename atomically replaces newpath with oldpath (rename(2)).
	Rename(oldpath, newpath string) error
	// Remove deletes a file.
	Remove(name string) error
	// Mkdir creates one directory; it fails with an error satisfying
	// errors.Is(err, fs.ErrExist) when it exists.
	Mkdir(name string) error
	// Exists reports whether name exists.
	Exists(name string) (bool, error)
	// SyncDir fsyncs a directory so the names created or renamed in it are
	// durable.
	SyncDir(dir string) error
}

// FSSyncer is an FS that can make everything written to the file system
// holding dir durable at once (syncfs(2) on Linux): one call instead of
// an fsync per file and per directory. OSFS has it on Linux.
type FSSyncer interface {
	SyncFS(dir string) error
}

// File is a file being written.
type File interface {
	io.Writer
	Name() string
	// Sync fsyncs the file's data and metadata.
	Sync() error
	Close() error
}

// OSFS is FS on the operating system's file system.
type OSFS struct{}

func (OSFS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }
func (OSFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (OSFS) Remove(name string) error                     { return os.Remove(name) }
func (OSFS) Mkdir(name string) error                      { return os.Mkdir(name, 0o700) }

func (OSFS) Exists(name string) (bool, error) {
	_, err := os.Stat(name)
	if err == nil {
		return true, nil
	}
	if os.IsNotExist(err) {
		return false, nil
	}
	return false, err
}

func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
