package imapcheck

import (
	"context"
	"os"
	"testing"
)

// postgresDSN is the test database (scripts/postgres-test.sh); without it
// the test skips, except in CI where it fails.
func postgresDSN(t *testing.T) string {
	dsn := os.Getenv("LETTERBOX_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = os.Getenv("LETTERBOX_TEST_POSTGRES")
	}
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postgres: LETTERBOX_TEST_POSTGRES_DSN not set")
		}
		t.Skip("postgres not available: set LETTERBOX_TEST_POSTGRES_DSN (export LETTERBOX_TEST_POSTGRES_DSN=$(sudo ./scripts/postgres-test.sh))")
	}
	return dsn
}

// TestCheckPostgresTwoNodes spreads the sessions over two IMAP servers,
// each over its own postgres Store on one schema: a peer's write made on
// the other node must be visible to any command sent after it committed.
func TestCheckPostgresTwoNodes(t *testing.T) {
	ctx := context.Background()
	dsn, drop, err := FreshSchema(ctx, postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("dropping the schema: %v", err)
		}
	})
	c, err := StartPostgres(ctx, dsn, 2, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeCluster(t, c)
	res, err := Run(ctx, testConfig(t, c))
	if err != nil {
		t.Fatal(err)
	}
	report(t, c, res)
}
