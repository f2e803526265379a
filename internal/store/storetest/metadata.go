package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// METADATA (RFC 5464, store.Metadata): entries per mailbox and per account
// (server entries), all-or-nothing writes, limits, and their life with the
// mailbox. A driver without store.Metadata skips these.

func metadataOf(t *testing.T, s store.Store) store.Metadata {
	t.Helper()
	md, ok := s.(store.Metadata)
	if !ok {
		t.Skip("driver does not implement store.Metadata")
	}
	return md
}

// metaString renders entries as "name=value name=value" for comparisons.
func metaString(es []store.MetadataEntry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%s=%q", e.Name, e.Value)
	}
	return strings.Join(parts, " ")
}

func getMeta(t *testing.T, md store.Metadata, account, mailbox string, names ...string) string {
	t.Helper()
	es, err := md.GetMetadata(ctx, account, mailbox, names)
	if err != nil {
		t.Fatalf("GetMetadata(%q, %v): %v", mailbox, names, err)
	}
	for _, e := range es {
		if e.Value == nil {
			t.Fatalf("GetMetadata(%q): entry %s has a nil value", mailbox, e.Name)
		}
	}
	return metaString(es)
}

func setMeta(t *testing.T, md store.Metadata, account, mailbox string, limits store.MetadataLimits, kv ...any) error {
	t.Helper()
	var es []store.MetadataEntry
	for i := 0; i < len(kv); i += 2 {
		e := store.MetadataEntry{Name: kv[i].(string)}
		switch v := kv[i+1].(type) {
		case string:
			e.Value = []byte(v)
		case []byte:
			e.Value = v
		case nil:
		}
		es = append(es, e)
	}
	return md.SetMetadata(ctx, account, mailbox, es, limits)
}

func mustSetMeta(t *testing.T, md store.Metadata, account, mailbox string, kv ...any) {
	t.Helper()
	if err := setMeta(t, md, account, mailbox, store.MetadataLimits{}, kv...); err != nil {
		t.Fatalf("SetMetadata(%q, %v): %v", mailbox, kv, err)
	}
}

func testMetadataSetGet(t *testing.T, s store.Store) {
	md := metadataOf(t, s)
	mbs := newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	const a = "alice@example.com"
	bin := []byte("a\x00b\xff\r\n")
	mustSetMeta(t, md, a, "INBOX",
		"/private/comment", "hello",
		"/shared/comment", "shared one",
		"/private/a", "1", "/private/a/b", "2", "/private/a/b/c", "3", "/private/ab", "no child",
		"/private/bin", bin, "/private/empty", "")
	mustSetMeta(t, md, a, store.ServerMetadata, "/private/comment", "server")

	if got, want := getMeta(t, md, a, "INBOX", "/private/comment", "/shared/comment", "/private/none"),
		`/private/comment="hello" /shared/comment="shared one"`; got != want {
		t.Errorf("two entries: got %s, want %s", got, want)
	}
	// A name gives itself and everything below it, not its siblings that
	// share a prefix ("/private/ab").
	if got, want := getMeta(t, md, a, "INBOX", "/private/a"),
		`/private/a="1" /private/a/b="2" /private/a/b/c="3"`; got != want {
		t.Errorf("subtree: got %s, want %s", got, want)
	}
	// Overlapping requests give each entry once, sorted.
	if got, want := getMeta(t, md, a, "INBOX", "/private/a/b", "/private/a"),
		`/private/a="1" /private/a/b="2" /private/a/b/c="3"`; got != want {
		t.Errorf("overlap: got %s, want %s", got, want)
	}
	if got, want := getMeta(t, md, a, "INBOX", "/private/bin", "/private/empty"),
		fmt.Sprintf(`/private/bin=%q /private/empty=""`, bin); got != want {
		t.Errorf("binary and empty values: got %s, want %s", got, want)
	}
	// Server entries, other mailboxes and other accounts are apart.
	if got, want := getMeta(t, md, a, store.ServerMetadata, "/private", "/shared"), `/private/comment="server"`; got != want {
		t.Errorf("server entries: got %s, want %s", got, want)
	}
	if got := getMeta(t, md, a, "Sent", "/private", "/shared"); got != "" {
		t.Errorf("Sent has entries: %s", got)
	}
	if got := getMeta(t, md, "bob@example.com", "INBOX", "/private", "/shared"); got != "" {
		t.Errorf("bob's INBOX has alice's entries: %s", got)
	}
	if got := getMeta(t, md, "bob@example.com", store.ServerMetadata, "/private", "/shared"); got != "" {
		t.Errorf("bob has alice's server entries: %s", got)
	}
	// INBOX in any case is INBOX.
	if got := getMeta(t, md, a, "inbox", "/private/comment"); got != `/private/comment="hello"` {
		t.Errorf("inbox: %s", got)
	}

	// Replace, remove (nil), and remove what is not there: one call.
	mustSetMeta(t, md, a, "INBOX", "/private/comment", "changed", "/shared/comment", nil, "/private/never", nil)
	if got, want := getMeta(t, md, a, "INBOX", "/private/comment", "/shared/comment"), `/private/comment="changed"`; got != want {
		t.Errorf("after replace and remove: got %s, want %s", got, want)
	}

	// A mailbox that does not exist.
	if _, err := md.GetMetadata(ctx, a, "Nope", []string{"/private/comment"}); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("GetMetadata of a missing mailbox: %v, want ErrNoSuchMailbox", err)
	}
	if err := setMeta(t, md, a, "Nope", store.MetadataLimits{}, "/private/comment", "x"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("SetMetadata of a missing mailbox: %v, want ErrNoSuchMailbox", err)
	}
	_ = mbs
}

