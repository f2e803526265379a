package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// Quota checks (RFC 9208; store/quota.go): usage counts live messages
// exactly through delivery, COPY, MOVE, EXPUNGE and mailbox DELETE, and a
// delivery or COPY that would exceed a limit fails with ErrOverQuota and
// changes nothing.

func quotas(t *testing.T, s store.Store) store.Quotas {
	t.Helper()
	q, ok := s.(store.Quotas)
	if !ok {
		t.Fatalf("%T does not implement store.Quotas", s)
	}
	return q
}

func quotaOf(t testing.TB, q store.Quotas, account string) store.Quota {
	t.Helper()
	res, err := q.Quota(ctx, account)
	if err != nil {
		t.Fatalf("Quota(%q): %v", account, err)
	}
	return res
}

func wantUsage(t testing.TB, q store.Quotas, account string, storage, messages int64) {
	t.Helper()
	got := quotaOf(t, q, account)
	if got.Storage.Used != storage || got.Messages.Used != messages {
		t.Fatalf("usage of %s = %d octets, %d messages; want %d, %d", account,
			got.Storage.Used, got.Messages.Used, storage, messages)
	}
}

func setQuota(t testing.TB, q store.Quotas, account string, storage, messages int64) {
	t.Helper()
	if err := q.SetQuota(ctx, account, storage, messages); err != nil {
		t.Fatalf("SetQuota(%q, %d, %d): %v", account, storage, messages, err)
	}
}

func testQuotaUsage(t *testing.T, s store.Store) {
	q := quotas(t, s)
	mbs := newAccount(t, s, "quota@example.com")
	newAccount(t, s, "other@example.com")
	got := quotaOf(t, q, "Quota@Example.com")
	if got != (store.Quota{Storage: store.QuotaResource{Default: true}, Messages: store.QuotaResource{Default: true}}) {
		t.Fatalf("new account's quota = %+v, want nothing used and default (unlimited) limits", got)
	}
	if _, err := q.Quota(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("Quota of unknown account: %v, want ErrNoSuchAccount", err)
	}
	if err := q.SetQuota(ctx, "nobody@example.com", 1, 1); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("SetQuota of unknown account: %v, want ErrNoSuchAccount", err)
	}
	a, b := "Subject: a\r\n\r\nfirst\r\n", "Subject: b\r\n\r\nsecond message\r\n"
	na, nb := int64(len(a)), int64(len(b))
	deliver(t, s, a, store.Target{Account: "quota@example.com"}, store.Target{Account: "other@example.com"})
	deliver(t, s, b, store.Target{Account: "quota@example.com"})
	wantUsage(t, q, "quota@example.com", na+nb, 2)
	wantUsage(t, q, "other@example.com", na, 1)

	inbox := openMailbox(t, mbs, "INBOX")
	uids := uidsOf(messages(t, inbox))
	if _, err := inbox.CopyTo(ctx, uids, "Archive"); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, q, "quota@example.com", 2*(na+nb), 4)
	if _, err := inbox.MoveTo(ctx, uids[:1], "Trash"); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, q, "quota@example.com", 2*(na+nb), 4)

	// STATUS DELETED-STORAGE's source: the sizes of \Deleted messages.
	storeFlags(t, inbox, uids[1:], store.FlagsAdd, store.FlagDeleted)
	st, err := mbs.Status(ctx, "INBOX")
	if err != nil || st.Deleted != 1 || st.DeletedSize != nb || st.Size != nb {
		t.Fatalf("Status with one \\Deleted: %+v, %v; want DeletedSize %d", st, err, nb)
	}

	// An expunge frees its room at once, even while a session still pins
	// the content.
	pin := inbox.Pin()
	defer pin.Release()
	if _, err := inbox.Expunge(ctx, uids[1:]); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, q, "quota@example.com", 2*na+nb, 3)
	if err := mbs.Rename(ctx, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, q, "quota@example.com", 2*na+nb, 3)
	if err := mbs.Delete(ctx, "Archive"); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, q, "quota@example.com", na, 1)
	wantUsage(t, q, "other@example.com", na, 1)

	// Limits of its own, and back to the default.
	setQuota(t, q, "quota@example.com", 1000, 0)
	got = quotaOf(t, q, "quota@example.com")
	if got.Storage.Limit != 1000 || got.Storage.Default || got.Messages.Limit != 0 || got.Messages.Default {
		t.Fatalf("after SetQuota(1000, 0): %+v", got)
	}
	setQuota(t, q, "quota@example.com", store.QuotaUseDefault, store.QuotaUseDefault)
	got = quotaOf(t, q, "quota@example.com")
	if got.Storage.Limit != 0 || !got.Storage.Default || !got.Messages.Default {
		t.Fatalf("after SetQuota(default): %+v", got)
	}
	if err := s.DeleteAccount(ctx, "quota@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Quota(ctx, "quota@example.com"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("Quota of deleted account: %v", err)
	}
	newAccount(t, s, "quota@example.com")
	wantUsage(t, q, "quota@example.com", 0, 0)
}

