package sqlite

import (
	"context"
	"database/sql"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

func inlineRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.reader.QueryRow("SELECT COUNT(*) FROM blob_inline").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func readInbox(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	mbs, _ := s.Mailboxes(ctx, "alice@example.com")
	mb, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := s.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		if b.Size() != int64(len(data)) {
			t.Errorf("blob %s: Size %d, read %d", m.BlobID, b.Size(), len(data))
		}
		b.Close()
		out = append(out, string(data))
	}
	return out
}

// TestInlineDeliveryTouchesNoFile: a small body (bare LFs normalised)
// makes no temp file, no rename and no sync: its bytes are in blob_inline
// when Deliver returns, in the commit. A large body still takes the
// synced-file path, in its order. Both read back; the same content
// delivered again is one row.
func TestInlineDeliveryTouchesNoFile(t *testing.T) {
	fs := &recordingFS{log: &eventLog{}}
	s, err := Open(Options{Dir: t.TempDir(), FS: fs, InlineMax: 1024})
	if err != nil {
		t.Fatal(err)
	}
	s.commitHook = func() { fs.log.add("commit") }
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	small := "Subject: small\r\n\r\nx\r\n"
	mark := len(fs.log.snapshot())
	for range 2 {
		if _, err := s.Deliver(ctx, strings.NewReader(strings.ReplaceAll(small, "\r\n", "\n")), []store.Target{{Account: "alice@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range fs.log.snapshot()[mark:] {
		if e != "commit" {
			t.Fatalf("an inline body touched the file system: %v", fs.log.snapshot()[mark:])
		}
	}
	var data []byte
	if err := s.reader.QueryRow("SELECT data FROM blob_inline WHERE id = ?", blobIDOf(small)).Scan(&data); err != nil || string(data) != small {
		t.Fatalf("inline row: %q, %v", data, err)
	}
	if _, err := os.Stat(s.blobPath(blobIDOf(small))); !os.IsNotExist(err) {
		t.Fatalf("an inline body has a file: %v", err)
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("y", 4000) + "\r\n"
	if _, err := s.Deliver(ctx, strings.NewReader(big), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if n := inlineRows(t, s); n != 1 {
		t.Fatalf("%d inline rows, want 1", n)
	}
	fs.log.add("return")
	checkDurableOrder(t, s, fs.log.snapshot(), big, len(fs.log.snapshot())-1, false)
	if got := readInbox(t, s); len(got) != 3 || got[0] != small || got[1] != small || got[2] != big {
		t.Fatalf("INBOX: %q", got)
	}
}

// TestInlineBodyGoesWithItsBlob: the inline row stays while a pin holds
// the expunged message and goes in the transaction that collects its
// blobs row; a delivery none of whose targets succeeds leaves none.
func TestInlineBodyGoesWithItsBlob(t *testing.T) {
	s := openTest(t, Options{CollectDelay: time.Millisecond})
	ctx := context.Background()
	body := "Subject: gone\r\n\r\nsoon\r\n"
	if _, err := s.Deliver(ctx, strings.NewReader(body), alice); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Deliver(ctx, strings.NewReader("Subject: nowhere\r\n\r\nx\r\n"), []store.Target{{Account: "nobody@example.com"}}); err != nil || res[0].Err == nil {
		t.Fatalf("delivery to nobody: %+v, %v", res, err)
	}
	if n := inlineRows(t, s); n != 1 {
		t.Fatalf("%d inline rows after one stored and one failed delivery", n)
	}
	session := inbox(t, s)
	pin := session.Pin()
	if _, err := inbox(t, s).Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if b, err := s.OpenBlob(ctx, blobIDOf(body)); err != nil {
		t.Fatalf("inline body gone while a pin holds it: %v", err)
	} else {
		b.Close()
	}
	pin.Release()
	for deadline := time.Now().Add(5 * time.Second); inlineRows(t, s) != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("inline row left after the blob was collected")
		}
	}
	var n int
	s.reader.QueryRow("SELECT COUNT(*) FROM blobs").Scan(&n)
	if n != 0 {
		t.Errorf("%d blobs rows left", n)
	}
	if _, err := s.OpenBlob(ctx, blobIDOf(body)); err == nil {
		t.Fatal("OpenBlob of a collected inline body succeeded")
	}
}

// TestOpenBlobsInlineAndFiles: OpenBlobs answers inline bodies and files
// alike, leaves out what is not stored, and each Blob reads as OpenBlob's.
func TestOpenBlobsInlineAndFiles(t *testing.T) {
	s := openTest(t, Options{InlineMax: 100})
	ctx := context.Background()
	bodies := []string{"Subject: a\r\n\r\nsmall\r\n", "Subject: b\r\n\r\n" + strings.Repeat("z", 500) + "\r\n", "Subject: c\r\n\r\ntiny\r\n"}
	var ids []string
	for _, b := range bodies {
		if _, err := s.Deliver(ctx, strings.NewReader(b), []store.Target{{Account: "alice@example.com"}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, blobIDOf(b))
	}
	missing := strings.Repeat("ab", 32)
	got, err := s.OpenBlobs(ctx, append(ids, missing))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(bodies) {
		t.Fatalf("OpenBlobs answered %d bodies, want %d", len(got), len(bodies))
	}
	for i, id := range ids {
		b, ok := got[id]
		if !ok {
			t.Fatalf("body %d left out", i)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		if string(data) != bodies[i] || b.Size() != int64(len(bodies[i])) {
			t.Errorf("body %d: %q (size %d)", i, data, b.Size())
		}
	}
	if inlineRows(t, s) != 2 {
		t.Errorf("want the two small bodies inline")
	}
}

// TestAdoptJournal: a store an earlier version left with blob_journal
// rows (a body whose file is missing, one whose file is torn, one whose
// blob is gone) opens with the live bodies inline and whole, the dead one
// dropped, and the journal table gone.
func TestAdoptJournal(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(Options{Dir: dir, InlineMax: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	bodies := []string{"Subject: one\r\n\r\nfirst\r\n", "Subject: two\r\n\r\nsecond\r\n"}
	for _, b := range bodies {
		if _, err := s.Deliver(ctx, strings.NewReader(b), []store.Target{{Account: "alice@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	db, err := sql.Open(driverName, dsn((&url.URL{Scheme: "file", Path: filepath.Join(dir, "letterbox.db")}).String(), false))
	if err != nil {
		t.Fatal(err)
	}
	dead := "Subject: dead\r\n\r\nx\r\n"
	for _, q := range []string{
		"CREATE TABLE blob_journal (id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID",
		"INSERT INTO blob_journal VALUES ('" + blobIDOf(bodies[0]) + "', CAST('" + bodies[0] + "' AS BLOB))",
		"INSERT INTO blob_journal VALUES ('" + blobIDOf(bodies[1]) + "', CAST('" + bodies[1] + "' AS BLOB))",
		"INSERT INTO blob_journal VALUES ('" + blobIDOf(dead) + "', CAST('" + dead + "' AS BLOB))",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	// What the page cache would have lost: one file gone, one torn.
	if err := os.Remove(s.blobPath(blobIDOf(bodies[0]))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.blobPath(blobIDOf(bodies[1])), []byte("Subj"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.reader.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'blob_journal'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("blob_journal still there (%d, %v)", n, err)
	}
	if n := inlineRows(t, s); n != 2 {
		t.Fatalf("%d inline rows, want the 2 live bodies", n)
	}
	got := readInbox(t, s)
	if len(got) != 2 || got[0] != bodies[0] || got[1] != bodies[1] {
		t.Fatalf("INBOX: %q", got)
	}
}
