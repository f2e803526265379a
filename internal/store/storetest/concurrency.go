package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// Sizes of CheckConcurrency.
const (
	concWorkers       = 8  // delivering goroutines, and keyword goroutines
	concDeliveries    = 6  // messages each delivering goroutine delivers
	concSeedMessages  = 10 // messages every keyword goroutine tags
	concAccount       = "conc@example.com"
	concKeywordPrefix = "$Kw"
)

// CheckConcurrency runs concWorkers goroutines delivering to one mailbox
// while concWorkers others each add their own keyword, message by message,
// to the same seed messages. Afterwards every delivery and every keyword
// must be there, UIDs strictly increase, and HIGHESTMODSEQ must have risen
// by exactly the number of changes (deliveries plus messages whose flags
// changed). It takes a testing.TB so a test can prove it fails on a racy
// driver.
func CheckConcurrency(t testing.TB, s store.Store) {
	t.Helper()
	mbs := newAccount(t, s, concAccount)
	var seed []store.UID
	for i := 0; i < concSeedMessages; i++ {
		res := deliver(t, s, msg(1000+i), store.Target{Account: concAccount})
		seed = append(seed, res[0].UID)
	}
	inbox := openMailbox(t, mbs, "INBOX")
	start := info(t, inbox)

	var (
		mu        sync.Mutex
		errs      []string
		delivered []store.UID
		updates   int
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < concWorkers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < concDeliveries; i++ {
				body := msg(w*1000 + i)
				res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: concAccount}})
				if err != nil || len(res) != 1 || res[0].Err != nil {
					fail("deliver: %v %+v", err, res)
					continue
				}
				mu.Lock()
				delivered = append(delivered, res[0].UID)
				mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			mb, err := mbs.Open(ctx, "INBOX")
			if err != nil {
				fail("open: %v", err)
				return
			}
			kw := concKeywordPrefix + itoa(w)
			for _, uid := range seed {
				res, err := mb.StoreFlags(ctx, []store.UID{uid}, store.FlagsAdd, []string{kw}, 0)
				if err != nil {
					fail("store %s on %d: %v", kw, uid, err)
					continue
				}
				mu.Lock()
				updates += len(res.Updated)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		t.Errorf("concurrent worker: %s", e)
	}

	msgs := messages(t, inbox)
	if len(msgs) != concSeedMessages+concWorkers*concDeliveries {
		t.Errorf("%d messages, want %d", len(msgs), concSeedMessages+concWorkers*concDeliveries)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].UID <= msgs[i-1].UID {
			t.Errorf("UIDs not strictly increasing: %d after %d", msgs[i].UID, msgs[i-1].UID)
		}
	}
	present := map[store.UID]store.Message{}
	for _, m := range msgs {
		present[m.UID] = m
	}
	slices.Sort(delivered)
	for i, u := range delivered {
		if i > 0 && delivered[i-1] == u {
			t.Errorf("UID %d handed out twice", u)
		}
		if _, ok := present[u]; !ok {
			t.Errorf("delivered UID %d missing", u)
		}
		if u < start.UIDNext {
			t.Errorf("delivered UID %d below UIDNEXT %d at start", u, start.UIDNext)
		}
	}
	for _, u := range seed {
		m := present[u]
		for w := 0; w < concWorkers; w++ {
			if kw := concKeywordPrefix + itoa(w); !slices.Contains(m.Flags, kw) {
				t.Errorf("UID %d lost keyword %s: has %q", u, kw, m.Flags)
			}
		}
	}
	if updates != concWorkers*concSeedMessages {
		t.Errorf("%d flag updates reported, want %d (each keyword added once to each message)", updates, concWorkers*concSeedMessages)
	}
	end := info(t, inbox)
	changes := len(delivered) + updates
	if got := int(end.HighestModSeq - start.HighestModSeq); got != changes {
		t.Errorf("HIGHESTMODSEQ rose by %d, want %d (one per change: %d deliveries + %d flag changes)",
			got, changes, len(delivered), updates)
	}
	// Every change has its own MODSEQ.
	seen := map[store.ModSeq]store.UID{}
	for _, m := range msgs {
		if other, dup := seen[m.ModSeq]; dup && m.ModSeq > start.HighestModSeq {
			t.Errorf("UIDs %d and %d share MODSEQ %d", other, m.UID, m.ModSeq)
		}
		seen[m.ModSeq] = m.UID
		if m.ModSeq > end.HighestModSeq {
			t.Errorf("UID %d MODSEQ %d above HIGHESTMODSEQ %d", m.UID, m.ModSeq, end.HighestModSeq)
		}
	}
}