func testQuotaEnforced(t *testing.T, s store.Store) {
	q := quotas(t, s)
	mbs := newAccount(t, s, "full@example.com")
	newAccount(t, s, "roomy@example.com")
	body := "Subject: q\r\n\r\n" + strings.Repeat("x", 100) + "\r\n"
	n := int64(len(body))
	setQuota(t, q, "full@example.com", 0, 2)
	deliver(t, s, body, store.Target{Account: "full@example.com"})
	deliver(t, s, body, store.Target{Account: "full@example.com"})
	inbox := openMailbox(t, mbs, "INBOX")
	before := info(t, inbox)

	// One target over quota fails alone.
	res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "full@example.com"}, {Account: "roomy@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, store.ErrOverQuota) || res[1].Err != nil {
		t.Fatalf("delivery results %+v, want ErrOverQuota then success", res)
	}
	if after := info(t, inbox); after != before {
		t.Fatalf("refused delivery changed the mailbox: %+v → %+v", before, after)
	}
	wantUsage(t, q, "full@example.com", 2*n, 2)
	// A lone target over quota: nothing of the delivery stays (no UID,
	// no MODSEQ, no usage), and the same body then delivers elsewhere.
	res, err = s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "full@example.com"}})
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, store.ErrOverQuota) {
		t.Fatalf("lone delivery over quota: %+v, %v; want ErrOverQuota", res, err)
	}
	if after := info(t, inbox); after != before {
		t.Fatalf("refused lone delivery changed the mailbox: %+v → %+v", before, after)
	}
	wantUsage(t, q, "full@example.com", 2*n, 2)
	deliver(t, s, body, store.Target{Account: "roomy@example.com"})

	// COPY over the limit changes nothing; MOVE needs no room.
	uids := uidsOf(messages(t, inbox))
	archive := openMailbox(t, mbs, "Archive")
	abefore := info(t, archive)
	if _, err := inbox.CopyTo(ctx, uids, "Archive"); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("CopyTo over quota: %v, want ErrOverQuota", err)
	}
	if after := info(t, archive); after != abefore || len(messages(t, archive)) != 0 {
		t.Fatalf("refused COPY changed the destination: %+v → %+v", abefore, after)
	}
	if _, err := inbox.MoveTo(ctx, uids[:1], "Archive"); err != nil {
		t.Fatalf("MoveTo at the limit: %v", err)
	}
	wantUsage(t, q, "full@example.com", 2*n, 2)

	// An expunge makes room for exactly one more.
	if _, err := archive.Expunge(ctx, uidsOf(messages(t, archive))); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, body, store.Target{Account: "full@example.com", Mailbox: "Drafts"})
	res, err = s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "full@example.com"}})
	if err != nil || !errors.Is(res[0].Err, store.ErrOverQuota) {
		t.Fatalf("third message: %v %+v, want ErrOverQuota", err, res)
	}

	// Storage: a message that would pass the limit by one octet is refused,
	// one that fills it exactly is taken.
	setQuota(t, q, "full@example.com", 3*n-1, 0)
	res, err = s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "full@example.com"}})
	if err != nil || !errors.Is(res[0].Err, store.ErrOverQuota) {
		t.Fatalf("storage +1 octet over: %v %+v, want ErrOverQuota", err, res)
	}
	setQuota(t, q, "full@example.com", 3*n, 0)
	deliver(t, s, body, store.Target{Account: "full@example.com"})
	wantUsage(t, q, "full@example.com", 3*n, 3)

	// A limit lowered under the usage refuses additions, removes nothing.
	setQuota(t, q, "full@example.com", n, 0)
	if got := len(messages(t, inbox)); got != 2 {
		t.Fatalf("INBOX has %d messages after lowering the limit, want 2", got)
	}
	if _, err := inbox.CopyTo(ctx, uidsOf(messages(t, inbox))[:1], "INBOX"); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("CopyTo while over: %v", err)
	}
}

