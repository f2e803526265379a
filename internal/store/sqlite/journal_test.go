package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

func journalRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.reader.QueryRow("SELECT COUNT(*) FROM blob_journal").Scan(&n); err != nil {
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
		b.Close()
		out = append(out, string(data))
	}
	return out
}

// TestJournaledDeliveryIsDurableByCommit: a small body is not synced
// before its commit; its bytes are in blob_journal when Deliver returns,
// and the flusher makes its file and directory durable (one syncfs where
// the FS has it, else an fsync of the file and of its directory) before
// the journal row goes. A large body still takes the synced-file path.
func TestJournaledDeliveryIsDurableByCommit(t *testing.T) {
	for _, whole := range []bool{true, false} {
		t.Run(fmt.Sprintf("syncfs=%v", whole), func(t *testing.T) {
			rec := &recordingFS{log: &eventLog{}}
			var fs FS = rec
			if !whole {
				fs = perFileFS{rec}
			}
			testJournaledDelivery(t, rec, fs, whole)
		})
	}
}

// perFileFS hides recordingFS's SyncFS: the flusher then syncs file by
// file, as where the platform has no syncfs.
type perFileFS struct{ FS }

func testJournaledDelivery(t *testing.T, rec *recordingFS, fs FS, whole bool) {
	s, err := Open(Options{Dir: t.TempDir(), FS: fs, JournalMax: 1024, journalFlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.commitHook = func() { rec.log.add("commit") }
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	small := "Subject: small\r\n\r\nx\r\n"
	if _, err := s.Deliver(ctx, strings.NewReader(small), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.log.snapshot() {
		if strings.HasPrefix(e, "sync") {
			t.Fatalf("a journaled body was synced before its commit: %v", rec.log.snapshot())
		}
	}
	var data []byte
	if err := s.reader.QueryRow("SELECT data FROM blob_journal WHERE id = ?", blobIDOf(small)).Scan(&data); err != nil || string(data) != small {
		t.Fatalf("journal row: %q, %v", data, err)
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("y", 4000) + "\r\n"
	if _, err := s.Deliver(ctx, strings.NewReader(big), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if journalRows(t, s) != 1 {
		t.Fatalf("the large body was journaled too")
	}
	rec.log.add("return")
	checkDurableOrder(t, s, rec.log.snapshot(), big, len(rec.log.snapshot())-1, false)

	mark := len(rec.log.snapshot())
	if err := s.flushJournal(); err != nil {
		t.Fatal(err)
	}
	if n := journalRows(t, s); n != 0 {
		t.Fatalf("%d journal rows after the flush", n)
	}
	events := rec.log.snapshot()[mark:]
	if whole {
		if index(events, 0, "syncfs "+s.blobDir) < 0 || index(events, 0, "sync ") >= 0 || index(events, 0, "syncdir ") >= 0 {
			t.Fatalf("flush with syncfs: %v", events)
		}
	} else if index(events, 0, "syncdir "+s.blobDirOf(blobIDOf(small))) < 0 || index(events, 0, "syncfs ") >= 0 {
		t.Fatalf("flush did not sync the body's directory: %v", events)
	}
	if got := readInbox(t, s); len(got) != 2 || got[0] != small || got[1] != big {
		t.Fatalf("INBOX: %q", got)
	}
}

// TestJournalRecoversLostFiles: a crash after the commit and before the
// flush can leave a journaled body's file missing or torn; the next Open
// rewrites it from the journal, and the message reads back whole.
func TestJournalRecoversLostFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openUnflushedWithAlice(t, dir)
	bodies := []string{"Subject: one\r\n\r\nfirst\r\n", "Subject: two\r\n\r\nsecond\r\n", "Subject: three\r\n\r\nthird\r\n"}
	for _, b := range bodies {
		if _, err := s.Deliver(ctx, strings.NewReader(b), []store.Target{{Account: "alice@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := journalRows(t, s); n != 3 {
		t.Fatalf("%d journal rows, want 3", n)
	}
	path := func(b string) string { return s.blobPath(blobIDOf(b)) }
	s.Close()
	// What the page cache would have lost: one file gone, one torn.
	if err := os.Remove(path(bodies[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path(bodies[1]), []byte("Subj"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := journalRows(t, s); n != 0 {
		t.Fatalf("%d journal rows after recovery", n)
	}
	got := readInbox(t, s)
	if len(got) != 3 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	for i := range bodies {
		if got[i] != bodies[i] {
			t.Errorf("message %d: %q, want %q", i+1, got[i], bodies[i])
		}
	}
}

// TestJournalFlushKeepsRowsOfMissingLiveBlobs: the flusher never drops the
// only copy: a journaled body whose file is missing while its blob row
// still exists keeps its journal row.
func TestJournalFlushKeepsRowsOfMissingLiveBlobs(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), journalFlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	body := "Subject: keep\r\n\r\nme\r\n"
	if _, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	os.Remove(s.blobPath(blobIDOf(body)))
	if err := s.flushJournal(); err != nil {
		t.Fatal(err)
	}
	if n := journalRows(t, s); n != 1 {
		t.Fatalf("journal row of a live blob dropped (%d rows)", n)
	}
}

// TestTornOrphanFileIsReplaced: power lost after a placement's rename and
// before its commit can leave a file at the content address that no row
// names, empty or torn (a journaled body's file is not synced before the
// commit). When the same bytes come again (a client retrying an APPEND
// that never got its OK), the new delivery must store its own bytes, not
// trust that file: with a small (journaled) body and with a large one.
func TestTornOrphanFileIsReplaced(t *testing.T) {
	small := "Subject: retry\r\n\r\nthe same bytes again\r\n"
	large := "Subject: big retry\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 4096)
	for _, body := range []string{small, large} {
		t.Run(fmt.Sprintf("%d octets", len(body)), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			openUnflushedWithAlice(t, dir).Close()
			// What the crashed placement left: the name, and a torn file.
			id := blobIDOf(body)
			if err := os.MkdirAll(blobfs.Dir(filepath.Join(dir, "blobs"), id), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(blobfs.Path(filepath.Join(dir, "blobs"), id), []byte(body[:7]), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(Options{Dir: dir, journalFlushEvery: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}}); err != nil {
				t.Fatal(err)
			}
			got := readInbox(t, s)
			if len(got) != 1 || got[0] != body {
				t.Fatalf("INBOX after the retry: %d messages, first %d octets, want the %d delivered", len(got), len(first(got)), len(body))
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// openUnflushedWithAlice opens a store in dir whose journal flusher waits
// an hour, with the account alice@example.com.
func openUnflushedWithAlice(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, journalFlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(context.Background(), "alice@example.com", "x"); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}
