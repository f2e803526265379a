package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

func testMailboxCreateDelete(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	mi, err := mbs.Create(ctx, "Projects/2024/Q1", "")
	if err != nil {
		t.Fatal(err)
	}
	if mi.Name != "Projects/2024/Q1" || mi.UIDNext != 1 || mi.UIDValidity == 0 {
		t.Fatalf("Create = %+v", mi)
	}
	for _, parent := range []string{"Projects", "Projects/2024"} {
		if _, err := mbs.Get(ctx, parent); err != nil {
			t.Errorf("parent %q not created: %v", parent, err)
		}
	}
	if _, err := mbs.Create(ctx, "Projects/2024/Q1", ""); !errors.Is(err, store.ErrMailboxExists) {
		t.Errorf("Create existing = %v", err)
	}
	if _, err := mbs.Create(ctx, "inbox", ""); !errors.Is(err, store.ErrMailboxExists) {
		t.Errorf("Create inbox = %v", err)
	}
	if mi, err := mbs.Create(ctx, "All Mail", store.SpecialAll); err != nil || mi.SpecialUse != store.SpecialAll {
		t.Errorf("Create with special-use = %+v, %v", mi, err)
	}
	// Names other than INBOX are case-sensitive.
	if _, err := mbs.Create(ctx, "projects", ""); err != nil {
		t.Errorf("Create projects (case differs) = %v", err)
	}
	if _, err := mbs.Get(ctx, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Get unknown = %v", err)
	}
	if _, err := mbs.Open(ctx, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Open unknown = %v", err)
	}
	if err := mbs.Delete(ctx, "Projects/2024"); !errors.Is(err, store.ErrMailboxHasChildren) {
		t.Errorf("Delete with children = %v", err)
	}
	if err := mbs.Delete(ctx, "Inbox"); !errors.Is(err, store.ErrCannotDeleteInbox) {
		t.Errorf("Delete INBOX = %v", err)
	}
	if err := mbs.Delete(ctx, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Delete unknown = %v", err)
	}

	// Delete removes messages; a re-created mailbox has a new UIDVALIDITY.
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com", Mailbox: "Projects/2024/Q1"})
	if err := mbs.Delete(ctx, "Projects/2024/Q1"); err != nil {
		t.Fatal(err)
	}
	if _, err := mbs.Get(ctx, "Projects/2024/Q1"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("Get after Delete = %v", err)
	}
	again, err := mbs.Create(ctx, "Projects/2024/Q1", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.UIDValidity == mi.UIDValidity {
		t.Errorf("re-created mailbox reuses UIDVALIDITY %d", mi.UIDValidity)
	}
	if n := len(messages(t, openMailbox(t, mbs, "Projects/2024/Q1"))); n != 0 {
		t.Errorf("re-created mailbox has %d messages", n)
	}
	if err := mbs.Delete(ctx, "Projects/2024/Q1"); err != nil {
		t.Fatal(err)
	}
	if err := mbs.Delete(ctx, "Projects/2024"); err != nil {
		t.Errorf("Delete after children gone = %v", err)
	}
}

func testMailboxNameValidation(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	invalid := []string{"/a", "a/", "a//b", ".", "..", "a/./b", "a/..", "a\x00b", "a\tb", "a\x7fb", "bad\xffutf8", "a\r\nb"}
	for _, name := range invalid {
		if _, err := mbs.Create(ctx, name, ""); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Create(%q) = %v, want ErrInvalidName", name, err)
		}
		if err := mbs.Rename(ctx, "Sent", name); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Rename(Sent, %q) = %v, want ErrInvalidName", name, err)
		}
	}
	valid := []string{"Über/Straße", "a b", "a.b", "...x", "日本語"}
	for _, name := range valid {
		if _, err := mbs.Create(ctx, name, ""); err != nil {
			t.Errorf("Create(%q) = %v", name, err)
		}
	}
	if _, err := mbs.Create(ctx, "x", `\Bogus`); err == nil {
		t.Errorf("Create with unknown special-use succeeded")
	}
}

