package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// TestObjectIDMigration: a schema of version 7 (before object IDs) with
// mail gets distinct email IDs, a thread per message and no save dates;
// new deliveries get everything.
func TestObjectIDMigration(t *testing.T) {
	dsn := freshSchema(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	qs := append([]string{}, migrations[:7]...)
	qs = append(qs,
		"CREATE TABLE schema_version (version integer NOT NULL)",
		"INSERT INTO schema_version VALUES (7)",
		"INSERT INTO accounts (id, name, password_hash, created) VALUES (1, 'a@example.com', 'x', 0)",
		`INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext) VALUES (1, 1, 'INBOX', 1, 3)`,
		`INSERT INTO blobs (id, size, chunk_size, structure) VALUES ('b1', 100, 65536, ''), ('b2', 250, 65536, '')`,
		`INSERT INTO messages (mailbox_id, uid, modseq, internaldate, size, blob_id) VALUES (1, 1, 2, 0, 100, 'b1'), (1, 2, 3, 0, 250, 'b2')`,
	)
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)
	if len(migrations) < 8 {
		t.Fatalf("%d migrations: this test builds version 7", len(migrations))
	}
	s := openStore(t, dsn)
	mbs, err := s.Mailboxes(ctx, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := inbox.Details(ctx, []store.UID{1, 2})
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
	found, err := s.FindEmails(ctx, "a@example.com", []string{ds[0].EmailID})
	if err != nil || fmt.Sprint(found[ds[0].EmailID]) != fmt.Sprint([]store.EmailLocation{{MailboxID: 1, Mailbox: "INBOX", UIDValidity: 1, UID: 1}}) {
		t.Errorf("FindEmails of a migrated ID: %v, %v", found, err)
	}
	res, err := s.Deliver(ctx, strings.NewReader("Message-ID: <n@x>\r\n\r\nnew one\r\n"), []store.Target{{Account: "a@example.com"}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Deliver after migration: %v %v", res, err)
	}
	ds, err = inbox.Details(ctx, []store.UID{res[0].UID})
	if err != nil || len(ds) != 1 || ds[0].SaveDate.IsZero() || ds[0].EmailID == "" {
		t.Fatalf("new delivery: %+v, %v", ds, err)
	}
}