func testMetadataLimits(t *testing.T, s store.Store) {
	md := metadataOf(t, s)
	newAccount(t, s, "alice@example.com")
	const a = "alice@example.com"
	lim := store.MetadataLimits{MaxEntries: 3}
	if err := setMeta(t, md, a, "INBOX", lim, "/private/1", "a", "/private/2", "b", "/private/3", "c"); err != nil {
		t.Fatalf("three entries under a bound of three: %v", err)
	}
	// A fourth is refused, and the refused call changes nothing, not even
	// the entry it replaced or removed first.
	err := setMeta(t, md, a, "INBOX", lim, "/private/1", "changed", "/private/2", nil, "/private/4", "d", "/private/5", "e")
	if !errors.Is(err, store.ErrMetadataTooMany) {
		t.Fatalf("five entries under a bound of three: %v, want ErrMetadataTooMany", err)
	}
	if got, want := getMeta(t, md, a, "INBOX", "/private"), `/private/1="a" /private/2="b" /private/3="c"`; got != want {
		t.Errorf("after the refused write: got %s, want %s", got, want)
	}
	// Replacing, and removing one to add one, stay within the bound.
	if err := setMeta(t, md, a, "INBOX", lim, "/private/1", "x", "/private/2", nil, "/private/4", "d"); err != nil {
		t.Fatalf("swap within the bound: %v", err)
	}
	// The bound is per mailbox and per server scope.
	if err := setMeta(t, md, a, "Sent", lim, "/private/1", "a", "/private/2", "b", "/private/3", "c"); err != nil {
		t.Fatalf("another mailbox: %v", err)
	}
	if err := setMeta(t, md, a, store.ServerMetadata, lim, "/private/1", "a", "/private/2", "b", "/private/3", "c"); err != nil {
		t.Fatalf("server entries: %v", err)
	}
	if err := setMeta(t, md, a, store.ServerMetadata, lim, "/shared/4", "a"); !errors.Is(err, store.ErrMetadataTooMany) {
		t.Errorf("fourth server entry: %v, want ErrMetadataTooMany", err)
	}
	// Over a lowered bound, removing still works.
	if err := setMeta(t, md, a, "INBOX", store.MetadataLimits{MaxEntries: 1}, "/private/1", nil); err != nil {
		t.Errorf("removing while over the bound: %v", err)
	}

	// Total size: names plus values over the whole account.
	newAccount(t, s, "bob@example.com")
	const b = "bob@example.com"
	tot := store.MetadataLimits{MaxTotalSize: 100}
	// 10 + 40 octets, and 10 + 40 in another mailbox: exactly 100.
	if err := setMeta(t, md, b, "INBOX", tot, "/private/x", strings.Repeat("v", 40)); err != nil {
		t.Fatalf("50 of 100 octets: %v", err)
	}
	if err := setMeta(t, md, b, "Sent", tot, "/private/y", strings.Repeat("v", 40)); err != nil {
		t.Fatalf("100 of 100 octets: %v", err)
	}
	if err := setMeta(t, md, b, store.ServerMetadata, tot, "/shared/z", ""); !errors.Is(err, store.ErrMetadataOverQuota) {
		t.Fatalf("a server entry over the total: %v, want ErrMetadataOverQuota", err)
	}
	if err := setMeta(t, md, b, "INBOX", tot, "/private/x", strings.Repeat("v", 41)); !errors.Is(err, store.ErrMetadataOverQuota) {
		t.Fatalf("growing a value over the total: %v, want ErrMetadataOverQuota", err)
	}
	if got, want := getMeta(t, md, b, "INBOX", "/private"), fmt.Sprintf("/private/x=%q", strings.Repeat("v", 40)); got != want {
		t.Errorf("after the refused growth: got %s, want %s", got, want)
	}
	// Shrinking is fine even under a bound the account is over.
	if err := setMeta(t, md, b, "INBOX", store.MetadataLimits{MaxTotalSize: 10}, "/private/x", "short"); err != nil {
		t.Errorf("shrinking while over the total: %v", err)
	}
}

