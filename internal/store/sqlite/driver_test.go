package sqlite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateAccount(context.Background(), "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	return s
}

func inbox(t testing.TB, s *Store) store.Mailbox {
	t.Helper()
	ctx := context.Background()
	mbs, err := s.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

var alice = []store.Target{{Account: "alice@example.com"}}

func TestMaxMessageSize(t *testing.T) {
	s := openTest(t, Options{MaxMessageSize: 100})
	ctx := context.Background()
	// 99 bytes of LF-only input become 99+n bytes with CRLF: the limit
	// applies to what is stored.
	body := strings.Repeat("x\n", 45) // 90 in, 135 stored
	if _, err := s.Deliver(ctx, strings.NewReader(body), alice); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Deliver over the limit = %v, want ErrTooLarge", err)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	if res, err := s.Deliver(ctx, strings.NewReader(strings.Repeat("x", 100)), alice); err != nil || res[0].Err != nil {
		t.Fatalf("Deliver at the limit = %+v, %v", res, err)
	}
	if msgs, _ := inbox(t, s).Messages(ctx); len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
}

func TestCRLFNormalisation(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\nb", "a\r\nb"},
		{"a\r\nb", "a\r\nb"},
		{"a\rb", "a\rb"},         // bare CR is kept
		{"a\r\r\nb", "a\r\r\nb"}, // CR then CRLF
		{"\n\n", "\r\n\r\n"},
		{"a\r", "a\r"},
	}
	for _, c := range cases {
		// Feed one byte at a time so CR/LF pairs straddle writes.
		var out bytes.Buffer
		s := openTest(t, Options{})
		res, err := s.Deliver(context.Background(), io.MultiReader(oneByteReaders(c.in)...), alice)
		if err != nil || res[0].Err != nil {
			t.Fatal(err)
		}
		msgs, _ := inbox(t, s).Messages(context.Background())
		b, err := s.OpenBlob(context.Background(), msgs[0].BlobID)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&out, b)
		b.Close()
		if out.String() != c.want {
			t.Errorf("%q stored as %q, want %q", c.in, out.String(), c.want)
		}
	}
}

// tempFiles lists the temp blobs in blobs/tmp (not the spool owner file).
func tempFiles(t testing.TB, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.tmpDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !blobfs.IsOwnerFile(e.Name(), "") {
			out = append(out, e.Name())
		}
	}
	return out
}

func oneByteReaders(s string) []io.Reader {
	var rs []io.Reader
	for i := 0; i < len(s); i++ {
		rs = append(rs, strings.NewReader(s[i:i+1]))
	}
	return rs
}

func TestStructureStoredAtDelivery(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	body := "From: Bob <bob@example.com>\nSubject: =?utf-8?q?caf=C3=A9?=\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nhello\n--XX--\n"
	if _, err := s.Deliver(ctx, strings.NewReader(body), alice); err != nil {
		t.Fatal(err)
	}
	d, err := inbox(t, s).Details(ctx, []store.UID{1})
	if err != nil || len(d) != 1 {
		t.Fatalf("Details = %+v, %v", d, err)
	}
	p, err := mime.Decode(d[0].Structure)
	if err != nil {
		t.Fatal(err)
	}
	if p.Envelope == nil || p.Envelope.Subject != "=?utf-8?q?caf=C3=A9?=" || p.Type != "multipart" || len(p.Parts) != 1 {
		t.Fatalf("decoded structure %+v", p)
	}
	// Offsets refer to the stored (CRLF) bytes.
	if p.End != d[0].Size {
		t.Errorf("structure End %d, message size %d", p.End, d[0].Size)
	}
}

func TestBlobFileRemovedWithLastReference(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	mbs, _ := s.Mailboxes(ctx, "alice@example.com")
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: x\r\n\r\n"), []store.Target{alice[0], {Account: "alice@example.com", Mailbox: "Archive"}}); err != nil {
		t.Fatal(err)
	}
	mb := inbox(t, s)
	msgs, _ := mb.Messages(ctx)
	path := s.blobPath(msgs[0].BlobID)
	if _, err := mb.Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("blob removed while Archive still refers to it: %v", err)
	}
	if err := mbs.Delete(ctx, "Archive"); err != nil {
		t.Fatal(err)
	}
	// Files go right after the commit, once the callers are answered.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := os.Stat(path)
		if os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blob kept after its last reference went: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOperationsAfterClose(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	mb := inbox(t, s)
	w := s.Watch("alice@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.Ready(); ok {
		t.Error("watcher still open after Close")
	}
	if _, err := s.Deliver(ctx, strings.NewReader("x"), alice); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Deliver after Close = %v", err)
	}
	if _, err := mb.StoreFlags(ctx, []store.UID{1}, store.FlagsAdd, []string{`\Seen`}, 0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("StoreFlags after Close = %v", err)
	}
	if _, err := mb.Messages(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Messages after Close = %v", err)
	}
}

// TestScale: Messages over 100k messages is one quick query; StoreFlags over
// 10,000 messages is one transaction.
func TestScale(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a timing test: skipped in -short and under the race detector (which slows SQLite's transpiled C tenfold)")
	}
	s := openTest(t, Options{})
	ctx := context.Background()
	mb := inbox(t, s).(*mailbox)
	const n = 100000
	// Bulk-load through the write path in large transactions.
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: bulk\r\n\r\n"), alice); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mb.Messages(ctx)
	blob := msgs[0].BlobID
	t0 := time.Now()
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`WITH RECURSIVE c(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
			INSERT INTO messages (mailbox_id, uid, modseq, flags, internaldate, size, blob_id)
			SELECT ?, i, i + 1, '$Bulk', 1700000000, 16, ? FROM c`, n, mb.id, blob); err != nil {
			return err
		}
		_, err := w.exec("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?", n+1, n+1, mb.id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk load: %v", time.Since(t0))
	t0 = time.Now()
	msgs, err = mb.Messages(ctx)
	took := time.Since(t0)
	if err != nil || len(msgs) != n {
		t.Fatalf("Messages: %d, %v", len(msgs), err)
	}
	t.Logf("Messages over %d messages: %v", n, took)
	if took > 15*time.Second { // generous: CI machines are shared
		t.Errorf("Messages over %d messages took %v", n, took)
	}
	uids := make([]store.UID, 10000)
	for i := range uids {
		uids[i] = store.UID(i + 1)
	}
	before, _ := mb.Info(ctx)
	t0 = time.Now()
	res, err := mb.StoreFlags(ctx, uids, store.FlagsAdd, []string{`\Seen`}, 0)
	took = time.Since(t0)
	if err != nil || len(res.Updated) != 10000 {
		t.Fatalf("StoreFlags: %d updated, %v", len(res.Updated), err)
	}
	after, _ := mb.Info(ctx)
	if after.HighestModSeq-before.HighestModSeq != 10000 {
		t.Errorf("HIGHESTMODSEQ rose by %d", after.HighestModSeq-before.HighestModSeq)
	}
	t.Logf("StoreFlags over 10000 messages: %v", took)
	st, _ := s.mailboxesFor(t).Status(ctx, "INBOX")
	if st.Messages != n || st.Unseen != n-10000 {
		t.Errorf("Status = %+v", st)
	}
}

func (s *Store) mailboxesFor(t testing.TB) store.Mailboxes {
	mbs, err := s.Mailboxes(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return mbs
}
