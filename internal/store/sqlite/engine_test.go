package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
)

// TestEnginePragmas: the connections Open makes carry the pragmas it asks
// for, whichever engine spells them (go-sqlite3 silently ignores a DSN key
// it does not know).
func TestEnginePragmas(t *testing.T) {
	s := openTest(t, Options{})
	t.Logf("engine: %s", engineName)
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.writer, "journal_mode", "wal"},
		{s.writer, "synchronous", "2"},
		{s.writer, "foreign_keys", "1"},
		{s.writer, "busy_timeout", "10000"},
		{s.writer, "query_only", "0"},
		{s.reader, "synchronous", "2"},
		{s.reader, "foreign_keys", "1"},
		{s.reader, "busy_timeout", "10000"},
		{s.reader, "query_only", "1"},
	} {
		var got string
		if err := c.db.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", c.pragma, err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s on the %s = %s, want %s", c.pragma, map[bool]string{true: "writer", false: "reader"}[c.db == s.writer], got, c.want)
		}
	}
}

// TestEngineIsBusy: a second writer without a busy timeout gets
// SQLITE_BUSY at BEGIN IMMEDIATE while the first holds the write lock,
// and isBusy recognises it (also wrapped); other errors are not busy.
func TestEngineIsBusy(t *testing.T) {
	u := (&url.URL{Scheme: "file", Path: filepath.Join(t.TempDir(), "busy.db")}).String()
	open := func() *sql.DB {
		db, err := sql.Open(driverName, dsn(u, true, pragma{"busy_timeout", "0"}, pragma{"journal_mode", "WAL"}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	if _, err := a.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = b.Begin()
	if err == nil {
		t.Fatal("second BEGIN IMMEDIATE succeeded while the first held the write lock")
	}
	if !isBusy(err) || !isBusy(fmt.Errorf("wrapped: %w", err)) {
		t.Errorf("isBusy(%v) = false", err)
	}
	if _, err := tx.Exec("INSERT INTO t (k) VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec("INSERT INTO t (k) VALUES (1)")
	if err == nil {
		t.Fatal("duplicate primary key accepted")
	}
	if isBusy(err) {
		t.Errorf("isBusy(%v) = true for a constraint error", err)
	}
}
