package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// A claim of \Recent is no write: it never waits for the committer. The
// mark is persisted with the next batch and at Close, so a restart does
// not hand the same messages out again.
func TestClaimRecentInMemoryPersistedAtClose(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Deliver(ctx, strings.NewReader(benchBody(int64(i))), alice); err != nil {
			t.Fatal(err)
		}
	}
	mb := inbox(t, s)
	before := s.batches.Load()
	got, err := mb.ClaimRecent(ctx)
	if err != nil || !slices.Equal(got, []store.UID{1, 2, 3}) {
		t.Fatalf("ClaimRecent = %v, %v", got, err)
	}
	if again, _ := mb.ClaimRecent(ctx); len(again) != 0 {
		t.Fatalf("second claim = %v", again)
	}
	if n := s.batches.Load() - before; n != 0 {
		t.Errorf("claiming committed %d batches, want none", n)
	}
	mbs := s.mailboxesFor(t)
	if st, err := mbs.Status(ctx, "INBOX"); err != nil || st.Recent != 0 {
		t.Errorf("Status Recent = %d, %v; want 0", st.Recent, err)
	}
	var persisted int64
	if err := s.reader.QueryRow("SELECT recent_uid FROM mailboxes WHERE id = ?", mb.(*mailbox).id).Scan(&persisted); err != nil || persisted != 1 {
		t.Errorf("persisted mark before any batch = %d, %v; want 1 (not written yet)", persisted, err)
	}
	// The next batch carries the mark along.
	if _, err := s.Deliver(ctx, strings.NewReader(benchBody(3)), alice); err != nil {
		t.Fatal(err)
	}
	if err := s.reader.QueryRow("SELECT recent_uid FROM mailboxes WHERE id = ?", mb.(*mailbox).id).Scan(&persisted); err != nil || persisted != 4 {
		t.Errorf("persisted mark after a batch = %d, %v; want 4", persisted, err)
	}
	if got, _ := mb.ClaimRecent(ctx); !slices.Equal(got, []store.UID{4}) {
		t.Errorf("claim after a delivery = %v, want [4]", got)
	}
	s.Close()

	s2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st, err := s2.mailboxesFor(t).Status(ctx, "INBOX"); err != nil || st.Recent != 0 {
		t.Errorf("Status Recent after reopen = %d, %v; want 0", st.Recent, err)
	}
	if got, err := inbox(t, s2).ClaimRecent(ctx); err != nil || len(got) != 0 {
		t.Errorf("claim after reopen = %v, %v; want none (persisted at Close)", got, err)
	}
}

// Renaming INBOX takes the in-memory mark along to the new mailbox.
func TestRenameInboxKeepsRecentMark(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	for i := range 2 {
		if _, err := s.Deliver(ctx, strings.NewReader(benchBody(int64(i))), alice); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := inbox(t, s).ClaimRecent(ctx); len(got) != 2 {
		t.Fatalf("claimed %v", got)
	}
	mbs := s.mailboxesFor(t)
	if err := mbs.Rename(ctx, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old, err := mbs.Open(ctx, "Old")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := old.ClaimRecent(ctx); err != nil || len(got) != 0 {
		t.Errorf("claim in the renamed mailbox = %v, %v; want none", got, err)
	}
}