// testQuotaConcurrentDeliveries delivers from many goroutines at once to an
// account with room for exactly limit messages: exactly limit succeed,
// whatever the interleaving or the number of nodes' worth of connections.
func testQuotaConcurrentDeliveries(t *testing.T, s store.Store) {
	q := quotas(t, s)
	mbs := newAccount(t, s, "busy@example.com")
	const limit, tries = 7, 24
	body := "Subject: c\r\n\r\nconcurrent\r\n"
	n := int64(len(body))
	// Storage allows 9 and messages 7 in the first round; then storage is
	// the tighter limit.
	setQuota(t, q, "busy@example.com", 9*n, limit)
	round := func(want int) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, over := 0, 0
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Deliver(ctx, strings.NewReader(body+itoa(i)), []store.Target{{Account: "busy@example.com"}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("Deliver: %v", err)
				case res[0].Err == nil:
					ok++
				case errors.Is(res[0].Err, store.ErrOverQuota):
					over++
				default:
					t.Errorf("Deliver target: %v", res[0].Err)
				}
			}()
		}
		wg.Wait()
		if ok != want || over != tries-want {
			t.Fatalf("%d delivered, %d over quota; want %d and %d", ok, over, want, tries-want)
		}
	}
	round(limit)
	msgs := messages(t, openMailbox(t, mbs, "INBOX"))
	var sum int64
	for _, m := range msgs {
		sum += m.Size
	}
	if len(msgs) != limit {
		t.Fatalf("INBOX holds %d messages, want %d", len(msgs), limit)
	}
	wantUsage(t, q, "busy@example.com", sum, limit)

	// Storage the tighter limit: room for exactly 3 more (each is n+1 or
	// n+2 octets: body and one or two digits), not 4.
	setQuota(t, q, "busy@example.com", sum+3*(n+2), 0)
	round(3)
	msgs = messages(t, openMailbox(t, mbs, "INBOX"))
	sum = 0
	for _, m := range msgs {
		sum += m.Size
	}
	wantUsage(t, q, "busy@example.com", sum, limit+3)
}

// testQuotaAppendBatch: a batch (MULTIAPPEND) that would pass a limit is
// refused whole, even when its first messages would fit; one that fits
// exactly is taken.
func testQuotaAppendBatch(t *testing.T, s store.Store) {
	q := quotas(t, s)
	ba, ok := s.(store.BatchAppender)
	if !ok {
		t.Skip("store has no AppendBatch")
	}
	mbs := newAccount(t, s, "batch@example.com")
	inbox := openMailbox(t, mbs, "INBOX")
	body := "Subject: q\r\n\r\nbody\r\n"
	setQuota(t, q, "batch@example.com", 0, 3)
	deliver(t, s, body, store.Target{Account: "batch@example.com"})
	three := []store.BatchMessage{{Body: strings.NewReader(body)}, {Body: strings.NewReader(body)}, {Body: strings.NewReader(body)}}
	if _, err := ba.AppendBatch(ctx, "batch@example.com", "INBOX", three); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("AppendBatch of 3 with room for 2: %v, want ErrOverQuota", err)
	}
	if got := len(messages(t, inbox)); got != 1 {
		t.Fatalf("a refused batch left %d messages, want 1", got)
	}
	wantUsage(t, q, "batch@example.com", int64(len(body)), 1)
	two := []store.BatchMessage{{Body: strings.NewReader(body)}, {Body: strings.NewReader(body)}}
	if _, err := ba.AppendBatch(ctx, "batch@example.com", "INBOX", two); err != nil {
		t.Fatalf("AppendBatch filling the quota exactly: %v", err)
	}
	wantUsage(t, q, "batch@example.com", 3*int64(len(body)), 3)
}
