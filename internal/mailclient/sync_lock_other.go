//go:build !unix

package mailclient

// SyncLockFile is the lock a sync holds on systems with flock(2); elsewhere
// two syncs of one tree must not be run at once.
const SyncLockFile = ".letterbox-sync.lock"

func lockTree(dir string) (unlock func(), err error) { return func() {}, nil }
