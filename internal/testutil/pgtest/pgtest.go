// Package pgtest gives tests the PostgreSQL database to use: the DSN in
// LETTERBOX_TEST_POSTGRES_DSN (scripts/postgres-test.sh prints one) or
// LETTERBOX_TEST_POSTGRES (what .ci/run exports). Without either a test
// skips, naming the variable; under CI=true it fails, so CI never passes
// a PostgreSQL test by skipping it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSN returns the test database's DSN, or skips (fails under CI).
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("LETTERBOX_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = os.Getenv("LETTERBOX_TEST_POSTGRES")
	}
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postgres: neither LETTERBOX_TEST_POSTGRES_DSN nor LETTERBOX_TEST_POSTGRES is set (CI=true)")
		}
		t.Skip("postgres not available: set LETTERBOX_TEST_POSTGRES_DSN (scripts/postgres-test.sh)")
	}
	return dsn
}

// Schema makes a fresh schema named prefix_<random> in the database of
// base, dropped when the test ends, and returns base pointed at it
// (search_path), so each test has tables of its own.
func Schema(t testing.TB, base, prefix string) string {
	t.Helper()
	ctx := context.Background()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := prefix + "_" + hex.EncodeToString(rnd[:])
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
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}
