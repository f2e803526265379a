package storetest

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// jmapID is what both RFC 8474 objectids and JMAP ids (RFC 8620 §1.2)
// accept.
var jmapID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// detail is Details of one UID, failing the test when it is missing.
func detail(t testing.TB, mb store.Mailbox, uid store.UID) store.MessageDetail {
	t.Helper()
	ds, err := mb.Details(ctx, []store.UID{uid})
	if err != nil {
		t.Fatalf("Details(%d): %v", uid, err)
	}
	if len(ds) != 1 {
		t.Fatalf("Details(%d): %d rows", uid, len(ds))
	}
	return ds[0]
}

func threadMsg(id, inReplyTo, refs, body string) string {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nSubject: t\r\n")
	if id != "" {
		b.WriteString("Message-ID: " + id + "\r\n")
	}
	if inReplyTo != "" {
		b.WriteString("In-Reply-To: " + inReplyTo + "\r\n")
	}
	if refs != "" {
		b.WriteString("References: " + refs + "\r\n")
	}
	b.WriteString("\r\n" + body + "\r\n")
	return b.String()
}

// testObjectIDs: every delivered message gets its own email ID (even for
// the same content), threads follow Message-ID / In-Reply-To /
// References within one account, COPY, MOVE, expunge and RENAME of INBOX
// keep the IDs, and SAVEDATE is the time of saving into the mailbox.
func testObjectIDs(t *testing.T, s store.Store) {
	alice := newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	to := func(acc string) store.Target { return store.Target{Account: acc} }
	before := time.Now().Truncate(time.Second)
	if time.Until(before.Add(time.Second)) < 300*time.Millisecond {
		// Deliver the thread within one second (the order test below).
		time.Sleep(time.Until(before.Add(time.Second)))
		before = time.Now().Truncate(time.Second)
	}
	a := deliver(t, s, threadMsg("<a@x>", "", "", "root"), to("alice@example.com"))[0].UID
	b := deliver(t, s, threadMsg("<b@x>", "<a@x>", "", "reply"), to("alice@example.com"))[0].UID
	c := deliver(t, s, threadMsg("<c@x>", "", "<a@x> <b@x>", "reply to reply"), to("alice@example.com"))[0].UID
	d := deliver(t, s, threadMsg("<d@x>", "", "", "other"), to("alice@example.com"))[0].UID
	// A reply that arrives before its parent: the parent joins it.
	e := deliver(t, s, threadMsg("<e@x>", "<p@x>", "<p@x>", "early reply"), to("alice@example.com"))[0].UID
	p := deliver(t, s, threadMsg("<p@x>", "", "", "late parent"), to("alice@example.com"))[0].UID
	// The same content again (a new email, in the same thread), and a
	// message without any ID.
	a2 := deliver(t, s, threadMsg("<a@x>", "", "", "root"), to("alice@example.com"))[0].UID
	n := deliver(t, s, threadMsg("", "", "", "no id"), to("alice@example.com"))[0].UID
	// Bob's reply to a is in a thread of Bob's.
	bres := deliver(t, s, threadMsg("<b2@x>", "<a@x>", "", "bob's reply"), to("bob@example.com"))[0].UID
	after := time.Now()

	inbox := openMailbox(t, alice, "INBOX")
	got := map[store.UID]store.MessageDetail{}
	seenIDs := map[string]bool{}
	for _, u := range []store.UID{a, b, c, d, e, p, a2, n} {
		m := detail(t, inbox, u)
		got[u] = m
		if !jmapID.MatchString(m.EmailID) || !jmapID.MatchString(m.ThreadID) {
			t.Errorf("UID %d: EmailID %q, ThreadID %q are not valid object IDs", u, m.EmailID, m.ThreadID)
		}
		if seenIDs[m.EmailID] {
			t.Errorf("UID %d: EmailID %q given twice", u, m.EmailID)
		}
		seenIDs[m.EmailID] = true
		if m.SaveDate.Before(before) || m.SaveDate.After(after) {
			t.Errorf("UID %d: SaveDate %v, not between %v and %v", u, m.SaveDate, before, after)
		}
	}
	thread := func(u store.UID) string { return got[u].ThreadID }
	if thread(b) != thread(a) || thread(c) != thread(a) {
		t.Errorf("threads a, b, c: %q %q %q, want one", thread(a), thread(b), thread(c))
	}
	if thread(a2) != thread(a) {
		t.Errorf("second message with Message-ID <a@x> in thread %q, the first in %q", thread(a2), thread(a))
	}
	if thread(p) != thread(e) {
		t.Errorf("late parent in thread %q, its earlier reply in %q", thread(p), thread(e))
	}
	distinct := []string{thread(a), thread(d), thread(e), thread(n)}
	if len(slices.Compact(slices.Sorted(slices.Values(distinct)))) != len(distinct) {
		t.Errorf("unrelated messages share threads: %q", distinct)
	}
	bobInbox := openMailbox(t, mbsOf(t, s, "bob@example.com"), "INBOX")
	bm := detail(t, bobInbox, bres)
	if bm.ThreadID == thread(a) || seenIDs[bm.EmailID] {
		t.Errorf("Bob's message shares Alice's thread or email ID: %q %q", bm.EmailID, bm.ThreadID)
	}

	// COPY and MOVE keep the email and thread IDs; the copy is saved now.
	if _, err := alice.Create(ctx, "Box", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	res, err := inbox.CopyTo(ctx, []store.UID{a}, "Box")
	if err != nil {
		t.Fatal(err)
	}
	box := openMailbox(t, alice, "Box")
	cp := detail(t, box, res.DestUIDs[0])
	if cp.EmailID != got[a].EmailID || cp.ThreadID != got[a].ThreadID {
		t.Errorf("copy: IDs %q %q, want %q %q", cp.EmailID, cp.ThreadID, got[a].EmailID, got[a].ThreadID)
	}
	if !cp.SaveDate.After(got[a].SaveDate) {
		t.Errorf("copy saved %v, not after the original (%v)", cp.SaveDate, got[a].SaveDate)
	}
	pin := inbox.Pin()
	defer pin.Release()
	res, err = inbox.MoveTo(ctx, []store.UID{b}, "Box")
	if err != nil {
		t.Fatal(err)
	}
	mv := detail(t, box, res.DestUIDs[0])
	if mv.EmailID != got[b].EmailID || mv.ThreadID != got[b].ThreadID {
		t.Errorf("move: IDs %q %q, want %q %q", mv.EmailID, mv.ThreadID, got[b].EmailID, got[b].ThreadID)
	}
	// The moved-away row, still pinned, keeps its identity.
	if kept := detail(t, inbox, b); kept.EmailID != got[b].EmailID || !kept.SaveDate.Equal(got[b].SaveDate) {
		t.Errorf("expunged row: %q saved %v, want %q saved %v", kept.EmailID, kept.SaveDate, got[b].EmailID, got[b].SaveDate)
	}

	// The object lookups, when the driver has them.
	if ol, ok := s.(store.ObjectLookup); ok {
		found, err := ol.FindEmails(ctx, "alice@example.com", []string{got[a].EmailID, got[b].EmailID, got[d].EmailID, bm.EmailID, "M0000000000000000", "bogus"})
		if err != nil {
			t.Fatal(err)
		}
		boxInfo := info(t, box)
		inboxInfo := info(t, inbox)
		want := map[string][]store.EmailLocation{
			got[a].EmailID: {
				{MailboxID: inboxInfo.ID, Mailbox: "INBOX", UIDValidity: inboxInfo.UIDValidity, UID: a},
				{MailboxID: boxInfo.ID, Mailbox: "Box", UIDValidity: boxInfo.UIDValidity, UID: cp.UID},
			},
			got[b].EmailID: {{MailboxID: boxInfo.ID, Mailbox: "Box", UIDValidity: boxInfo.UIDValidity, UID: mv.UID}},
			got[d].EmailID: {{MailboxID: inboxInfo.ID, Mailbox: "INBOX", UIDValidity: inboxInfo.UIDValidity, UID: d}},
		}
		if inboxInfo.ID > boxInfo.ID {
			slices.Reverse(want[got[a].EmailID])
		}
		if len(found) != len(want) {
			t.Errorf("FindEmails: %v, want %v", found, want)
		}
		for id, w := range want {
			if !slices.Equal(found[id], w) {
				t.Errorf("FindEmails %s: %+v, want %+v", id, found[id], w)
			}
		}
		ids, err := ol.ThreadEmails(ctx, "alice@example.com", thread(a))
		if err != nil {
			t.Fatal(err)
		}
		// Delivered in the same second: the order among them is by ID.
		w := []string{got[a].EmailID, got[b].EmailID, got[c].EmailID, got[a2].EmailID}
		slices.Sort(w)
		if !slices.Equal(ids, w) {
			t.Errorf("ThreadEmails: %q, want %q", ids, w)
		}
		if ids, err := ol.ThreadEmails(ctx, "bob@example.com", thread(a)); err != nil || len(ids) != 0 {
			t.Errorf("ThreadEmails of Alice's thread for Bob: %q, %v", ids, err)
		}
		if ids, err := ol.ThreadEmails(ctx, "alice@example.com", "nonsense"); err != nil || len(ids) != 0 {
			t.Errorf("ThreadEmails(nonsense): %q, %v", ids, err)
		}
		if _, err := ol.FindEmails(ctx, "nobody@example.com", []string{got[a].EmailID}); err == nil {
			t.Error("FindEmails for an unknown account: no error")
		}
	}

	// A batch append gets IDs too.
	if ba, ok := s.(store.BatchAppender); ok {
		br, err := ba.AppendBatch(ctx, "alice@example.com", "Box", []store.BatchMessage{
			{Body: strings.NewReader(threadMsg("<f@x>", "<d@x>", "", "batch 1"))},
			{Body: strings.NewReader(threadMsg("<g@x>", "", "", "batch 2"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		f, g := detail(t, box, br.UIDs[0]), detail(t, box, br.UIDs[1])
		if f.ThreadID != thread(d) || g.ThreadID == thread(d) || f.EmailID == g.EmailID || seenIDs[f.EmailID] {
			t.Errorf("batch: %q %q, %q %q", f.EmailID, f.ThreadID, g.EmailID, g.ThreadID)
		}
	}
}

func mbsOf(t testing.TB, s store.Store, account string) store.Mailboxes {
	t.Helper()
	mbs, err := s.Mailboxes(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	return mbs
}

// testMailboxObjectIDs: MAILBOXID (RFC 8474 §4) is unique, survives
// RENAME, and renaming INBOX makes a new mailbox while INBOX keeps its ID
// and the moved messages keep theirs.
func testMailboxObjectIDs(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	one, err := mbs.Create(ctx, "One", "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := mbs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mi := range list {
		id := mi.ObjectID()
		if !jmapID.MatchString(id) || seen[id] {
			t.Errorf("%s: MAILBOXID %q invalid or repeated", mi.Name, id)
		}
		seen[id] = true
		if n, ok := store.ParseMailboxObjectID(id); !ok || n != mi.ID {
			t.Errorf("ParseMailboxObjectID(%q) = %d, %v", id, n, ok)
		}
	}
	if err := mbs.Rename(ctx, "One", "Two"); err != nil {
		t.Fatal(err)
	}
	two, err := mbs.Get(ctx, "Two")
	if err != nil {
		t.Fatal(err)
	}
	if two.ObjectID() != one.ObjectID() {
		t.Errorf("RENAME changed the MAILBOXID from %q to %q", one.ObjectID(), two.ObjectID())
	}
	// A mailbox made again under a deleted one's name is a new mailbox.
	if err := mbs.Delete(ctx, "Two"); err != nil {
		t.Fatal(err)
	}
	again, err := mbs.Create(ctx, "Two", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.ObjectID() == two.ObjectID() {
		t.Errorf("re-created mailbox got the deleted one's MAILBOXID %q", again.ObjectID())
	}

	uid := deliver(t, s, threadMsg("<a@x>", "", "", "x"), store.Target{Account: "alice@example.com"})[0].UID
	inbox := openMailbox(t, mbs, "INBOX")
	before := detail(t, inbox, uid)
	inboxID := info(t, inbox).ObjectID()
	if err := mbs.Rename(ctx, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old := openMailbox(t, mbs, "Old")
	if info(t, inbox).ObjectID() != inboxID || info(t, old).ObjectID() == inboxID {
		t.Errorf("after RENAME INBOX: INBOX %q (was %q), new mailbox %q", info(t, inbox).ObjectID(), inboxID, info(t, old).ObjectID())
	}
	if after := detail(t, old, uid); after.EmailID != before.EmailID || after.ThreadID != before.ThreadID || !after.SaveDate.Equal(before.SaveDate) {
		t.Errorf("RENAME INBOX: message %q %q %v, was %q %q %v", after.EmailID, after.ThreadID, after.SaveDate, before.EmailID, before.ThreadID, before.SaveDate)
	}
	for _, bad := range []string{"", "F", "F0", "F01", "M1", "Fx", "F-1", "F99999999999999999999"} {
		if _, ok := store.ParseMailboxObjectID(bad); ok {
			t.Errorf("ParseMailboxObjectID(%q) accepted", bad)
		}
	}
}

// testPreviews: the preview is computed at delivery and stored with the
// content (store.PreviewReader).
func testPreviews(t *testing.T, s store.Store) {
	pr, ok := s.(store.PreviewReader)
	if !ok {
		t.Skip("no PreviewReader")
	}
	mbs := newAccount(t, s, "alice@example.com")
	body := "Subject: p\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello,\r\n\r\n  the caf=C3=A9   is open.\r\n"
	uid := deliver(t, s, body, store.Target{Account: "alice@example.com"})[0].UID
	m := detail(t, openMailbox(t, mbs, "INBOX"), uid)
	got, err := pr.Previews(ctx, []string{m.BlobID, m.BlobID, "0000000000000000000000000000000000000000000000000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[m.BlobID] != "Hello, the café is open." {
		t.Errorf("Previews: %q", got)
	}
}
