package jmapserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/postgres"
	"github.com/letterbox/letterbox/internal/testutil/pgtest"
)

// TestOnPostgres runs the method tests on the PostgreSQL driver (object
// ids, tombstones, change feed and all), each in a schema of its own.
func TestOnPostgres(t *testing.T) {
	base := pgtest.DSN(t)
	saved := harnessStore
	defer func() { harnessStore = saved }()
	harnessStore = func(t testing.TB) store.Store {
		ctx := context.Background()
		var rnd [6]byte
		rand.Read(rnd[:])
		schema := "lbjmap_" + hex.EncodeToString(rnd[:])
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if c, err := pgx.Connect(ctx, base); err == nil {
				c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				c.Close(ctx)
			}
		})
		dsn := base + " search_path=" + schema
		if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			dsn = u.String()
		}
		st, err := postgres.Open(ctx, postgres.Options{DSN: dsn, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	for name, f := range map[string]func(*testing.T){
		"EmailIDsAreObjectIDs":         TestEmailIDsAreObjectIDs,
		"EmailQuerySetChanges":         TestEmailQuerySetChanges,
		"EmailCreateImportParseSubmit": TestEmailCreateImportParseSubmit,
		"MailboxGetSetChanges":         TestMailboxGetSetChanges,
		"ResultReferences":             TestResultReferences,
		"JamClient":                    TestJamClient,
	} {
		t.Run(name, f)
	}
}