func testMailboxRename(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for _, n := range []string{"Work/A", "Work/B/C", "Workshop"} {
		if _, err := mbs.Create(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com", Mailbox: "Work/B/C"})
	before, _ := mbs.Get(ctx, "Work/B/C")
	if err := mbs.Rename(ctx, "Work", "Old/Work"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Old", "Old/Work", "Old/Work/A", "Old/Work/B", "Old/Work/B/C", "Workshop"} {
		if _, err := mbs.Get(ctx, n); err != nil {
			t.Errorf("after rename, Get(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"Work", "Work/A", "Work/B/C"} {
		if _, err := mbs.Get(ctx, n); !errors.Is(err, store.ErrNoSuchMailbox) {
			t.Errorf("after rename, old %q still there: %v", n, err)
		}
	}
	after, _ := mbs.Get(ctx, "Old/Work/B/C")
	if after.UIDNext != before.UIDNext || after.HighestModSeq != before.HighestModSeq {
		t.Errorf("rename changed counters: %+v -> %+v", before, after)
	}
	if n := len(messages(t, openMailbox(t, mbs, "Old/Work/B/C"))); n != 1 {
		t.Errorf("renamed mailbox has %d messages, want 1", n)
	}
	cases := []struct {
		from, to string
		want     error
	}{
		{"Nope", "X", store.ErrNoSuchMailbox},
		{"Workshop", "Old", store.ErrMailboxExists},
		{"Workshop", "INBOX", store.ErrMailboxExists},
		{"Old", "Old/Inner", store.ErrInvalidName},
	}
	for _, c := range cases {
		if err := mbs.Rename(ctx, c.from, c.to); !errors.Is(err, c.want) {
			t.Errorf("Rename(%q, %q) = %v, want %v", c.from, c.to, err, c.want)
		}
	}
}

func testMailboxRenameInbox(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	if _, err := mbs.Create(ctx, "INBOX/Child", ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	inbox := openMailbox(t, mbs, "INBOX")
	storeFlags(t, inbox, []store.UID{2}, store.FlagsAdd, store.FlagSeen)
	before := info(t, inbox)
	if err := mbs.Rename(ctx, "inbox", "Old Inbox"); err != nil {
		t.Fatal(err)
	}
	if n := len(messages(t, inbox)); n != 0 {
		t.Fatalf("INBOX has %d messages after rename", n)
	}
	ch, err := inbox.Changes(ctx, before.HighestModSeq)
	if err != nil || !equalUIDs(ch.Expunged, []store.UID{1, 2, 3}) {
		t.Fatalf("INBOX changes after rename = %+v, %v", ch, err)
	}
	if got := info(t, inbox).UIDNext; got != before.UIDNext {
		t.Errorf("INBOX UIDNEXT %d after rename, want %d (UIDs are never reused)", got, before.UIDNext)
	}
	old := messages(t, openMailbox(t, mbs, "Old Inbox"))
	if len(old) != 3 || !equalFlags(old[1].Flags, []string{store.FlagSeen}) {
		t.Fatalf("Old Inbox = %+v", old)
	}
	if _, err := mbs.Get(ctx, "INBOX/Child"); err != nil {
		t.Errorf("INBOX's child moved: %v", err)
	}
	res := deliver(t, s, msg(9), store.Target{Account: "alice@example.com"})
	if res[0].UID < before.UIDNext {
		t.Errorf("new delivery to INBOX got UID %d, below old UIDNEXT %d", res[0].UID, before.UIDNext)
	}
}

func testMailboxSubscribe(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	if _, err := mbs.Create(ctx, "Lists", ""); err != nil {
		t.Fatal(err)
	}
	if mi, _ := mbs.Get(ctx, "Lists"); mi.Subscribed {
		t.Fatal("new mailbox is subscribed")
	}
	if err := mbs.SetSubscribed(ctx, "Lists", true); err != nil {
		t.Fatal(err)
	}
	if mi, _ := mbs.Get(ctx, "Lists"); !mi.Subscribed {
		t.Fatal("SetSubscribed(true) did not stick")
	}
	if err := mbs.SetSubscribed(ctx, "Trash", false); err != nil {
		t.Fatal(err)
	}
	if mi, _ := mbs.Get(ctx, "Trash"); mi.Subscribed {
		t.Fatal("SetSubscribed(false) did not stick")
	}
	// Subscriptions are kept by name: a name that does not exist can be
	// subscribed and unsubscribed (RFC 3501 §6.3.6); it must be valid.
	if err := mbs.SetSubscribed(ctx, "Nope", true); err != nil {
		t.Errorf("SetSubscribed(unknown, true) = %v", err)
	}
	if err := mbs.SetSubscribed(ctx, "Nope", true); err != nil {
		t.Errorf("SetSubscribed twice = %v", err)
	}
	if err := mbs.SetSubscribed(ctx, "a//b", true); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("SetSubscribed(invalid) = %v", err)
	}
	if err := mbs.SetSubscribed(ctx, "inbox", false); err != nil {
		t.Fatal(err)
	}
	if err := mbs.SetSubscribed(ctx, "iNbOx", true); err != nil {
		t.Fatal(err)
	}
	checkSubscriptions(t, mbs, "Archive", "Drafts", "INBOX", "Junk", "Lists", "Nope", "Sent")
	if err := mbs.SetSubscribed(ctx, "Nope", false); err != nil {
		t.Errorf("SetSubscribed(unknown, false) = %v", err)
	}
	if err := mbs.SetSubscribed(ctx, "Never", false); err != nil {
		t.Errorf("unsubscribing a name never subscribed = %v", err)
	}
	checkSubscriptions(t, mbs, "Archive", "Drafts", "INBOX", "Junk", "Lists", "Sent")
	// A subscription made before the mailbox exists shows on it.
	if err := mbs.SetSubscribed(ctx, "Later", true); err != nil {
		t.Fatal(err)
	}
	if mi, err := mbs.Create(ctx, "Later", ""); err != nil || !mi.Subscribed {
		t.Errorf("Create of a subscribed name = %+v, %v", mi, err)
	}
	// Subscriptions are per account.
	bob := newAccount(t, s, "bob@example.com")
	if err := bob.SetSubscribed(ctx, "Bobs", true); err != nil {
		t.Fatal(err)
	}
	checkSubscriptions(t, mbs, "Archive", "Drafts", "INBOX", "Junk", "Later", "Lists", "Sent")
}

// testSubscriptionsApartFromMailboxes: DELETE leaves the subscription
// (RFC 3501 §6.3.4), RENAME moves the mailbox's and its children's, List
// and Get report Subscribed from the names.
func testSubscriptionsApartFromMailboxes(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for _, n := range []string{"Work/A", "Work/B", "Workshop", "Old"} {
		if _, err := mbs.Create(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"Work", "Work/A", "Workshop", "Work/Gone", "Old"} {
		if err := mbs.SetSubscribed(ctx, n, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := mbs.Delete(ctx, "Work/B"); err != nil {
		t.Fatal(err)
	}
	if err := mbs.Delete(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	checkSubscriptions(t, mbs, "Archive", "Drafts", "INBOX", "Junk", "Old", "Sent", "Trash", "Work", "Work/A", "Work/Gone", "Workshop")
	if err := mbs.Rename(ctx, "Work", "Done/Work"); err != nil {
		t.Fatal(err)
	}
	checkSubscriptions(t, mbs, "Archive", "Done/Work", "Done/Work/A", "Done/Work/Gone", "Drafts", "INBOX", "Junk", "Old", "Sent", "Trash", "Workshop")
	subscribed := map[string]bool{}
	list, err := mbs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, mi := range list {
		subscribed[mi.Name] = mi.Subscribed
	}
	want := map[string]bool{"INBOX": true, "Archive": true, "Drafts": true, "Junk": true, "Sent": true, "Trash": true,
		"Done": false, "Done/Work": true, "Done/Work/A": true, "Workshop": true}
	for n, w := range want {
		got, ok := subscribed[n]
		if !ok || got != w {
			t.Errorf("List: %q subscribed %v (listed %v), want %v", n, got, ok, w)
		}
		if mi, err := mbs.Get(ctx, n); err != nil || mi.Subscribed != w {
			t.Errorf("Get(%q) = %+v, %v; want Subscribed %v", n, mi, err, w)
		}
	}
	// Re-creating a deleted name finds its subscription.
	if mi, err := mbs.Create(ctx, "Old", ""); err != nil || !mi.Subscribed {
		t.Errorf("re-created Old = %+v, %v", mi, err)
	}
	// Renaming onto a name that is subscribed already keeps one.
	if err := mbs.SetSubscribed(ctx, "New", true); err != nil {
		t.Fatal(err)
	}
	if err := mbs.Rename(ctx, "Old", "New"); err != nil {
		t.Fatal(err)
	}
	checkSubscriptions(t, mbs, "Archive", "Done/Work", "Done/Work/A", "Done/Work/Gone", "Drafts", "INBOX", "Junk", "New", "Sent", "Trash", "Workshop")
	// Renaming INBOX leaves INBOX (and its subscription) in place.
	if err := mbs.Rename(ctx, "INBOX", "Saved"); err != nil {
		t.Fatal(err)
	}
	checkSubscriptions(t, mbs, "Archive", "Done/Work", "Done/Work/A", "Done/Work/Gone", "Drafts", "INBOX", "Junk", "New", "Sent", "Trash", "Workshop")
	// Deleting the account drops its subscriptions with it.
	if err := s.DeleteAccount(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	again := newAccount(t, s, "alice@example.com")
	checkSubscriptions(t, again, "Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash")
}

func checkSubscriptions(t *testing.T, mbs store.Mailboxes, want ...string) {
	t.Helper()
	got, err := mbs.Subscriptions(ctx)
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Subscriptions = %q, want %q", got, want)
	}
}

func equalFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
