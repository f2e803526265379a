package storetest

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// batchAppender returns the store's BatchAppender; both drivers have one.
func batchAppender(t *testing.T, s store.Store) store.BatchAppender {
	t.Helper()
	ba, ok := s.(store.BatchAppender)
	if !ok {
		t.Fatalf("%T does not implement store.BatchAppender", s)
	}
	return ba
}

func batchOf(bodies ...string) []store.BatchMessage {
	out := make([]store.BatchMessage, len(bodies))
	for i, b := range bodies {
		out[i] = store.BatchMessage{Body: strings.NewReader(b)}
	}
	return out
}

// testAppendBatch: every message stored with consecutive UIDs in the
// order given, its own flags, date and bytes (CRLF normalised); one MODSEQ
// per message; the same content twice is fine.
func testAppendBatch(t *testing.T, s store.Store) {
	ba := batchAppender(t, s)
	mbs := newAccount(t, s, "alice@example.com")
	deliver(t, s, msg(0), store.Target{Account: "alice@example.com", Mailbox: "Drafts"})
	mb := openMailbox(t, mbs, "Drafts")
	before := info(t, mb)
	w := s.Watch("alice@example.com")
	defer w.Close()
	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.FixedZone("", 2*3600))
	msgs := batchOf(msg(1), "Subject: bare\n\nlf\n", msg(1))
	msgs[0].Flags = []string{`\Seen`, "$Label"}
	msgs[1].InternalDate = date
	res, err := ba.AppendBatch(ctx, "Alice@Example.com", "drafts", msgs)
	if !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("AppendBatch to a mailbox named in the wrong case: %v, want ErrNoSuchMailbox", err)
	}
	res, err = ba.AppendBatch(ctx, "Alice@Example.com", "Drafts", batchOf(msg(1), "Subject: bare\n\nlf\n", msg(1)))
	if err != nil {
		t.Fatal(err)
	}
	// Again with flags and a date (the first batch has no such options).
	msgs = batchOf(msg(2), "Subject: bare\n\nlf\n")
	msgs[0].Flags = []string{`\Seen`, "$Label"}
	msgs[1].InternalDate = date
	res2, err := ba.AppendBatch(ctx, "alice@example.com", "Drafts", msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UID{before.UIDNext, before.UIDNext + 1, before.UIDNext + 2}
	if res.UIDValidity != before.UIDValidity || !equalUIDs(res.UIDs, want) {
		t.Fatalf("first batch: %+v, want UIDVALIDITY %d UIDs %v", res, before.UIDValidity, want)
	}
	if !equalUIDs(res2.UIDs, []store.UID{before.UIDNext + 3, before.UIDNext + 4}) {
		t.Fatalf("second batch UIDs %v", res2.UIDs)
	}
	after := info(t, mb)
	if after.UIDNext != before.UIDNext+5 || after.HighestModSeq != before.HighestModSeq+5 {
		t.Errorf("after 5 appended: UIDNEXT %d HIGHESTMODSEQ %d, before %d %d", after.UIDNext, after.HighestModSeq, before.UIDNext, before.HighestModSeq)
	}
	all := messages(t, mb)
	if len(all) != 6 {
		t.Fatalf("%d messages, want 6", len(all))
	}
	wantBodies := []string{msg(0), msg(1), "Subject: bare\r\n\r\nlf\r\n", msg(1), msg(2), "Subject: bare\r\n\r\nlf\r\n"}
	for i, m := range all {
		if got := string(readBlob(t, s, m.BlobID)); got != wantBodies[i] {
			t.Errorf("message %d: body %q, want %q", i, got, wantBodies[i])
		}
		if m.Size != int64(len(wantBodies[i])) {
			t.Errorf("message %d: size %d", i, m.Size)
		}
	}
	if got := all[4].Flags; strings.Join(got, " ") != `$Label \Seen` {
		t.Errorf("flags %v, want [$Label \\Seen]", got)
	}
	if !all[5].InternalDate.Equal(date) {
		t.Errorf("date %v, want %v", all[5].InternalDate, date)
	}
	if _, off := all[5].InternalDate.Zone(); off != 2*3600 {
		t.Errorf("zone offset %d, want 7200", off)
	}
	WaitChange(t, w, "batch change", func(c store.Change) bool {
		return c.Kind == store.MailboxChanged && c.MailboxID == after.ID && c.ModSeq == after.HighestModSeq
	})
	if _, err := ba.AppendBatch(ctx, "alice@example.com", "Drafts", nil); !errors.Is(err, store.ErrEmptyBatch) {
		t.Errorf("empty batch: %v, want ErrEmptyBatch", err)
	}
}

