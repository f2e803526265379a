package mailimport

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/maildir"
	"github.com/letterbox/letterbox/internal/mbox"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

var ctx = context.Background()

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateAccount(ctx, "a@example.com", "{x}"); err != nil {
		t.Fatal(err)
	}
	return st
}

// writeTree writes a Maildir tree with n INBOX messages, UIDs 10, 12, ...
func writeTree(t *testing.T, n int) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "md")
	w, err := maildir.Create(root)
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.Folder("INBOX", 4242, uint32(10+2*n+5))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := f.Add(uint32(10+2*i), []string{`\Seen`}, time.Unix(1.6e9, 0), strings.NewReader("Subject: m\r\n\r\nbody "+strings.Repeat("x", i)+"\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return root
}

func run(t *testing.T, st store.Store, src Source, batch int) (Report, string) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Run(ctx, src, Options{Store: st, Account: "a@example.com", Batch: batch, Progress: NewProgress(&out, false)})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return rep, out.String()
}

func inbox(t *testing.T, st store.Store) (store.MailboxInfo, []store.Message) {
	t.Helper()
	mbs, _ := st.Mailboxes(ctx, "a@example.com")
	mb, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	mi, _ := mb.Info(ctx)
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return mi, msgs
}

// TestMaildirKeepsUIDsAndResumes: UIDVALIDITY, UIDs and UIDNEXT come from
// dovecot-uidlist across several batches; a second run imports nothing.
func TestMaildirKeepsUIDsAndResumes(t *testing.T) {
	st := openStore(t)
	root := writeTree(t, 7)
	src, err := OpenMaildir(root)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := run(t, st, src, 3)
	if rep.Messages != 7 || !rep.Mailboxes[0].KeptUIDs {
		t.Fatalf("report %+v", rep)
	}
	mi, msgs := inbox(t, st)
	if mi.UIDValidity != 4242 || mi.UIDNext != 10+2*7+5 || len(msgs) != 7 || msgs[0].UID != 10 || msgs[6].UID != 22 {
		t.Fatalf("INBOX %+v, UIDs %v", mi, msgs)
	}
	if msgs[3].Flags[0] != `\Seen` || !msgs[3].InternalDate.Equal(time.Unix(1.6e9, 0)) {
		t.Fatalf("message %+v", msgs[3])
	}
	src, _ = OpenMaildir(root)
	rep, out := run(t, st, src, 3)
	if rep.Messages != 0 || !strings.Contains(out, "nothing new") {
		t.Fatalf("second run imported %d:\n%s", rep.Messages, out)
	}
}

// TestNonEmptyTargetGetsNewUIDs: a mailbox that held mail keeps its
// UIDVALIDITY; the import appends with new UIDs and says so.
func TestNonEmptyTargetGetsNewUIDs(t *testing.T) {
	st := openStore(t)
	if _, err := st.Deliver(ctx, strings.NewReader("Subject: there\r\n\r\nbefore\r\n"), []store.Target{{Account: "a@example.com"}}); err != nil {
		t.Fatal(err)
	}
	before, _ := inbox(t, st)
	src, err := OpenMaildir(writeTree(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	rep, out := run(t, st, src, 10)
	if rep.Mailboxes[0].KeptUIDs || !strings.Contains(out, "get new UIDs") {
		t.Fatalf("report %+v\n%s", rep, out)
	}
	mi, msgs := inbox(t, st)
	if mi.UIDValidity != before.UIDValidity || len(msgs) != 3 || msgs[1].UID != 2 || msgs[2].UID != 3 {
		t.Fatalf("INBOX %+v %v", mi, msgs)
	}
	// Resumable without UIDs: the state remembers the source UIDs done.
	src, _ = OpenMaildir(src.(*maildirSource).tree.Root)
	if rep, _ := run(t, st, src, 10); rep.Messages != 0 {
		t.Fatalf("second run imported %d", rep.Messages)
	}
}

// TestMboxGrows: an mbox imported, then grown at the end, imports only
// the new message the second time; flags come from Status/X-Status.
func TestMboxGrows(t *testing.T) {
	st := openStore(t)
	path := filepath.Join(t.TempDir(), "in.mbox")
	write := func(n int) {
		var b bytes.Buffer
		w := mbox.NewWriter(&b)
		for i := 0; i < n; i++ {
			w.Write(time.Unix(1.5e9+int64(i), 0), []string{`\Flagged`}, []byte("Subject: s\r\n\r\nFrom me\r\n"))
		}
		w.Flush()
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(2)
	src, err := OpenMbox(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep, _ := run(t, st, src, 10); rep.Messages != 2 {
		t.Fatalf("first run: %d", rep.Messages)
	}
	write(3)
	src, _ = OpenMbox(path, "")
	if rep, _ := run(t, st, src, 10); rep.Messages != 1 {
		t.Fatalf("second run: %d, want 1", rep.Messages)
	}
	_, msgs := inbox(t, st)
	if len(msgs) != 3 || msgs[2].Flags[0] != `\Flagged` || !msgs[2].InternalDate.Equal(time.Unix(1.5e9+2, 0)) {
		t.Fatalf("messages %+v", msgs)
	}
	b, err := st.OpenBlob(ctx, msgs[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	body := make([]byte, b.Size())
	b.ReadAt(body, 0)
	if string(body) != "Subject: s\r\n\r\nFrom me\r\n" {
		t.Fatalf("body %q", body)
	}
}

func TestUnknownAccount(t *testing.T) {
	st := openStore(t)
	src, _ := OpenMaildir(writeTree(t, 1))
	_, err := Run(ctx, src, Options{Store: st, Account: "nobody@example.com"})
	if err == nil || !strings.Contains(err.Error(), "letterbox user add") {
		t.Fatalf("Run for a missing account = %v", err)
	}
}

// TestTooLargeLeftOut: a message over the store's size limit is left out
// and named; the rest of its batch is imported with the source's UIDs.
func TestTooLargeLeftOut(t *testing.T) {
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir(), MaxMessageSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateAccount(ctx, "a@example.com", "{x}"); err != nil {
		t.Fatal(err)
	}
	src, err := OpenMaildir(writeTree(t, 30)) // bodies grow by one octet each
	if err != nil {
		t.Fatal(err)
	}
	rep, out := run(t, st, src, 7)
	mr := rep.Mailboxes[0]
	if mr.Imported+mr.TooLarge != 30 || mr.TooLarge == 0 || mr.Imported == 0 {
		t.Fatalf("report %+v\n%s", mr, out)
	}
	if !strings.Contains(out, "larger than the message size limit") || !strings.Contains(out, "over the message size limit, not imported") {
		t.Fatalf("output does not name the left-out messages:\n%s", out)
	}
	_, msgs := inbox(t, st)
	if len(msgs) != mr.Imported || msgs[0].UID != 10 || msgs[len(msgs)-1].UID != store.UID(10+2*(mr.Imported-1)) {
		t.Fatalf("UIDs %v", msgs)
	}
}
