//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"
)

// postgresDSN returns a DSN for a fresh schema in the test database
// (LETTERBOX_TEST_POSTGRES_DSN or LETTERBOX_TEST_POSTGRES, as .ci/run and
// scripts/postgres-test.sh provide), dropped after the test.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LETTERBOX_TEST_POSTGRES_DSN")
	if base == "" {
		base = os.Getenv("LETTERBOX_TEST_POSTGRES")
	}
	if base == "" {
		if inCI() {
			t.Fatal("PostgreSQL not available: LETTERBOX_TEST_POSTGRES_DSN is not set (.ci/run starts a server)")
		}
		t.Skip("PostgreSQL not available: set LETTERBOX_TEST_POSTGRES_DSN (see scripts/postgres-test.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	schema := fmt.Sprintf("e2e_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("LETTERBOX_TEST_POSTGRES_DSN must be a URL for this test: %q", base)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// usePostgres points a config at the postgres driver.
func usePostgres(dsn string) func(string) string {
	return func(cfg string) string {
		cfg = regexp.MustCompile(`(?m)^driver\s*=.*$`).ReplaceAllString(cfg, `driver = "postgres"`)
		return regexp.MustCompile(`(?m)^dsn\s*=.*$`).ReplaceAllString(cfg, "dsn = "+strconv.Quote(dsn))
	}
}

// TestPostgresTwoNodes runs two letterbox processes on one PostgreSQL
// database: mail delivered over SMTP to node A reads back byte for byte from
// node B over POP3 and IMAP, node B's IDLE session hears node A's delivery,
// and a flag set through node A shows on node B.
func TestPostgresTwoNodes(t *testing.T) {
	dsn := postgresDSN(t)
	a := startServerWith(t, usePostgres(dsn))
	b := startServerWith(t, usePostgres(dsn))
	a.addUser(alice, alicePass)

	first := trickyMessage("two nodes one")
	a.mustSend(t, alice, first)
	b.checkStoredExactly(t, alice, alicePass, [][]byte{first})

	// Node B idles; node A takes a delivery.
	exists := make(chan uint32, 4)
	c, err := imapclient.DialTLS(b.addr("imaps"), &imapclient.Options{
		TLSConfig: b.tlsConfig(),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice, alicePass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	a.mustSend(t, alice, message("carol@remote.example", alice, "two nodes two", "via node A\n"))
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("node B's IDLE session got %d EXISTS, want 2", n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("node B's IDLE session heard nothing of node A's delivery within 60s")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	// A flag set through node A shows on node B.
	ca := a.dialIMAPS(t, alice, alicePass)
	if _, err := ca.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := ca.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	got := fetchAll(t, b.dialIMAPS(t, alice, alicePass), "INBOX")
	if len(got) != 2 || !slices.Contains(got[0].flags, imap.FlagFlagged) {
		t.Errorf("node B sees %d messages, first with flags %v; want 2, the first \\Flagged", len(got), flagsOf(got))
	}
	if len(got) == 2 && !bytes.Equal(stripTrace(got[0].body), first) {
		t.Errorf("node B's copy differs:\n%s", diffBytes(first, stripTrace(got[0].body)))
	}
}

func flagsOf(ms []imapMessage) [][]imap.Flag {
	var f [][]imap.Flag
	for _, m := range ms {
		f = append(f, m.flags)
	}
	return f
}
