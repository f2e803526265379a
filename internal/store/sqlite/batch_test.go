package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// renameFailFS fails the rename that gives the failAt-th blob its name.
type renameFailFS struct {
	OSFS
	calls  atomic.Int32
	failAt int32
}

func (f *renameFailFS) Rename(oldpath, newpath string) error {
	if f.calls.Add(1) == f.failAt {
		return errInjected
	}
	return f.OSFS.Rename(oldpath, newpath)
}

// blobFiles lists the content-addressed files under dir/blobs.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, "blobs")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && rel == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestAppendBatchPlacementFailure: when giving the second body its
// content address fails, the batch fails whole, and the first body's
// file, named by no row, is removed again; temp files are gone too.
// (Alone in its commit batch, as here, the committer's failure cleanup
// would remove it as well; AppendBatch's own removal is what covers a
// batch shared with other requests, which goes on to commit.)
func TestAppendBatchPlacementFailure(t *testing.T) {
	dir := t.TempDir()
	ffs := &renameFailFS{failAt: 2}
	s, err := Open(Options{Dir: dir, FS: ffs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "a@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	msgs := []store.BatchMessage{
		{Body: strings.NewReader("Subject: 1\r\n\r\none\r\n")},
		{Body: strings.NewReader("Subject: 2\r\n\r\ntwo\r\n")},
		{Body: strings.NewReader("Subject: 3\r\n\r\nthree\r\n")},
	}
	if _, err := s.AppendBatch(ctx, "a@example.com", "INBOX", msgs); err == nil {
		t.Fatal("batch with a failing placement succeeded")
	}
	if files := blobFiles(t, dir); len(files) != 0 {
		t.Errorf("blob files left after the failed batch: %v", files)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "blobs", "tmp", "*in-*")); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	mbs, _ := s.Mailboxes(ctx, "a@example.com")
	mb, _ := mbs.Open(ctx, "INBOX")
	if msgs, _ := mb.Messages(ctx); len(msgs) != 0 {
		t.Errorf("%d messages after the failed batch", len(msgs))
	}
	res, err := s.AppendBatch(ctx, "a@example.com", "INBOX", []store.BatchMessage{{Body: strings.NewReader("Subject: 1\r\n\r\none\r\n")}})
	if err != nil || len(res.UIDs) != 1 || res.UIDs[0] != 1 {
		t.Fatalf("next batch: %+v %v", res, err)
	}
	if files := blobFiles(t, dir); len(files) != 1 {
		t.Errorf("blob files after the next batch: %v", files)
	}
}

// TestGroupWait: a batch waits for a delivery being spooled and takes its
// job along; it does not wait when nothing is being spooled, and waits at
// most groupWaitMax for a spool that sends no job.
func TestGroupWait(t *testing.T) {
	s := &Store{jobs: make(chan *job, 4)}
	first := &job{}
	if got := s.groupWait([]*job{first}); len(got) != 1 {
		t.Fatalf("with nothing spooling: %d jobs", len(got))
	}
	s.spooling.Add(1)
	second := &job{}
	s.jobs <- second // queued while the batch was collected
	if got := s.groupWait([]*job{first}); len(got) != 2 || got[1] != second {
		t.Fatalf("the spooled delivery's job was not taken along: %d jobs", len(got))
	}
	// still spooling (a spool that fails): no job comes
	start := time.Now()
	if got := s.groupWait([]*job{first}); len(got) != 1 {
		t.Fatalf("%d jobs", len(got))
	}
	if d := time.Since(start); d < groupWaitMax || d > 2*time.Second {
		t.Errorf("waited %v for a job that never came (bound %v)", d, groupWaitMax)
	}
}
