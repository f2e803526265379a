//go:build unix

package mailclient

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// SyncLockFile is the lock a sync holds in its root (or single Maildir)
// so that two syncs of one tree (a cron job and a hand-run one) never
// interleave their renames and state saves.
const SyncLockFile = ".letterbox-sync.lock"

// lockTree takes the lock with flock(2): the kernel drops it when the
// process dies, so a killed sync leaves no stale lock behind.
func lockTree(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, SyncLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sync is running on %s (it holds %s)", dir, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
