package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// recordingFS is OSFS that logs every durability-relevant call, in order,
// into a shared log that the commit hook and the test write to as well.
type recordingFS struct {
	OSFS
	log          *eventLog
	syncDirDelay time.Duration
	failSyncDir  atomic.Bool
	failRename   atomic.Bool
}

var errInjected = errors.New("injected EIO")

type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *eventLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// index returns the position of the first event at or after from that
// starts with prefix, or -1.
func index(events []string, from int, prefix string) int {
	for i := from; i < len(events); i++ {
		if strings.HasPrefix(events[i], prefix) {
			return i
		}
	}
	return -1
}

type recordingFile struct {
	File
	log *eventLog
}

func (f recordingFile) Sync() error {
	err := f.File.Sync()
	f.log.add("sync %s", f.Name())
	return err
}

func (r *recordingFS) CreateTemp(dir, pattern string) (File, error) {
	f, err := r.OSFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	r.log.add("create %s", f.Name())
	return recordingFile{f, r.log}, nil
}

func (r *recordingFS) Rename(oldpath, newpath string) error {
	if r.failRename.Load() {
		return errInjected
	}
	err := r.OSFS.Rename(oldpath, newpath)
	r.log.add("rename %s %s", oldpath, newpath)
	return err
}

func (r *recordingFS) SyncDir(dir string) error {
	if r.failSyncDir.Load() {
		return errInjected
	}
	time.Sleep(r.syncDirDelay)
	err := r.OSFS.SyncDir(dir)
	r.log.add("syncdir %s", dir)
	return err
}

// SyncFS records a whole-file-system sync (blobfs.FSSyncer).
func (r *recordingFS) SyncFS(dir string) error {
	r.log.add("syncfs %s", dir)
	if fss, ok := any(r.OSFS).(blobfs.FSSyncer); ok {
		return fss.SyncFS(dir)
	}
	return r.OSFS.SyncDir(dir)
}

func (r *recordingFS) Mkdir(name string) error {
	err := r.OSFS.Mkdir(name)
	r.log.add("mkdir %s", name)
	return err
}

func (r *recordingFS) Remove(name string) error {
	r.log.add("remove %s", name)
	return r.OSFS.Remove(name)
}

// openRecording opens a store on fs with the blob journal off: these
// tests check the order of the file path (sync, rename, directory sync,
// commit); journal_test.go checks journaled bodies.
func openRecording(t *testing.T, fs *recordingFS) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), FS: fs, JournalMax: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.commitHook = func() { fs.log.add("commit") }
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateAccount(context.Background(), "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	return s
}

func blobIDOf(normalised string) string {
	sum := sha256.Sum256([]byte(normalised))
	return hex.EncodeToString(sum[:])
}

// checkDurableOrder asserts, for the delivery of body whose Deliver call
// returned at event index ret: its temp file was synced, renamed to its
// content address (unless deduplicated), the blob's directory synced, and a
// commit happened, in that order, all before ret.
func checkDurableOrder(t *testing.T, s *Store, events []string, body string, ret int, dedup bool) {
	t.Helper()
	id := blobIDOf(body)
	final := s.blobPath(id)
	dir := s.blobDirOf(id)
	renameAt := index(events, 0, "rename ")
	for renameAt >= 0 && !strings.HasSuffix(events[renameAt], " "+final) {
		renameAt = index(events, renameAt+1, "rename ")
	}
	var after int
	if dedup {
		if renameAt >= 0 && renameAt > index(events, 0, "commit") && renameAt < ret {
			t.Errorf("duplicate content renamed again: %v", events)
		}
		after = 0
	} else {
		if renameAt < 0 {
			t.Fatalf("blob %s never renamed into place: %v", id, events)
		}
		tmp := strings.Fields(events[renameAt])[1]
		syncAt := index(events, 0, "sync "+tmp)
		if syncAt < 0 || syncAt > renameAt {
			t.Errorf("temp file %s not synced before rename: %v", tmp, events)
		}
		after = renameAt
	}
	syncDirAt := index(events, after, "syncdir "+dir)
	if syncDirAt < 0 {
		t.Fatalf("directory %s not synced after the blob was placed: %v", dir, events)
	}
	commitAt := index(events, syncDirAt, "commit")
	if commitAt < 0 || commitAt > ret {
		t.Fatalf("no commit between the directory sync (%d) and the return (%d): %v", syncDirAt, ret, events)
	}
}

