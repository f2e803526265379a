package imapserver_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// batchStore adds store.BlobBatchOpener to the SQLite store, counting the
// calls and the bodies it handed out that are not closed yet.
type batchStore struct {
	*sqlite.Store
	calls, asked atomic.Int64
	open         atomic.Int64
}

func (b *batchStore) OpenBlobs(ctx context.Context, ids []string) (map[string]store.Blob, error) {
	b.calls.Add(1)
	b.asked.Add(int64(len(ids)))
	out := map[string]store.Blob{}
	for i, id := range ids {
		if i%5 == 4 {
			continue // some left out, as a store may: opened one by one
		}
		bl, err := b.Store.OpenBlob(ctx, id)
		if err != nil {
			return nil, err
		}
		if old, ok := out[id]; ok {
			old.Close() // ids may repeat: copies share a body
		}
		b.open.Add(1)
		out[id] = &countedBlob{Blob: bl, open: &b.open}
	}
	return out, nil
}

type countedBlob struct {
	store.Blob
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedBlob) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Blob.Close()
}

// TestFetchPrefetchedBodies: with a store that opens bodies in batches,
// FETCH BODY.PEEK[] of every message returns each message's own content:
// small ones from the batch, large ones and the ones the store left out
// opened one by one, and two messages with the same content (a copy in
// the same mailbox) each whole. Every body the batch opened is closed.
func TestFetchPrefetchedBodies(t *testing.T) {
	bs := &batchStore{}
	h := newHarness(t, func(o *imapserver.Options) {
		bs.Store = o.Store.(*sqlite.Store)
		o.Store = bs
	})
	var want []string
	for i := range 300 { // more than one FETCH batch of 256
		body := fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", i, strings.Repeat(fmt.Sprintf("line %d\r\n", i), 1+i%7))
		switch {
		case i%50 == 7:
			body = fmt.Sprintf("Subject: big %d\r\n\r\n%s", i, strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 1200))
		case i%40 == 3 && i > 0:
			body = want[i-1] // the same content as the previous message
		}
		h.deliver("INBOX", body)
		want = append(want, body)
	}
	c := h.goClient(nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(seqRange(1, 300), &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages fetched, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if got := string(m.FindBodySection(&imap.FetchItemBodySection{})); got != want[m.SeqNum-1] {
			t.Errorf("message %d (#%d): got %d bytes %.40q, want %d bytes %.40q", m.SeqNum, i, len(got), got, len(want[m.SeqNum-1]), want[m.SeqNum-1])
		}
	}
	if bs.calls.Load() < 2 || bs.asked.Load() < 250 {
		t.Errorf("OpenBlobs called %d times for %d bodies; want one call per batch for the small ones", bs.calls.Load(), bs.asked.Load())
	}
	if n := bs.open.Load(); n != 0 {
		t.Errorf("%d prefetched bodies left open", n)
	}

	// A FETCH that fails part way (BINARY of an encoding it cannot undo,
	// RFC 3516 §4.3) still closes the bodies it prefetched.
	h.deliver("INBOX", "Subject: weird\r\nContent-Transfer-Encoding: x-weird\r\n\r\nbody\r\n")
	for i := range 5 { // after it in the batch: prefetched, never taken
		h.deliver("INBOX", fmt.Sprintf("Subject: after %d\r\n\r\nx\r\n", i))
	}
	if err := c.Noop().Wait(); err != nil { // the session learns of it
		t.Fatal(err)
	}
	calls := bs.calls.Load()
	_, err = c.Fetch(seqRange(280, 306), &imap.FetchOptions{
		BodySection:   []*imap.FetchItemBodySection{{Peek: true}},
		BinarySection: []*imap.FetchItemBinarySection{{Part: []int{1}, Peek: true}},
	}).Collect()
	if err == nil {
		t.Fatal("BINARY of an unknown encoding succeeded")
	}
	if bs.calls.Load() == calls {
		t.Error("the failing FETCH prefetched nothing")
	}
	if n := bs.open.Load(); n != 0 {
		t.Errorf("%d prefetched bodies left open after a failed FETCH", n)
	}
}

func seqRange(lo, hi uint32) imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(lo, hi)
	return s
}

// TestFetchPrefetchedBodiesAfterPeerExpunge: session B expunges messages
// that session A has not been told about yet; A's FETCH BODY.PEEK[] of
// them and their neighbours then answers exactly as it does when the
// store opens every body on its own, and no prefetched body stays open.
func TestFetchPrefetchedBodiesAfterPeerExpunge(t *testing.T) {
	run := func(batch bool) ([]string, *batchStore) {
		bs := &batchStore{}
		var configure []func(*imapserver.Options)
		if batch {
			configure = append(configure, func(o *imapserver.Options) {
				bs.Store = o.Store.(*sqlite.Store)
				o.Store = bs
			})
		}
		h := newHarness(t, configure...)
		for i := range 40 {
			h.deliver("INBOX", fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i))
		}
		a := h.login()
		a.selectInbox("a0")
		b := h.login()
		b.selectInbox("b0")
		b.collect("b1", `STORE 5:15,30 +FLAGS.SILENT (\Deleted)`)
		b.collect("b2", "EXPUNGE")
		// A's view still has all 40: the expunge reaches it at the end
		// of this command at the earliest (RFC 3501 §7.4.1).
		return a.collect("a1", "FETCH 1:40 (UID BODY.PEEK[])"), bs
	}
	plain, _ := run(false)
	batched, bs := run(true)
	if strings.Join(batched, "\n") != strings.Join(plain, "\n") {
		t.Errorf("FETCH with bodies opened in a batch:\n%s\nwithout:\n%s", strings.Join(batched, "\n"), strings.Join(plain, "\n"))
	}
	if bs.calls.Load() == 0 {
		t.Error("the batch opener was not used")
	}
	if n := bs.open.Load(); n != 0 {
		t.Errorf("%d prefetched bodies left open", n)
	}
}
