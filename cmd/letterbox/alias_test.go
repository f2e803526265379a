package main

import (
	"path/filepath"
	"testing"
)

func TestAliasVerbs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	letterbox(t, "pw\n", nil, "--data", dir, "user", "add", "alice@example.com").want(t, 0, "")
	letterbox(t, "", nil, "--data", dir, "alias", "add", "Sales@Example.com", "alice@example.com").want(t, 0, `alias sales@example.com → alice@example.com added`)
	letterbox(t, "", nil, "--data", dir, "alias", "add", "@example.org", "alice@example.com").want(t, 0, `added`)
	letterbox(t, "", nil, "--data", dir, "alias", "add", "sales@example.com", "alice@example.com").want(t, 1, ``)
	letterbox(t, "", nil, "--data", dir, "alias", "add", "x@example.com", "nobody@example.com").want(t, 1, ``)
	letterbox(t, "", nil, "--data", dir, "alias", "list").want(t, 0, `(?s)^@example.org alice@example.com\nsales@example.com alice@example.com\n$`)
	letterbox(t, "", nil, "--data", dir, "alias", "del", "sales@example.com").want(t, 0, `removed`)
	letterbox(t, "", nil, "--data", dir, "alias", "del", "sales@example.com").want(t, 1, ``)
	letterbox(t, "", nil, "--data", dir, "alias", "list").want(t, 0, `(?s)^@example.org alice@example.com\n$`)
}
