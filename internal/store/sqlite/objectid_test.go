package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// TestMigrateObjectIDs: messages and expunged rows stored before object
// IDs get distinct email IDs, a thread each and no save date; their
// bodies have no stored preview until delivered again; new deliveries
// get everything.
func TestMigrateObjectIDs(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	os.MkdirAll(filepath.Join(dir, "blobs"), 0o700)
	u := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "letterbox.db")}).String()
	old, err := sql.Open(driverName, dsn(u, false, pragma{"journal_mode", "WAL"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		schemaV1,
		"INSERT INTO accounts (id, name, password_hash, created) VALUES (1, 'alice@example.com', 'x', 0)",
		"INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext) VALUES (1, 1, 'INBOX', 1, 3)",
		"INSERT INTO blobs (id, size, structure) VALUES ('b1', 10, x''), ('b2', 10, x'')",
		"INSERT INTO messages (mailbox_id, uid, modseq, internaldate, size, blob_id) VALUES (1, 1, 1, 100, 10, 'b1'), (1, 2, 1, 100, 10, 'b2')",
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.mailboxesFor(t).Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := mb.Details(ctx, []store.UID{1, 2})
	if err != nil || len(ds) != 2 {
		t.Fatalf("Details: %v, %v", ds, err)
	}
	for _, d := range ds {
		n, ok := store.ParseEmailID(d.EmailID)
		if !ok || d.ThreadID != store.FormatThreadID(n) || !d.SaveDate.IsZero() {
			t.Errorf("migrated UID %d: %q %q %v", d.UID, d.EmailID, d.ThreadID, d.SaveDate)
		}
	}
	if ds[0].EmailID == ds[1].EmailID {
		t.Errorf("migrated messages share email ID %q", ds[0].EmailID)
	}
	found, err := s.FindEmails(ctx, "alice@example.com", []string{ds[1].EmailID})
	if err != nil || len(found[ds[1].EmailID]) != 1 || found[ds[1].EmailID][0].UID != 2 {
		t.Errorf("FindEmails of a migrated ID: %v, %v", found, err)
	}
	if p, err := s.Previews(ctx, []string{"b1"}); err != nil || len(p) != 0 {
		t.Errorf("Previews of a migrated body: %q, %v", p, err)
	}
	res, err := s.Deliver(ctx, strings.NewReader("Message-ID: <n@x>\r\n\r\nnew one\r\n"), alice)
	if err != nil || res[0].Err != nil {
		t.Fatalf("Deliver after migration: %v %v", res, err)
	}
	ds, err = mb.Details(ctx, []store.UID{res[0].UID})
	if err != nil || len(ds) != 1 || ds[0].SaveDate.IsZero() || ds[0].EmailID == "" {
		t.Fatalf("new delivery: %+v, %v", ds, err)
	}
	var version int
	if err := s.writer.QueryRow("SELECT value FROM meta WHERE key = 'schema'").Scan(&version); err != nil || version != schemaVersion {
		t.Errorf("schema version %d, %v", version, err)
	}
}

// TestEmailNumbersCountPerAccount: email numbers count up by one per
// account, in the account's own range (so unique across accounts), carry
// on after a reopen, and an account made again under a reused ID goes on
// from where the deleted one stopped instead of handing its numbers out
// again.
func TestEmailNumbersCountPerAccount(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir})
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "bob@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	deliver := func(s *Store, to string, n int) {
		for i := range n {
			if _, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), []store.Target{{Account: to}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	numbers := func(s *Store, account string) []int64 {
		rows, err := s.reader.Query(`SELECT m.email_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
			JOIN accounts a ON a.id = b.account_id WHERE a.name = ? ORDER BY m.uid`, account)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var n int64
			rows.Scan(&n)
			out = append(out, n)
		}
		return out
	}
	accountID := func(s *Store, name string) int64 {
		a, err := s.Account(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	deliver(s, "alice@example.com", 3)
	deliver(s, "bob@example.com", 2)
	alice, bob := numbers(s, "alice@example.com"), numbers(s, "bob@example.com")
	aid, bid := accountID(s, "alice@example.com"), accountID(s, "bob@example.com")
	for i, n := range alice {
		if n != aid<<emailSeqBits|int64(i+1) {
			t.Errorf("alice's message %d: email number %#x", i+1, n)
		}
	}
	for i, n := range bob {
		if n != bid<<emailSeqBits|int64(i+1) {
			t.Errorf("bob's message %d: email number %#x", i+1, n)
		}
	}
	s.Close()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	deliver(s, "alice@example.com", 1)
	if got := numbers(s, "alice@example.com"); len(got) != 4 || got[3] != aid<<emailSeqBits|4 {
		t.Errorf("after a reopen alice has %#x", got)
	}
	if _, err := s.CreateAccount(ctx, "carol@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	deliver(s, "carol@example.com", 1)
	cid := accountID(s, "carol@example.com")
	want := cid<<emailSeqBits | 1
	if cid == bid {
		want = bid<<emailSeqBits | 3 // bob's ID again: bob's numbers are not handed out twice
	}
	if got := numbers(s, "carol@example.com"); len(got) != 1 || got[0] != want {
		t.Errorf("carol (account %d, bob was %d): %#x, want %#x", cid, bid, got, want)
	}
}
