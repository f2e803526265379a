package postgres

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

func TestPayloadRoundTrip(t *testing.T) {
	cases := []struct {
		account string
		change  store.Change
		token   string
	}{
		{"alice@example.com", store.Change{Kind: store.MailboxChanged, MailboxID: 7, Mailbox: "INBOX", ModSeq: 42}, ""},
		{"a|b%7C@example.com", store.Change{Kind: store.MailboxRenamed, MailboxID: 1, Mailbox: "Work|Old %25 x", ModSeq: 1}, "abc.1"},
		{"bob@example.com", store.Change{Kind: store.MailboxDeleted, MailboxID: 1 << 40, Mailbox: "Ünï/日本", ModSeq: 1<<63 + 5}, "n.zz"},
		{"bob@example.com", store.Change{Kind: store.MailboxCreated, MailboxID: 3, Mailbox: "", ModSeq: 1}, ""},
		{"bob@example.com", store.Change{Kind: store.SubscriptionChanged, Mailbox: "Lists/x|y"}, "n.1"},
		{"bob@example.com", store.Change{Kind: store.MetadataChanged, MailboxID: 3, Mailbox: "Work|x", Entry: "/private/a|b%"}, "t.2"},
		{"bob@example.com", store.Change{Kind: store.MetadataChanged, MailboxID: 0, Mailbox: "", Entry: "/shared/comment"}, ""},
		{"bob@example.com", store.Change{Kind: store.MetadataChanged, MailboxID: 4, Mailbox: "INBOX"}, ""},
	}
	for _, c := range cases {
		p := encodePayload(c.account, c.change, c.token)
		account, got, token, err := decodePayload(p)
		if err != nil || account != c.account || got != c.change || token != c.token {
			t.Errorf("%q: decoded %q %+v %q %v; want %q %+v %q", p, account, got, token, err, c.account, c.change, c.token)
		}
	}
	// A name too long for a notification is left out (looked up by ID).
	long := store.Change{Kind: store.MailboxChanged, MailboxID: 9, Mailbox: strings.Repeat("x", 9000), ModSeq: 3}
	p := encodePayload("a@b", long, "t.1")
	if len(p) > maxPayload {
		t.Fatalf("payload of %d bytes", len(p))
	}
	if _, got, token, err := decodePayload(p); err != nil || got.Mailbox != "" || got.MailboxID != 9 || token != "t.1" {
		t.Errorf("long name: %+v %q %v", got, token, err)
	}
	// An entry name that does not fit is left out; the mailbox name stays.
	longEntry := store.Change{Kind: store.MetadataChanged, MailboxID: 9, Mailbox: "INBOX", Entry: "/private/" + strings.Repeat("x", 9000)}
	if _, got, _, err := decodePayload(encodePayload("a@b", longEntry, "")); err != nil || got.Mailbox != "INBOX" || got.Entry != "" {
		t.Errorf("long entry: %+v %v", got, err)
	}
	for _, bad := range []string{"", "a|changed|1|2|x", "a|nope|1|2|x|", "a|changed|x|2|x|", "a|changed|1|-2|x|", "|changed|1|2|x|"} {
		if _, _, _, err := decodePayload(bad); err == nil {
			t.Errorf("decodePayload(%q) accepted", bad)
		}
	}
	if channelFor("public") != "letterbox_changes" || channelFor("a") == channelFor("b") || len(channelFor(strings.Repeat("s", 63))) > 63 {
		t.Error("channel names")
	}
}

