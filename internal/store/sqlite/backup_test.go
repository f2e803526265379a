package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// A backup taken while deliveries run holds every message delivered
// before it started, each with its body; restored into a new data
// directory it opens as a store, and fsck finds nothing wrong.
func TestBackupDuringDeliveriesRestores(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	deliver := func(i int) error {
		res, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i)), []store.Target{{Account: "alice@example.com"}})
		if err == nil {
			err = res[0].Err
		}
		return err
	}
	for i := 0; i < 20; i++ {
		if err := deliver(i); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	var next atomic.Int64
	next.Store(20)
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for !stop.Load() {
				if err := deliver(int(next.Add(1))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	dir := filepath.Join(t.TempDir(), "backup")
	st, err := s.Backup(ctx, dir)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages < 20 || st.Blobs < 20 {
		t.Fatalf("backup stats %+v, want at least the 20 messages delivered before", st)
	}

	dataDir := filepath.Join(t.TempDir(), "restored")
	rst, err := Restore(dir, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if rst != st {
		t.Fatalf("restored %+v, backed up %+v", rst, st)
	}
	if _, err := Restore(dir, dataDir); err == nil {
		t.Fatal("restore over a database succeeded")
	}
	r, err := Open(Options{Dir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mb := inbox(t, r)
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(msgs)) != st.Messages {
		t.Fatalf("%d messages after restore, want %d", len(msgs), st.Messages)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		b, err := r.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatalf("UID %d: %v", m.UID, err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		seen[strings.SplitN(string(data), "\r\n", 2)[0]] = true
	}
	for i := 0; i < 20; i++ {
		if !seen[fmt.Sprintf("Subject: m%d", i)] {
			t.Errorf("message m%d, delivered before the backup, is not in it", i)
		}
	}
	rep, err := r.Check(ctx, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing)+len(rep.Damaged)+len(rep.Orphans) != 0 {
		t.Fatalf("fsck of the restored store: %+v", rep)
	}
}

// fsck finds a missing body, a damaged one and an orphan; repair removes
// only the orphan.
func TestCheckFindsAndRepairs(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		if _, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), []store.Target{{Account: "alice@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := inbox(t, s).Messages(ctx)
	for _, m := range msgs {
		ids = append(ids, m.BlobID)
	}
	if err := os.Remove(s.blobPath(ids[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.blobPath(ids[1]), []byte("Subject: 1\r\n\r\ny\r\n"), 0o600); err != nil { // same size
		t.Fatal(err)
	}
	orphan := strings.Repeat("ab", 32)
	os.MkdirAll(filepath.Dir(blobfs.Path(s.blobDir, orphan)), 0o700)
	if err := os.WriteFile(blobfs.Path(s.blobDir, orphan), []byte("left over"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(ctx, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != ids[0] || len(rep.Damaged) != 0 || len(rep.Orphans) != 1 || rep.Affected != 1 {
		t.Fatalf("check without hashing: %+v", rep)
	}
	rep, err = s.Check(ctx, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Damaged) != 1 || rep.Damaged[0] != ids[1] || rep.Removed != 1 || rep.Affected != 2 {
		t.Fatalf("check with hashing and repair: %+v", rep)
	}
	if _, err := os.Stat(blobfs.Path(s.blobDir, orphan)); err == nil {
		t.Fatal("orphan still there")
	}
	if _, err := os.Stat(s.blobPath(ids[2])); err != nil {
		t.Fatalf("a good body was touched: %v", err)
	}
}
