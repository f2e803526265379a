// Package pgtest gives tests the PostgreSQL database to use: the DSN in
// LETTERBOX_TEST_POSTGRES_DSN (scripts/postgres-test.sh prints one) or
// LETTERBOX_TEST_POSTGRES (what .ci/run exports). Without either a test
// skips, naming the variable; under CI=true it fails, so CI never passes
// a PostgreSQL test by skipping it.
package pgtest

import (
	"os"
	"testing"
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