func testMetadataFollowsMailbox(t *testing.T, s store.Store) {
	md := metadataOf(t, s)
	mbs := newAccount(t, s, "alice@example.com")
	const a = "alice@example.com"
	for _, n := range []string{"Work", "Work/Sub"} {
		if _, err := mbs.Create(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	mustSetMeta(t, md, a, "Work", "/private/comment", "work")
	mustSetMeta(t, md, a, "Work/Sub", "/shared/comment", "sub")
	mustSetMeta(t, md, a, "INBOX", "/private/comment", "inbox")

	// RENAME carries the entries of the mailbox and of its children.
	if err := mbs.Rename(ctx, "Work", "Job"); err != nil {
		t.Fatal(err)
	}
	if got := getMeta(t, md, a, "Job", "/private/comment"); got != `/private/comment="work"` {
		t.Errorf("renamed mailbox: %s", got)
	}
	if got := getMeta(t, md, a, "Job/Sub", "/shared/comment"); got != `/shared/comment="sub"` {
		t.Errorf("renamed child: %s", got)
	}
	// A new mailbox under the old name starts empty.
	if _, err := mbs.Create(ctx, "Work", ""); err != nil {
		t.Fatal(err)
	}
	if got := getMeta(t, md, a, "Work", "/private", "/shared"); got != "" {
		t.Errorf("new mailbox under the old name: %s", got)
	}

	// RENAME of INBOX moves the messages, not INBOX's entries.
	if err := mbs.Rename(ctx, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	if got := getMeta(t, md, a, "INBOX", "/private/comment"); got != `/private/comment="inbox"` {
		t.Errorf("INBOX after RENAME INBOX: %s", got)
	}
	if got := getMeta(t, md, a, "Old", "/private", "/shared"); got != "" {
		t.Errorf("RENAME INBOX's target got entries: %s", got)
	}

	// DELETE removes them: the name re-created is empty.
	if err := mbs.Delete(ctx, "Job/Sub"); err != nil {
		t.Fatal(err)
	}
	if _, err := md.GetMetadata(ctx, a, "Job/Sub", []string{"/shared"}); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("deleted mailbox: %v, want ErrNoSuchMailbox", err)
	}
	if _, err := mbs.Create(ctx, "Job/Sub", ""); err != nil {
		t.Fatal(err)
	}
	if got := getMeta(t, md, a, "Job/Sub", "/private", "/shared"); got != "" {
		t.Errorf("re-created mailbox: %s", got)
	}

	// An account deleted and made again has no server entries left.
	mustSetMeta(t, md, a, store.ServerMetadata, "/private/comment", "server")
	if err := s.DeleteAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	newAccount(t, s, a)
	if got := getMeta(t, md, a, store.ServerMetadata, "/private", "/shared"); got != "" {
		t.Errorf("re-created account: %s", got)
	}
	if got := getMeta(t, md, a, "INBOX", "/private", "/shared"); got != "" {
		t.Errorf("re-created account's INBOX: %s", got)
	}
}

func testMetadataFeed(t *testing.T, s store.Store) {
	md := metadataOf(t, s)
	mbs := newAccount(t, s, "alice@example.com")
	const a = "alice@example.com"
	inbox := info(t, openMailbox(t, mbs, "INBOX"))
	w := s.Watch(a)
	defer w.Close()
	mustSetMeta(t, md, a, "INBOX", "/private/comment", "x", "/shared/comment", nil)
	for _, entry := range []string{"/private/comment", "/shared/comment"} {
		c := WaitChange(t, w, "metadata of INBOX", func(c store.Change) bool {
			return c.Kind == store.MetadataChanged && c.Entry == entry
		})
		if c.MailboxID != inbox.ID || c.Mailbox != "INBOX" {
			t.Errorf("event for %s: %+v, want mailbox %d INBOX", entry, c, inbox.ID)
		}
	}
	mustSetMeta(t, md, a, store.ServerMetadata, "/private/comment", "srv")
	c := WaitChange(t, w, "server metadata", func(c store.Change) bool { return c.Kind == store.MetadataChanged })
	if c.MailboxID != 0 || c.Mailbox != "" || c.Entry != "/private/comment" {
		t.Errorf("server event: %+v", c)
	}
	// A refused write announces nothing.
	err := setMeta(t, md, a, "INBOX", store.MetadataLimits{MaxEntries: 1}, "/private/1", "a", "/private/2", "b")
	if !errors.Is(err, store.ErrMetadataTooMany) {
		t.Fatalf("refused write: %v", err)
	}
	mustSetMeta(t, md, a, "INBOX", "/private/after", "x")
	c = WaitChange(t, w, "metadata after the refused write", func(c store.Change) bool { return c.Kind == store.MetadataChanged })
	if c.Entry != "/private/after" {
		t.Errorf("next event after a refused write: %+v, want /private/after", c)
	}
}

// testMetadataLimitsConcurrent: writers racing to add entries never leave
// more than the bound (each checks the count its own write leaves, so the
// driver must serialise them; PostgreSQL across connections).
func testMetadataLimitsConcurrent(t *testing.T, s store.Store) {
	md := metadataOf(t, s)
	newAccount(t, s, "alice@example.com")
	const a = "alice@example.com"
	const bound, writers = 5, 12
	lim := store.MetadataLimits{MaxEntries: bound, MaxTotalSize: 1 << 20}
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			errs <- setMeta(t, md, a, "INBOX", lim, fmt.Sprintf("/private/w%d", i), "v")
		}()
	}
	ok := 0
	for i := 0; i < writers; i++ {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrMetadataTooMany):
		default:
			t.Errorf("writer: %v", err)
		}
	}
	es, err := md.GetMetadata(ctx, a, "INBOX", []string{"/private"})
	if err != nil {
		t.Fatal(err)
	}
	if ok != bound || len(es) != bound {
		t.Errorf("%d writers succeeded and %d entries are stored; want %d and %d", ok, len(es), bound, bound)
	}
}