// TestBlobChunks stores a body of several chunks and reads it back with
// Read and with concurrent ReadAt calls across chunk boundaries, from the
// node that stored it and from another.
func TestBlobChunks(t *testing.T) {
	dsn := freshSchema(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	if _, err := a.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, 3*blobChunkSize+1234)
	for i := range body {
		body[i] = byte('a' + rng.IntN(26))
		if rng.IntN(70) == 0 {
			body[i] = '\n'
		}
	}
	want := bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
	res, err := a.Deliver(ctx, bytes.NewReader(body), []store.Target{{Account: "alice@example.com"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	mbs, _ := b.Mailboxes(ctx, "alice@example.com")
	inbox, _ := mbs.Open(ctx, "INBOX")
	msgs, _ := inbox.Messages(ctx)
	if len(msgs) != 1 || msgs[0].Size != int64(len(want)) {
		t.Fatalf("messages %+v, want one of %d octets", msgs, len(want))
	}
	for _, s := range []*Store{a, b} {
		blob, err := s.OpenBlob(ctx, msgs[0].BlobID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(blob)
		if err != nil || !bytes.Equal(got, want) || blob.Size() != int64(len(want)) {
			t.Fatalf("ReadAll: %d bytes, %v; want %d", len(got), err, len(want))
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 9))
				for i := 0; i < 20; i++ {
					off := r.Int64N(int64(len(want)))
					buf := make([]byte, r.IntN(2*blobChunkSize))
					n, err := blob.ReadAt(buf, off)
					end := min(off+int64(len(buf)), int64(len(want)))
					if n != int(end-off) || !bytes.Equal(buf[:n], want[off:end]) {
						t.Errorf("ReadAt(%d bytes at %d) = %d, %v", len(buf), off, n, err)
					}
					if (end < off+int64(len(buf))) != (err == io.EOF) {
						t.Errorf("ReadAt(%d bytes at %d): err %v", len(buf), off, err)
					}
				}
			}()
		}
		wg.Wait()
		blob.Close()
		if _, err := blob.ReadAt(make([]byte, 1), blobChunkSize+1); err == nil {
			t.Error("ReadAt after Close succeeded")
		}
	}
}

// TestBlobLifecycle: the same content delivered concurrently through two
// nodes is stored once; expunging every copy removes it (once nobody pins
// it and the grace period passed); spool files do not outlive a delivery;
// the size limit holds.
func TestBlobLifecycle(t *testing.T) {
	dsn := freshSchema(t)
	spool := t.TempDir()
	a := openStore(t, dsn, func(o *Options) { o.SpoolDir = spool; o.MaxMessageSize = 1000 })
	b := openStore(t, dsn, func(o *Options) { o.SpoolDir = spool; o.MaxMessageSize = 1000 })
	if _, err := a.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*Store{a, b}[i%2]
			res, err := s.Deliver(ctx, strings.NewReader("Subject: same\n\nsame body\n"), []store.Target{{Account: "alice@example.com"}})
			if err != nil || res[0].Err != nil {
				t.Errorf("Deliver: %v %+v", err, res)
			}
		}()
	}
	wg.Wait()
	var blobs, chunks int
	if err := a.pool.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM blobs), (SELECT COUNT(*) FROM blob_chunks)").Scan(&blobs, &chunks); err != nil {
		t.Fatal(err)
	}
	if blobs != 1 || chunks != 1 {
		t.Errorf("%d blobs, %d chunks after 8 deliveries of one content, want 1 and 1", blobs, chunks)
	}
	if _, err := a.Deliver(ctx, strings.NewReader(strings.Repeat("x", 1001)), []store.Target{{Account: "alice@example.com"}}); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("Deliver over MaxMessageSize = %v", err)
	}
	if left := spoolFiles(t, spool); len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}

	mbs, _ := b.Mailboxes(ctx, "alice@example.com")
	inbox, _ := mbs.Open(ctx, "INBOX")
	msgs, _ := inbox.Messages(ctx)
	id := msgs[0].BlobID
	if _, err := inbox.Expunge(ctx, []store.UID{msgs[0].UID}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.OpenBlob(ctx, id); err != nil {
		t.Errorf("body removed while 7 copies remain: %v", err)
	}
	var rest []store.UID
	for _, m := range msgs[1:] {
		rest = append(rest, m.UID)
	}
	if _, err := inbox.Expunge(ctx, rest); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "body collected after every copy was expunged", func() bool {
		_, err := a.OpenBlob(ctx, id)
		return err != nil
	})
	if err := a.pool.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM blobs), (SELECT COUNT(*) FROM blob_chunks)").Scan(&blobs, &chunks); err != nil || blobs != 0 || chunks != 0 {
		t.Errorf("%d blobs, %d chunks left (%v)", blobs, chunks, err)
	}
}

// spoolFiles lists the spool directory without the owner files.
func spoolFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !blobfs.IsOwnerFile(e.Name(), spoolPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitFor polls cond for up to ten seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClosed(t *testing.T) {
	s := openStore(t, freshSchema(t))
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	mbs, _ := s.Mailboxes(ctx, "alice@example.com")
	w := s.Watch("alice@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.Ready(); ok {
		t.Error("watcher still open after Close")
	}
	w.Close()
	if _, err := s.Account(ctx, "alice@example.com"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Account after Close = %v", err)
	}
	if _, err := mbs.Create(ctx, "X", ""); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Create after Close = %v", err)
	}
	if _, err := s.Deliver(ctx, strings.NewReader("x"), []store.Target{{Account: "alice@example.com"}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Deliver after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