// testAppendBatchAllOrNothing: a body that cannot be read, a missing
// mailbox or account: nothing of the batch is stored, UIDNEXT and
// HIGHESTMODSEQ do not move, and the error names the failing message.
func testAppendBatchAllOrNothing(t *testing.T, s store.Store) {
	ba := batchAppender(t, s)
	mbs := newAccount(t, s, "alice@example.com")
	mb := openMailbox(t, mbs, "INBOX")
	before := info(t, mb)
	msgs := batchOf(msg(1), msg(2), msg(3))
	msgs[1].Body = errReader{}
	_, err := ba.AppendBatch(ctx, "alice@example.com", "INBOX", msgs)
	var be *store.BatchError
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("unreadable second body: %v, want a BatchError for index 1", err)
	}
	if _, err := ba.AppendBatch(ctx, "alice@example.com", "Nope", batchOf(msg(1), msg(2))); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("missing mailbox: %v", err)
	}
	if _, err := ba.AppendBatch(ctx, "nobody@example.com", "INBOX", batchOf(msg(1))); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Errorf("missing account: %v", err)
	}
	after := info(t, mb)
	if n := len(messages(t, mb)); n != 0 || after.UIDNext != before.UIDNext || after.HighestModSeq != before.HighestModSeq {
		t.Errorf("after failed batches: %d messages, UIDNEXT %d→%d, HIGHESTMODSEQ %d→%d", n, before.UIDNext, after.UIDNext, before.HighestModSeq, after.HighestModSeq)
	}
	// The next delivery gets the next UID: nothing was reserved.
	res := deliver(t, s, msg(4), store.Target{Account: "alice@example.com"})
	if res[0].UID != before.UIDNext {
		t.Errorf("delivery after failed batches got UID %d, want %d", res[0].UID, before.UIDNext)
	}
}

// testAppendBatchNeverPartial: readers running while batches of 5 commit
// always see a multiple of 5 messages (Messages, Status and Changes), so
// no reader ever sees a part of a batch.
func testAppendBatchNeverPartial(t *testing.T, s store.Store) {
	const batches, size = 12, 5
	ba := batchAppender(t, s)
	mbs := newAccount(t, s, "alice@example.com")
	mb := openMailbox(t, mbs, "INBOX")
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	report := func(s string) {
		select {
		case errs <- s:
		default:
		}
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				msgs, err := mb.Messages(ctx)
				if err != nil {
					report("Messages: " + err.Error())
					return
				}
				if len(msgs)%size != 0 {
					report("Messages saw " + itoa(len(msgs)) + " messages")
				}
				st, err := mbs.Status(ctx, "INBOX")
				if err != nil {
					report("Status: " + err.Error())
					return
				}
				if st.Messages%size != 0 || int(st.UIDNext-1)%size != 0 {
					report("Status saw " + itoa(st.Messages) + " messages, UIDNEXT " + itoa(int(st.UIDNext)))
				}
				ch, err := mb.Changes(ctx, 0)
				if err != nil {
					report("Changes: " + err.Error())
					return
				}
				if len(ch.Updated)%size != 0 {
					report("Changes saw " + itoa(len(ch.Updated)) + " messages")
				}
			}
		}()
	}
	for b := 0; b < batches; b++ {
		bodies := make([]string, size)
		for i := range bodies {
			bodies[i] = msg(b*size + i)
		}
		msgs := batchOf(bodies...)
		if b%3 == 2 {
			// A failing batch in between: must leave no trace either.
			msgs[size-1].Body = errReader{}
			if _, err := ba.AppendBatch(ctx, "alice@example.com", "INBOX", msgs); err == nil {
				t.Error("batch with an unreadable body succeeded")
			}
			continue
		}
		if _, err := ba.AppendBatch(ctx, "alice@example.com", "INBOX", msgs); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(messages(t, mb)); n != size*batches*2/3 {
		t.Errorf("%d messages, want %d", n, size*batches*2/3)
	}
}
