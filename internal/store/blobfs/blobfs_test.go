package blobfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

func TestSpool(t *testing.T) {
	cases := []struct {
		name, in, want string
		max            int64
		err            error
	}{
		{"crlf kept", "a\r\nb\r\n", "a\r\nb\r\n", 0, nil},
		{"bare lf", "a\nb\n", "a\r\nb\r\n", 0, nil},
		{"bare cr kept", "a\rb\n", "a\rb\r\n", 0, nil},
		{"empty", "", "", 0, nil},
		{"exactly max after normalising", "ab\n", "ab\r\n", 4, nil},
		{"over max after normalising", "abc\n", "", 4, store.ErrTooLarge},
	}
	for _, c := range cases {
		dir := t.TempDir()
		// One byte at a time: a CR and its LF arrive in different writes.
		tmp, err := Spool(iotest.OneByteReader(strings.NewReader(c.in)), SpoolOptions{Dir: dir, Max: c.max, Sync: true})
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
		if err != nil {
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%s: temp file left behind after error", c.name)
			}
			continue
		}
		got, err := os.ReadFile(tmp.Path)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: stored %q, %v; want %q", c.name, got, err, c.want)
		}
		sum := sha256.Sum256([]byte(c.want))
		if tmp.ID != hex.EncodeToString(sum[:]) || tmp.Size != int64(len(c.want)) || !ValidID(tmp.ID) {
			t.Errorf("%s: %+v", c.name, tmp)
		}
	}
	_, err := Spool(iotest.ErrReader(errors.New("reset")), SpoolOptions{Dir: t.TempDir()})
	if err == nil {
		t.Error("Spool of a failing reader succeeded")
	}
}

func TestValidID(t *testing.T) {
	good := strings.Repeat("0a", 32)
	for id, want := range map[string]bool{
		good:                    true,
		strings.ToUpper(good):   false,
		good[:63]:               false,
		"../../etc/passwd":      false,
		strings.Repeat("g", 64): false,
		good[:62] + "/x":        false,
	} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
	if Path("/r", good) != "/r/0a/"+good[2:] || Dir("/r", good) != "/r/0a" {
		t.Errorf("Path/Dir = %s %s", Path("/r", good), Dir("/r", good))
	}
}

func names(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// TestClaimSpool: a live owner's temp files are never touched; a dead
// owner's (its lock gone, as when the process was killed) are removed by
// the next claimer, with its owner file; files of other programs stay;
// an older version's unowned temp file goes only when nobody else is
// there.
func TestClaimSpool(t *testing.T) {
	dir := t.TempDir()
	a, err := ClaimSpool(dir, "lb-", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Alone {
		t.Error("first claimer not alone")
	}
	tmpA, err := Spool(strings.NewReader("a"), SpoolOptions{Dir: dir, Pattern: a.Pattern})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ClaimSpool(dir, "lb-", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Alone {
		t.Error("second claimer alone while the first is open")
	}
	tmpB, err := Spool(strings.NewReader("b"), SpoolOptions{Dir: dir, Pattern: b.Pattern})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"imap-literal-123", "lb-in-4567", "other"} {
		if err := os.WriteFile(dir+"/"+name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(tmpA.Path); err != nil {
		t.Fatalf("live owner's temp file removed: %v", err)
	}
	// b dies (its lock is dropped with the file descriptor).
	b.Release()
	c, err := ClaimSpool(dir, "lb-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	got := names(t, dir)
	if got[strings.TrimPrefix(tmpB.Path, dir+"/")] {
		t.Error("dead owner's temp file kept")
	}
	if !got[strings.TrimPrefix(tmpA.Path, dir+"/")] {
		t.Error("live owner's temp file removed")
	}
	if !got["imap-literal-123"] || !got["other"] {
		t.Errorf("foreign files removed: %v", got)
	}
	if !got["lb-in-4567"] {
		t.Error("unowned temp file removed while another owner is alive")
	}
	owners := 0
	for n := range got {
		if IsOwnerFile(n, "lb-") {
			owners++
		}
	}
	if owners != 2 {
		t.Errorf("%d owner files, want 2 (a and c): %v", owners, got)
	}
	a.Release()
	c.Release()
	d, err := ClaimSpool(dir, "lb-", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	got = names(t, dir)
	if !d.Alone || got["lb-in-4567"] || got[strings.TrimPrefix(tmpA.Path, dir+"/")] {
		t.Errorf("after everybody left: alone %v, files %v", d.Alone, got)
	}
	if len(got) != 3 { // d's owner file, imap-literal-123, other
		t.Errorf("left: %v", got)
	}
}

// TestLockExcludes: two holders of one lock file exclude each other, also
// within one process.
func TestLockExcludes(t *testing.T) {
	path := t.TempDir() + "/.lock"
	a, err := OpenLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		b.Lock()
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second holder got the lock while the first held it")
	case <-time.After(50 * time.Millisecond):
	}
	a.Unlock()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("second holder never got the lock")
	}
	b.Unlock()
}