func TestDeliverIsDurableBeforeItReturns(t *testing.T) {
	fs := &recordingFS{log: &eventLog{}}
	s := openRecording(t, fs)
	ctx := context.Background()

	body := "Subject: durable\r\n\r\nkept\r\n"
	res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}, {Account: "alice@example.com", Mailbox: "Archive"}})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	fs.log.add("return")
	events := fs.log.snapshot()
	checkDurableOrder(t, s, events, body, index(events, 0, "return"), false)
	if n := strings.Count(strings.Join(events, "\n"), "rename "); n != 1 {
		t.Errorf("one body for two targets renamed %d times: %v", n, events)
	}

	// The same content again: the temp file is dropped, the existing
	// blob's directory is still synced before the commit.
	before := len(events)
	if _, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	fs.log.add("return")
	events = fs.log.snapshot()
	ret := index(events, before, "return")
	checkDurableOrder(t, s, events[before:], body, ret-before, true)

	// The commit is durable: synchronous=FULL with WAL fsyncs the WAL on
	// every commit.
	var sync int
	var mode string
	if err := s.writer.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("PRAGMA synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := s.writer.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("PRAGMA journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestGroupCommitKeepsOrderForEveryDelivery(t *testing.T) {
	fs := &recordingFS{log: &eventLog{}, syncDirDelay: 20 * time.Millisecond}
	s := openRecording(t, fs)
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		bodies[i] = fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Deliver(ctx, strings.NewReader(bodies[i]), []store.Target{{Account: "alice@example.com"}})
			if err != nil || res[0].Err != nil {
				t.Errorf("Deliver %d: %+v %v", i, res, err)
			}
			fs.log.add("return %d.", i)
		}()
	}
	wg.Wait()
	events := fs.log.snapshot()
	for i := range n {
		checkDurableOrder(t, s, events, bodies[i], index(events, 0, fmt.Sprintf("return %d.", i)), false)
	}
	commits := strings.Count(strings.Join(events, "\n"), "commit")
	// One commit for CreateAccount, then the deliveries in batches.
	if commits-1 >= n {
		t.Errorf("%d concurrent deliveries took %d commits: no group commit", n, commits-1)
	}
	t.Logf("%d deliveries, %d commits", n, commits-1)
}

func TestFailedSyncLeavesNothingVisible(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(fs *recordingFS) *atomic.Bool
	}{
		{"syncdir fails", func(fs *recordingFS) *atomic.Bool { return &fs.failSyncDir }},
		{"rename fails", func(fs *recordingFS) *atomic.Bool { return &fs.failRename }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &recordingFS{log: &eventLog{}}
			s := openRecording(t, fs)
			tc.fail(fs).Store(true)
			ctx := context.Background()
			body := "Subject: lost\r\n\r\nx\r\n"
			if _, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}}); err == nil {
				t.Fatal("Deliver succeeded although the blob could not be made durable")
			}
			mbs, _ := s.Mailboxes(ctx, "alice@example.com")
			mb, _ := mbs.Open(ctx, "INBOX")
			if msgs, _ := mb.Messages(ctx); len(msgs) != 0 {
				t.Fatalf("failed delivery visible: %+v", msgs)
			}
			if mi, _ := mb.Info(ctx); mi.UIDNext != 1 || mi.HighestModSeq != 1 {
				t.Errorf("failed delivery moved counters: %+v", mi)
			}
			if _, err := os.Stat(s.blobPath(blobIDOf(body))); !os.IsNotExist(err) {
				t.Errorf("blob file of the failed delivery left behind: %v", err)
			}
			if left := tempFiles(t, s); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
			// The store still works afterwards.
			tc.fail(fs).Store(false)
			res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
			if err != nil || res[0].Err != nil || res[0].UID != 1 {
				t.Fatalf("delivery after failure: %+v, %v", res, err)
			}
			b, err := s.OpenBlob(ctx, blobIDOf(body))
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
		})
	}
}

func TestStaleTempBlobsRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	stale := filepath.Join(dir, "blobs", "tmp", "in-crashed")
	if err := os.WriteFile(stale, []byte("half a message"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp blob kept: %v", err)
	}
}

// TestFanoutDirectoryNameIsDurable: the first body in a fan-out directory
// (blobs/xx) makes it and syncs its name with the parent before the
// commit; a later body in it skips the mkdir once that batch committed;
// and a batch that failed leaves the directory unknown, so the next one
// syncs the parent again.
func TestFanoutDirectoryNameIsDurable(t *testing.T) {
	fs := &recordingFS{log: &eventLog{}}
	s := openRecording(t, fs)
	ctx := context.Background()
	// Three bodies whose content addresses share their first two digits.
	var bodies []string
	for i := 0; len(bodies) < 3; i++ {
		b := fmt.Sprintf("Subject: fan-out %d\r\n\r\nbody\r\n", i)
		if strings.HasPrefix(blobIDOf(b), "ab") {
			bodies = append(bodies, b)
		}
	}
	dir := s.blobDirOf(blobIDOf(bodies[0]))
	deliver := func(body string) ([]string, error) {
		before := len(fs.log.snapshot())
		_, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
		fs.log.add("return")
		return fs.log.snapshot()[before:], err
	}

	// A failed batch: the directory was made but its parent not synced.
	fs.failSyncDir.Store(true)
	if _, err := deliver(bodies[0]); err == nil {
		t.Fatal("delivery with failing directory sync succeeded")
	}
	fs.failSyncDir.Store(false)

	for i, body := range bodies[1:] {
		events, err := deliver(body)
		if err != nil {
			t.Fatal(err)
		}
		mkdirAt := index(events, 0, "mkdir "+dir)
		parentAt := slices.Index(events, "syncdir "+s.blobDir)
		commitAt := index(events, 0, "commit")
		if i == 0 {
			// After the failure: made (or found) again, parent synced
			// before the commit.
			if mkdirAt < 0 || parentAt < 0 || parentAt > commitAt {
				t.Errorf("first committed body in %s: mkdir at %d, parent sync at %d, commit at %d: %v", dir, mkdirAt, parentAt, commitAt, events)
			}
		} else if mkdirAt >= 0 || parentAt >= 0 {
			t.Errorf("known directory %s made or its parent synced again: %v", dir, events)
		}
		checkDurableOrder(t, s, events, body, index(events, 0, "return"), false)
	}
}
