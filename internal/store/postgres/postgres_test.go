package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/storetest"
)

var ctx = context.Background()

// testDSN is the database the tests use (scripts/postgres-test.sh makes
// one). Without it the tests skip, except in CI where they fail.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("LETTERBOX_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = os.Getenv("LETTERBOX_TEST_POSTGRES")
	}
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postgres: LETTERBOX_TEST_POSTGRES_DSN not set")
		}
		t.Skip("postgres not available: set LETTERBOX_TEST_POSTGRES_DSN (scripts/postgres-test.sh)")
	}
	return dsn
}

// freshSchema creates an empty schema, dropped when the test ends, and
// returns a DSN whose search_path is that schema: every Store opened on
// it starts from an empty database of its own.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := testDSN(t)
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "lbtest_" + hex.EncodeToString(rnd[:])
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", base, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openStore(t testing.TB, dsn string, opts ...func(*Options)) *Store {
	t.Helper()
	// Expunged content nobody pins here goes at once (the grace period
	// for other nodes' sessions is tested on its own).
	o := Options{DSN: dsn, SpoolDir: t.TempDir(), ExpungedGrace: time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, freshSchema(t))
	})
}
