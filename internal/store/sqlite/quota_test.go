package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// TestQuotaCountersFromExistingRows: a database whose accounts have mail
// but no quota rows (made before quota.go) opens with exact counters, and
// the default quota applies to them.
func TestQuotaCountersFromExistingRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a@example.com", "b@example.com", "empty@example.com"} {
		if _, err := s.CreateAccount(ctx, name, "x"); err != nil {
			t.Fatal(err)
		}
	}
	body := "Subject: x\r\n\r\nhello\r\n"
	for _, targets := range [][]store.Target{
		{{Account: "a@example.com"}, {Account: "b@example.com"}},
		{{Account: "a@example.com", Mailbox: "Archive"}},
	} {
		if _, err := s.Deliver(ctx, strings.NewReader(body), targets); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Back to the layout before quota: no table, no triggers.
	u := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "letterbox.db")}).String()
	db, err := sql.Open("sqlite", u)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER account_quota_new", "DROP TRIGGER account_quota_add",
		"DROP TRIGGER account_quota_remove", "DROP TABLE account_quota"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err = Open(Options{Dir: dir, DefaultQuota: store.QuotaLimits{Storage: 1000, Messages: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := int64(len(body))
	for name, want := range map[string][2]int64{"a@example.com": {2 * n, 2}, "b@example.com": {n, 1}, "empty@example.com": {0, 0}} {
		q, err := s.Quota(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if q.Storage.Used != want[0] || q.Messages.Used != want[1] || q.Storage.Limit != 1000 || q.Messages.Limit != 2 || !q.Messages.Default {
			t.Errorf("%s: %+v, want used %v with the default limits", name, q, want)
		}
	}
	// The default refuses a's third message; b still has room.
	res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "a@example.com"}, {Account: "b@example.com"}})
	if err != nil || res[0].Err != store.ErrOverQuota || res[1].Err != nil {
		t.Fatalf("delivery after migration: %+v, %v", res, err)
	}
}
