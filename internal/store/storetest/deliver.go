package storetest

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

func testDeliverReadBack(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	inbox := openMailbox(t, mbs, "INBOX")
	cases := []struct {
		name, in, want string
	}{
		{"crlf", "Subject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n"},
		{"bare lf", "Subject: b\n\nline 1\nline 2\n", "Subject: b\r\n\r\nline 1\r\nline 2\r\n"},
		{"mixed", "Subject: c\r\nX: y\n\r\nbody\n.\r\n", "Subject: c\r\nX: y\r\n\r\nbody\r\n.\r\n"},
		{"no final newline", "Subject: d\n\nend", "Subject: d\r\n\r\nend"},
		{"8bit and NUL", "Subject: \xe9t\xe9\n\n\x00\xff\n", "Subject: \xe9t\xe9\r\n\r\n\x00\xff\r\n"},
		{"empty", "", ""},
		{"large", strings.Repeat("0123456789abcdef\n", 40000), strings.Repeat("0123456789abcdef\r\n", 40000)},
	}
	for i, c := range cases {
		res := deliver(t, s, c.in, store.Target{Account: "alice@example.com"})
		if res[0].UID != store.UID(i+1) {
			t.Errorf("%s: UID %d, want %d", c.name, res[0].UID, i+1)
		}
		if mi := info(t, inbox); res[0].UIDValidity != mi.UIDValidity {
			t.Errorf("%s: UIDVALIDITY %d, mailbox has %d", c.name, res[0].UIDValidity, mi.UIDValidity)
		}
	}
	msgs := messages(t, inbox)
	if len(msgs) != len(cases) {
		t.Fatalf("%d messages, want %d", len(msgs), len(cases))
	}
	for i, c := range cases {
		m := msgs[i]
		got := readBlob(t, s, m.BlobID)
		if string(got) != c.want {
			t.Errorf("%s: read back %q, want %q", c.name, trunc(got), trunc([]byte(c.want)))
		}
		if m.Size != int64(len(c.want)) {
			t.Errorf("%s: Size %d, want %d", c.name, m.Size, len(c.want))
		}
		// ReaderAt works too.
		if len(c.want) > 3 {
			b, err := s.OpenBlob(ctx, m.BlobID)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 3)
			if _, err := b.ReadAt(buf, 1); err != nil && err != io.EOF || string(buf) != c.want[1:4] {
				t.Errorf("%s: ReadAt = %q, %v", c.name, buf, err)
			}
			b.Close()
		}
	}
	if _, err := s.OpenBlob(ctx, "0000000000000000000000000000000000000000000000000000000000000000"); err == nil {
		t.Error("OpenBlob of an unknown id succeeded")
	}
	if _, err := s.OpenBlob(ctx, "../../etc/passwd"); err == nil {
		t.Error("OpenBlob of a path succeeded")
	}
}

