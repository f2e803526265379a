package blobfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/iotest"

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
