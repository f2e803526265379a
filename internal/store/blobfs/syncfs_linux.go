//go:build linux

package blobfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncFS makes every write to the file system holding dir durable with
// one syncfs(2): file data, metadata and directory entries alike. Since
// Linux 5.8 it reports write-back errors as fsync does.
func (OSFS) SyncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = unix.Syncfs(int(d.Fd()))
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