func trunc(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

func testDeliverDedupe(t *testing.T, s store.Store) {
	a := newAccount(t, s, "alice@example.com")
	b := newAccount(t, s, "bob@example.com")
	res := deliver(t, s, msg(1), store.Target{Account: "alice@example.com"}, store.Target{Account: "bob@example.com"},
		store.Target{Account: "alice@example.com", Mailbox: "Archive"})
	deliver(t, s, strings.ReplaceAll(msg(1), "\r\n", "\n"), store.Target{Account: "alice@example.com"})
	deliver(t, s, msg(2), store.Target{Account: "alice@example.com"})
	if res[0].UID != 1 || res[1].UID != 1 || res[2].UID != 1 {
		t.Errorf("UIDs %+v", res)
	}
	am := messages(t, openMailbox(t, a, "INBOX"))
	bm := messages(t, openMailbox(t, b, "INBOX"))
	arch := messages(t, openMailbox(t, a, "Archive"))
	if len(am) != 3 || len(bm) != 1 || len(arch) != 1 {
		t.Fatalf("counts %d %d %d", len(am), len(bm), len(arch))
	}
	if am[0].BlobID != bm[0].BlobID || am[0].BlobID != arch[0].BlobID || am[0].BlobID != am[1].BlobID {
		t.Errorf("one content, several blobs: %s %s %s %s", am[0].BlobID, bm[0].BlobID, arch[0].BlobID, am[1].BlobID)
	}
	if am[2].BlobID == am[0].BlobID {
		t.Errorf("different contents share blob %s", am[0].BlobID)
	}
	// Expunging some copies keeps the body readable for the others.
	inbox := openMailbox(t, a, "INBOX")
	if _, err := inbox.Expunge(ctx, []store.UID{1, 2}); err != nil {
		t.Fatal(err)
	}
	if string(readBlob(t, s, bm[0].BlobID)) != msg(1) {
		t.Error("shared body lost after expunging some copies")
	}
	// And delivering it again after every copy is gone works.
	if _, err := openMailbox(t, b, "INBOX").Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := openMailbox(t, a, "Archive").Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	res = deliver(t, s, msg(1), store.Target{Account: "bob@example.com"})
	bm = messages(t, openMailbox(t, b, "INBOX"))
	if len(bm) != 1 || string(readBlob(t, s, bm[0].BlobID)) != msg(1) {
		t.Errorf("re-delivery after all copies expunged: %+v", bm)
	}
}

func testDeliverPerTargetErrors(t *testing.T, s store.Store) {
	newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	targets := []store.Target{
		{Account: "alice@example.com"},
		{Account: "nobody@example.com"},
		{Account: "bob@example.com", Mailbox: "No Such Box"},
		{Account: "bob@example.com", Mailbox: "a//b"},
		{Account: "BOB@example.com", Mailbox: "inbox"},
	}
	res, err := s.Deliver(ctx, strings.NewReader(msg(1)), targets)
	if err != nil {
		t.Fatal(err)
	}
	wantErr := []error{nil, store.ErrNoSuchAccount, store.ErrNoSuchMailbox, store.ErrInvalidName, nil}
	for i, w := range wantErr {
		if w == nil && res[i].Err != nil || w != nil && !errors.Is(res[i].Err, w) {
			t.Errorf("target %d: err %v, want %v", i, res[i].Err, w)
		}
	}
	if res[0].UID != 1 || res[4].UID != 1 {
		t.Errorf("successful targets: %+v %+v", res[0], res[4])
	}
	// All targets failing is not an overall error either.
	res, err = s.Deliver(ctx, strings.NewReader(msg(2)), []store.Target{{Account: "nobody@example.com"}})
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, store.ErrNoSuchAccount) {
		t.Errorf("only failing target: %+v, %v", res, err)
	}
	if _, err := s.Deliver(ctx, strings.NewReader(msg(3)), nil); err == nil {
		t.Error("Deliver without targets succeeded")
	}
	// A failing body reader fails the delivery and stores nothing.
	_, err = s.Deliver(ctx, io.MultiReader(strings.NewReader("Subject: x\r\n"), errReader{}), []store.Target{{Account: "alice@example.com"}})
	if err == nil {
		t.Error("Deliver with a failing reader succeeded")
	}
	mbs, _ := s.Mailboxes(ctx, "alice@example.com")
	if n := len(messages(t, openMailbox(t, mbs, "INBOX"))); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func testDeliverKeepsDateAndFlags(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	date := time.Date(2020, 2, 29, 13, 14, 15, 0, time.FixedZone("", -5*3600-30*60))
	before := time.Now().Add(-time.Second)
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com", Mailbox: "Drafts", InternalDate: date,
		Flags: []string{`\draft`, "$Label1", `\SEEN`, `\Recent`, "$Label1"}})
	deliver(t, s, msg(2), store.Target{Account: "alice@example.com", Mailbox: "Drafts"})
	msgs := messages(t, openMailbox(t, mbs, "Drafts"))
	if !msgs[0].InternalDate.Equal(date) {
		t.Errorf("InternalDate %v, want %v", msgs[0].InternalDate, date)
	}
	if _, off := msgs[0].InternalDate.Zone(); off != -5*3600-30*60 {
		t.Errorf("InternalDate zone offset %d, want %d", off, -5*3600-30*60)
	}
	if d := msgs[1].InternalDate; d.Before(before.Truncate(time.Second)) || d.After(time.Now().Add(time.Second)) {
		t.Errorf("default InternalDate %v is not the delivery time", d)
	}
	if want := []string{"$Label1", `\Draft`, `\Seen`}; !equalFlags(msgs[0].Flags, want) {
		t.Errorf("Flags %q, want %q", msgs[0].Flags, want)
	}
	if len(msgs[1].Flags) != 0 {
		t.Errorf("Flags %q, want none", msgs[1].Flags)
	}
}

func testDetails(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for i := 1; i <= 4; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	inbox := openMailbox(t, mbs, "INBOX")
	d, err := inbox.Details(ctx, []store.UID{4, 2, 99, 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || d[0].UID != 2 || d[1].UID != 4 {
		t.Fatalf("Details = %+v", d)
	}
	for _, m := range d {
		if len(m.Structure) == 0 {
			t.Errorf("UID %d: no stored structure", m.UID)
		}
		if m.Size != int64(len(msg(int(m.UID)))) || m.BlobID == "" {
			t.Errorf("UID %d: %+v", m.UID, m.Message)
		}
	}
	if d, err := inbox.Details(ctx, nil); err != nil || len(d) != 0 {
		t.Errorf("Details(nil) = %+v, %v", d, err)
	}
}

func testStatus(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com", Flags: []string{store.FlagSeen}})
	deliver(t, s, msg(2), store.Target{Account: "alice@example.com", Flags: []string{store.FlagDeleted}})
	deliver(t, s, msg(3), store.Target{Account: "alice@example.com"})
	st, err := mbs.Status(ctx, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(msg(1)) + len(msg(2)) + len(msg(3)))
	if st.Messages != 3 || st.Unseen != 2 || st.Deleted != 1 || st.Recent != 3 || st.Size != size || st.UIDNext != 4 {
		t.Errorf("Status = %+v", st)
	}
	inbox := openMailbox(t, mbs, "INBOX")
	if _, err := inbox.ClaimRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := mbs.Status(ctx, "INBOX"); st.Recent != 0 {
		t.Errorf("Recent %d after ClaimRecent", st.Recent)
	}
	if _, err := mbs.Status(ctx, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Status(unknown) = %v", err)
	}
}
