package postgres

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

var alice = []store.Target{{Account: "alice@example.com"}}

func openInbox(t testing.TB, s *Store) store.Mailbox {
	t.Helper()
	mbs, err := s.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// ageExpunged makes every kept expunged row look older than any grace
// period, as if time had passed, and wakes the collector.
func ageExpunged(t testing.TB, s *Store) {
	t.Helper()
	if _, err := s.pool.Exec(ctx, "UPDATE expunged SET expunged_at = now() - interval '1 day'"); err != nil {
		t.Fatal(err)
	}
	s.kickCollector()
}

func countExpunged(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT COUNT(*) FROM expunged").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExpungedGrace: pins are per node, so expunged content stays for the
// grace period even when no pin on this node holds it (a session on
// another node may); after it, the content goes unless a pin here holds
// it.
func TestExpungedGrace(t *testing.T) {
	dsn := freshSchema(t)
	hour := func(o *Options) { o.ExpungedGrace = time.Hour }
	a, b := openStore(t, dsn, hour), openStore(t, dsn, hour)
	if _, err := a.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	body := "Subject: graced\r\n\r\nkept for a while\r\n"
	if _, err := a.Deliver(ctx, strings.NewReader(body), alice); err != nil {
		t.Fatal(err)
	}
	mbB := openInbox(t, b)
	pinB := mbB.Pin() // a session on node B
	defer pinB.Release()
	msgs, _ := mbB.Messages(ctx)
	if _, err := openInbox(t, a).Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	// Nothing pins it on A, but the grace period holds it.
	a.kickCollector()
	time.Sleep(300 * time.Millisecond)
	if d, err := mbB.Details(ctx, []store.UID{1}); err != nil || len(d) != 1 {
		t.Fatalf("Details within the grace period = %+v, %v", d, err)
	}
	blob, err := b.OpenBlob(ctx, msgs[0].BlobID)
	if err != nil {
		t.Fatalf("body within the grace period: %v", err)
	}
	blob.Close()

	// After the grace period B's pin still holds it on B, but A (which
	// cannot see B's pins) collects: the documented trade-off. First
	// only B collects: nothing goes.
	if _, err := b.pool.Exec(ctx, "UPDATE expunged SET expunged_at = now() - interval '1 day'"); err != nil {
		t.Fatal(err)
	}
	if err := b.collect(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countExpunged(t, b); n != 1 {
		t.Fatalf("node B collected content its own pin holds (%d rows left)", n)
	}
	if err := a.collect(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countExpunged(t, a); n != 0 {
		t.Fatalf("node A kept content past the grace period that nothing on A pins (%d rows)", n)
	}
	if _, err := b.OpenBlob(ctx, msgs[0].BlobID); err == nil {
		t.Error("body kept after its last reference was collected")
	}
}

// TestCollectorHonoursLocalPin: with a short grace period, a pin on this
// node holds the content until it advances past the expunge.
func TestCollectorHonoursLocalPin(t *testing.T) {
	s := openStore(t, freshSchema(t))
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: p\r\n\r\npinned\r\n"), alice); err != nil {
		t.Fatal(err)
	}
	mb := openInbox(t, s)
	pin := mb.Pin()
	defer pin.Release()
	if _, err := mb.Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	hms, _ := mb.HighestModSeq(ctx)
	ageExpunged(t, s)
	time.Sleep(200 * time.Millisecond)
	if err := s.collect(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countExpunged(t, s); n != 1 {
		t.Fatalf("%d expunged rows while pinned, want 1", n)
	}
	pin.Advance(hms)
	waitFor(t, "collected after the pin advanced", func() bool { return countExpunged(t, s) == 0 })
}

// TestBlobReadFailsWhenCollected: a body of several chunks read while it
// is removed ends in an error, never in silently short data.
func TestBlobReadFailsWhenCollected(t *testing.T) {
	s := openStore(t, freshSchema(t))
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 3*blobChunkSize/16+10)
	if _, err := s.Deliver(ctx, bytes.NewReader(body), alice); err != nil {
		t.Fatal(err)
	}
	mb := openInbox(t, s)
	msgs, _ := mb.Messages(ctx)
	b, err := s.OpenBlob(ctx, msgs[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first := make([]byte, 1000)
	if _, err := io.ReadFull(b, first); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "body collected", func() bool {
		var n int
		s.pool.QueryRow(ctx, "SELECT COUNT(*) FROM blob_chunks").Scan(&n)
		return n == 0
	})
	rest, err := io.ReadAll(b)
	if err == nil {
		t.Fatalf("read %d more octets of a removed body without an error (size %d)", len(rest), len(body))
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want one wrapping fs.ErrNotExist", err)
	}
	if _, err := b.ReadAt(make([]byte, 10), 2*blobChunkSize); err == nil {
		t.Error("ReadAt of a removed chunk succeeded")
	}
}

// TestStaleSpoolFilesRemovedAtOpen: after kill -9 the spool keeps the dead
// process's files; the next Open removes them (and unowned ones of older
// versions when nobody else uses the spool), never a live Store's or
// another program's.
func TestStaleSpoolFilesRemovedAtOpen(t *testing.T) {
	dsn := freshSchema(t)
	spool := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(spool, name)
		if err := os.WriteFile(p, []byte("half a message"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deadOwner := write("letterbox-owner-0123456789ab") // not locked: its process is gone
	dead := write("letterbox-in-0123456789ab-1234")
	legacy := write("letterbox-in-98765")
	literal := write("imap-literal-555")
	a := openStore(t, dsn, func(o *Options) { o.SpoolDir = spool })
	for _, p := range []string{deadOwner, dead, legacy} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept: %v", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(literal); err != nil {
		t.Errorf("another program's spool file removed: %v", err)
	}
	live := write(strings.Replace(a.spool.Pattern, "*", "77", 1))
	legacy = write("letterbox-in-4242")
	openStore(t, dsn, func(o *Options) { o.SpoolDir = spool })
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live Store's spool file removed: %v", err)
	}
	if _, err := os.Stat(legacy); err != nil {
		t.Errorf("unowned spool file removed while another Store uses the spool: %v", err)
	}
}

// TestMigrateFromVersion1: a schema made by version 1 gets the expunged and
// subscriptions tables, with its subscriptions copied.
func TestMigrateFromVersion1(t *testing.T) {
	dsn := freshSchema(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		"CREATE TABLE schema_version (version integer NOT NULL)",
		"INSERT INTO schema_version VALUES (1)",
		"INSERT INTO accounts (id, name, password_hash, created) VALUES (1, 'alice@example.com', 'x', 0)",
		`INSERT INTO mailboxes (account_id, name, subscribed, uidvalidity) VALUES
			(1, 'INBOX', true, 1), (1, 'Lists', true, 2), (1, 'Quiet', false, 3)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)
	s := openStore(t, dsn)
	mbs, err := s.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	subs, err := mbs.Subscriptions(ctx)
	if err != nil || strings.Join(subs, ",") != "INBOX,Lists" {
		t.Fatalf("Subscriptions after migration = %q, %v", subs, err)
	}
	if mi, _ := mbs.Get(ctx, "Quiet"); mi.Subscribed {
		t.Error("Quiet subscribed after migration")
	}
	if n := countExpunged(t, s); n != 0 {
		t.Errorf("%d expunged rows", n)
	}
	// A second node opening the migrated schema changes nothing.
	openStore(t, dsn)
	if subs, _ := mbs.Subscriptions(ctx); strings.Join(subs, ",") != "INBOX,Lists" {
		t.Errorf("Subscriptions after a second Open = %q", subs)
	}
}
