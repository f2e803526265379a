package mailclient

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// maildirFiles lists "new/NAME" and "cur/NAME" entries with the unique
// part of each name replaced by its message's Subject, so tests can say
// which message sits where with which flags.
func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "\r\n") {
				t.Errorf("%s/%s has CRLF line ends", sub, e.Name())
			}
			_, size, _ := strings.Cut(strings.Split(e.Name(), ":")[0], ",S=")
			if size != itoa(store.UID(len(data))) {
				t.Errorf("%s: S=%s but %d bytes", e.Name(), size, len(data))
			}
			subject := "?"
			for _, line := range strings.Split(string(data), "\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok {
					subject = s
					break
				}
			}
			_, info, _ := strings.Cut(e.Name(), ":")
			name := sub + "/" + subject
			if info != "" {
				name += ":" + info
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func syncOnce(t *testing.T, c Client, mailbox, dir string) SyncReport {
	t.Helper()
	rep, err := c.Sync(ctx, mailbox, dir)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

func TestIMAPSync(t *testing.T) {
	s := startServers(t)
	s.deliver("INBOX", testMessage("bob@example.com", "one", "1"))
	u2 := s.deliver("INBOX", testMessage("bob@example.com", "two", "2"), `\Seen`, `\Answered`)
	c := s.dial(IMAP, Plaintext)
	dir := filepath.Join(t.TempDir(), "Mail")

	step := func(name string, want SyncReport, files ...string) {
		t.Helper()
		if rep := syncOnce(t, c, "INBOX", dir); rep != want {
			t.Fatalf("%s: report %+v, want %+v", name, rep, want)
		}
		if got := maildirFiles(t, dir); !reflect.DeepEqual(got, files) {
			t.Fatalf("%s: maildir holds\n  %q\nwant\n  %q", name, got, files)
		}
	}
	step("first sync", SyncReport{Fetched: 2}, "cur/two:2,RS", "new/one")
	for _, sub := range []string{"tmp", "new", "cur"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Fatalf("%s/: %v", sub, err)
		}
	}
	step("second sync", SyncReport{Kept: 2}, "cur/two:2,RS", "new/one")

	s.deliver("INBOX", testMessage("bob@example.com", "three", "3"))
	step("new message", SyncReport{Fetched: 1, Kept: 2}, "cur/two:2,RS", "new/one", "new/three")

	mb := s.mailbox("INBOX")
	msgs := s.messages("INBOX")
	if _, err := mb.StoreFlags(ctx, []store.UID{msgs[0].UID}, store.FlagsAdd, []string{`\Flagged`, `\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.StoreFlags(ctx, []store.UID{u2}, store.FlagsRemove, []string{`\Seen`, `\Answered`}, 0); err != nil {
		t.Fatal(err)
	}
	step("flags changed on the server", SyncReport{Updated: 2, Kept: 1}, "cur/one:2,FS", "cur/two:2,", "new/three")

	if _, err := mb.Expunge(ctx, []store.UID{u2}); err != nil {
		t.Fatal(err)
	}
	step("expunged on the server", SyncReport{Removed: 1, Kept: 2}, "cur/one:2,FS", "new/three")

	// The sync did not mark anything \Seen (BODY.PEEK).
	if got := s.messages("INBOX")[1].Flags; len(got) != 0 {
		t.Fatalf("sync changed flags on the server: %q", got)
	}

	// A reader deleted a local copy: two-way, the server expunges it.
	entries, _ := os.ReadDir(filepath.Join(dir, "new"))
	os.Remove(filepath.Join(dir, "new", entries[0].Name()))
	step("deleted locally", SyncReport{DeletedUp: 1, Kept: 1}, "cur/one:2,FS")
	if got := s.messages("INBOX"); len(got) != 1 {
		t.Fatalf("after a local deletion the server holds %d messages", len(got))
	}

	if _, err := c.Sync(ctx, "Archive", dir); err == nil || !strings.Contains(err.Error(), "another directory") {
		t.Fatalf("syncing another mailbox into the same Maildir: %v", err)
	}
}

func TestIMAPSyncUIDValidityChange(t *testing.T) {
	s := startServers(t)
	mbs, err := s.st.Mailboxes(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mbs.Create(ctx, "Lists", ""); err != nil {
		t.Fatal(err)
	}
	old := testMessage("list@example.com", "old", "1")
	gone := testMessage("list@example.com", "gone", "0")
	s.deliver("Lists", old)
	s.deliver("Lists", gone)
	c := s.dial(IMAP, Plaintext)
	dir := t.TempDir()
	if rep := syncOnce(t, c, "Lists", dir); rep.Fetched != 2 {
		t.Fatalf("first sync %+v", rep)
	}
	before, _ := mbs.Get(ctx, "Lists")
	if err := mbs.Delete(ctx, "Lists"); err != nil {
		t.Fatal(err)
	}
	if _, err := mbs.Create(ctx, "Lists", ""); err != nil {
		t.Fatal(err)
	}
	after, _ := mbs.Get(ctx, "Lists")
	if before.UIDValidity == after.UIDValidity {
		t.Fatalf("recreating the mailbox kept UIDVALIDITY %d", after.UIDValidity)
	}
	s.deliver("Lists", testMessage("list@example.com", "new a", "2"))
	s.deliver("Lists", old) // the same message again, under a new UID
	s.deliver("Lists", testMessage("list@example.com", "new b", "3"))
	// The server may end a session whose selected mailbox was deleted
	// (RFC 3501 §7.1.5 BYE); the CLI dials afresh each run anyway.
	rep := syncOnce(t, s.dial(IMAP, Plaintext), "Lists", dir)
	// The copy of "old" is matched by size and header hash (its EMAILID
	// is new) and kept; "gone" is not on the server any more: removed.
	if rep != (SyncReport{Fetched: 2, Kept: 1, Removed: 1, Reset: true}) {
		t.Fatalf("sync after UIDVALIDITY change: %+v", rep)
	}
	if got := maildirFiles(t, dir); !reflect.DeepEqual(got, []string{"new/new a", "new/new b", "new/old"}) {
		t.Fatalf("maildir holds %q", got)
	}
}

func TestPOP3Sync(t *testing.T) {
	s := startServers(t)
	s.deliver("INBOX", testMessage("bob@example.com", "one", "1"))
	s.deliver("INBOX", testMessage("bob@example.com", "two", "2"), `\Seen`)
	dir := t.TempDir()
	sync := func(want SyncReport, files ...string) {
		t.Helper()
		c := s.dial(POP3, Plaintext)
		if rep := syncOnce(t, c, "", dir); rep != want {
			t.Fatalf("report %+v, want %+v", rep, want)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := maildirFiles(t, dir); !reflect.DeepEqual(got, files) {
			t.Fatalf("maildir holds %q, want %q", got, files)
		}
	}
	sync(SyncReport{Fetched: 2}, "new/one", "new/two")
	sync(SyncReport{Kept: 2}, "new/one", "new/two")
	s.deliver("INBOX", testMessage("bob@example.com", "three", "3"))
	sync(SyncReport{Fetched: 1, Kept: 2}, "new/one", "new/three", "new/two")
	// Deleted on the server: the local copy stays, the UIDL is forgotten.
	if _, err := s.mailbox("INBOX").Expunge(ctx, []store.UID{s.messages("INBOX")[0].UID}); err != nil {
		t.Fatal(err)
	}
	sync(SyncReport{Kept: 2}, "new/one", "new/three", "new/two")

	c := s.dial(POP3, Plaintext)
	if _, err := c.Sync(ctx, "Archive", dir); err == nil {
		t.Fatal("POP3 sync of a mailbox other than INBOX succeeded")
	}
	c.Close()
	c2 := s.dial(IMAP, Plaintext)
	if _, err := c2.Sync(ctx, "INBOX", dir); err == nil || !strings.Contains(err.Error(), "another directory") {
		t.Fatalf("IMAP sync into a POP3 Maildir: %v", err)
	}
}
