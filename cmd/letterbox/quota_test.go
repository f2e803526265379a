package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// TestUserQuota: `letterbox user quota` shows usage and limits, sets an
// account's own limits (sizes with units, 0 = unlimited), goes back to the
// [quota] default, and the store enforces what it set.
func TestUserQuota(t *testing.T) {
	dir := t.TempDir()
	data := "--data=" + dir
	letterbox(t, "pw\n", nil, "user", "add", data, "alice@example.com").want(t, 0, `created`)
	st, err := sqlite.Open(sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: x\r\n\r\n" + strings.Repeat("y", 1500) + "\r\n"
	if _, err := st.Deliver(context.Background(), strings.NewReader(body), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	letterbox(t, "", nil, "user", "quota", data, "alice@example.com").want(t, 0,
		`^alice@example.com\nstorage:  1516 octets \(1\.5 KiB\) used, limit unlimited \(default, \[quota\]\)\nmessages: 1, limit unlimited \(default, \[quota\]\)\n$`)
	letterbox(t, "", nil, "user", "quota", data, "Alice@example.com", "--storage", "1GiB", "--messages", "10").want(t, 0,
		`storage:  1516 octets \(1\.5 KiB\) used, limit 1073741824 octets \(1\.0 GiB\)\nmessages: 1, limit 10\n$`)
	// One flag leaves the other limit as it was.
	letterbox(t, "", nil, "user", "quota", data, "alice@example.com", "--messages", "0").want(t, 0,
		`limit 1073741824 octets \(1\.0 GiB\)\nmessages: 1, limit unlimited\n$`)
	letterbox(t, "", nil, "user", "quota", data, "alice@example.com", "--storage", "1KiB").want(t, 0, `limit 1024 octets`)

	// The store refuses what no longer fits.
	st, err = sqlite.Open(sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Deliver(context.Background(), strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
	st.Close()
	if err != nil || res[0].Err != store.ErrOverQuota {
		t.Fatalf("delivery past the limit set by the CLI: %v %+v", err, res)
	}

	// Back to the default, which the config file now sets.
	if err := os.WriteFile(filepath.Join(dir, "letterbox.toml"), []byte("[quota]\nstorage = \"2MiB\"\nmessages = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	letterbox(t, "", nil, "user", "quota", data, "alice@example.com", "--storage", "default", "--messages", "default").want(t, 0,
		`limit 2097152 octets \(2\.0 MiB\) \(default, \[quota\]\)\nmessages: 1, limit 5 \(default, \[quota\]\)\n$`)

	for _, bad := range [][]string{
		{"--storage", "lots"}, {"--messages", "-1"}, {"--messages", "many"},
	} {
		r := letterbox(t, "", nil, append([]string{"user", "quota", data, "alice@example.com"}, bad...)...)
		if r.code == 0 {
			t.Errorf("%v accepted", bad)
		}
	}
	letterbox(t, "", nil, "user", "quota", data, "nobody@example.com").want(t, 1, `^$`)
	if err := os.WriteFile(filepath.Join(dir, "letterbox.toml"), []byte("[quota]\nmessages = -3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := letterbox(t, "", nil, "user", "quota", data, "alice@example.com")
	if r.code == 0 || !strings.Contains(r.stderr, "quota.messages") {
		t.Fatalf("negative quota.messages: exit %d, stderr %q", r.code, r.stderr)
	}
}
