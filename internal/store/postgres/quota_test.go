package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// TestQuotaMigrationCountsExistingRows: a schema at version 3 (before
// quota) with mail gets exact counters from its rows, and the default
// quota applies to its accounts.
func TestQuotaMigrationCountsExistingRows(t *testing.T) {
	dsn := freshSchema(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0], migrations[1], migrations[2],
		"CREATE TABLE schema_version (version integer NOT NULL)",
		"INSERT INTO schema_version VALUES (3)",
		"INSERT INTO accounts (id, name, password_hash, created) VALUES (1, 'a@example.com', 'x', 0), (2, 'empty@example.com', 'x', 0)",
		`INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext) VALUES (1, 1, 'INBOX', 1, 3), (2, 1, 'Archive', 2, 2), (3, 2, 'INBOX', 3, 1)`,
		`INSERT INTO blobs (id, size, chunk_size, structure) VALUES ('b1', 100, 65536, ''), ('b2', 250, 65536, '')`,
		`INSERT INTO messages (mailbox_id, uid, modseq, internaldate, size, blob_id) VALUES
			(1, 1, 2, 0, 100, 'b1'), (1, 2, 3, 0, 250, 'b2'), (2, 1, 2, 0, 100, 'b1')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)
	s := openStore(t, dsn, func(o *Options) { o.DefaultQuota = store.QuotaLimits{Messages: 3} })
	for name, want := range map[string][2]int64{"a@example.com": {450, 3}, "empty@example.com": {0, 0}} {
		q, err := s.Quota(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if q.Storage.Used != want[0] || q.Messages.Used != want[1] || q.Messages.Limit != 3 || !q.Messages.Default || q.Storage.Limit != 0 {
			t.Errorf("%s: %+v, want used %v and the default limits", name, q, want)
		}
	}
	mbs, err := s.Mailboxes(ctx, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.CopyTo(ctx, []store.UID{1}, "Archive"); err != store.ErrOverQuota {
		t.Fatalf("CopyTo past the default: %v, want ErrOverQuota", err)
	}
	if _, err := inbox.Expunge(ctx, []store.UID{2}); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Quota(ctx, "a@example.com"); q.Storage.Used != 200 || q.Messages.Used != 2 {
		t.Fatalf("after expunge: %+v", q)
	}
}
