package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Details with the range read and the structure cache answers what the
// one-statement join answers, for dense, sparse, unsorted and repeated
// UID lists, with live, expunged-but-pinned and unknown UIDs, whether the
// cache is cold, warm or too small to hold anything for long.
func TestDetailsMatchesJoin(t *testing.T) {
	for _, budget := range []int64{0, 2000, -1} {
		t.Run(fmt.Sprint("cache", budget), func(t *testing.T) {
			s := openTest(t, Options{StructureCache: budget})
			ctx := context.Background()
			for i := range 60 {
				body := fmt.Sprintf("Subject: m%d\r\nFrom: a%d@example.com\r\n\r\n%s\r\n", i, i, strings.Repeat("x", i))
				if i%7 == 0 {
					body = benchBody(int64(i % 14)) // some shared content
				}
				if _, err := s.Deliver(ctx, strings.NewReader(body), alice); err != nil {
					t.Fatal(err)
				}
			}
			mb := inbox(t, s).(*mailbox)
			pin := mb.Pin()
			defer pin.Release()
			if _, err := mb.Expunge(ctx, []store.UID{3, 4, 5, 20, 41}); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for round := range 200 {
				var uids []store.UID
				lo, n := rng.IntN(60)+1, rng.IntN(40)+1
				for u := lo; u < lo+n; u++ {
					if round%3 == 0 || rng.IntN(4) == 0 {
						uids = append(uids, store.UID(u))
					}
				}
				if round%5 == 0 {
					rng.Shuffle(len(uids), func(i, j int) { uids[i], uids[j] = uids[j], uids[i] })
					uids = append(uids, uids...)
				}
				want, err := mb.detailsJoined(ctx, sortedUnique(uids))
				if err != nil {
					t.Fatal(err)
				}
				got, err := mb.Details(ctx, uids)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d, Details(%v):\n got %d %+v\nwant %d %+v", round, uids, len(got), got, len(want), want)
				}
			}
		})
	}
}

func sortedUnique(uids []store.UID) []store.UID {
	seen := map[store.UID]bool{}
	var out []store.UID
	for _, u := range uids {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if out == nil {
		out = []store.UID{}
	}
	return out
}

// A message read by Details whose content is expunged and collected
// before its structure (not cached) is read is answered by reading again
// in one statement: it is then simply not there.
func TestDetailsStructureCollectedMeanwhile(t *testing.T) {
	s := openTest(t, Options{StructureCache: -1, CollectDelay: time.Millisecond})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Deliver(ctx, strings.NewReader(benchBody(int64(i))), alice); err != nil {
			t.Fatal(err)
		}
	}
	mb := inbox(t, s).(*mailbox)
	s.detailsHook = func() {
		s.detailsHook = nil
		if _, err := mb.Expunge(ctx, []store.UID{2}); err != nil {
			t.Error(err)
		}
		// No pin: the collection takes the blob row (and file) at once.
		for deadline := time.Now().Add(10 * time.Second); ; {
			var n int
			if err := s.reader.QueryRow("SELECT COUNT(*) FROM blobs").Scan(&n); err != nil {
				t.Error(err)
				return
			}
			if n == 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Error("expunged content not collected")
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	got, err := mb.Details(ctx, []store.UID{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].UID != 1 || got[1].UID != 3 || len(got[0].Structure) == 0 || len(got[1].Structure) == 0 {
		t.Fatalf("Details = %+v", got)
	}
}

func TestStructCacheBudget(t *testing.T) {
	c := newStructCache(10 * (64 + 100 + structEntryOverhead))
	id := func(i int) string { return fmt.Sprintf("%064d", i) }
	for i := range 30 {
		c.put(id(i), make([]byte, 100))
		c.get(id(0)) // keep 0 recent
	}
	if c.used > c.budget {
		t.Errorf("used %d over budget %d", c.used, c.budget)
	}
	if _, ok := c.get(id(0)); !ok {
		t.Error("recently used entry evicted")
	}
	if _, ok := c.get(id(1)); ok {
		t.Error("least recently used entry kept")
	}
	if _, ok := c.get(id(29)); !ok {
		t.Error("newest entry missing")
	}
	c.put("huge", make([]byte, c.budget))
	if _, ok := c.get("huge"); ok {
		t.Error("entry above a quarter of the budget cached")
	}
	var none *structCache = newStructCache(-1)
	none.put("x", []byte{1})
	if _, ok := none.get("x"); ok {
		t.Error("disabled cache returned an entry")
	}
}

// StoreFlags reads a dense UID set as a range too: whatever the shape of
// the set (dense, sparse, unsorted, repeated, with expunged and unknown
// UIDs), exactly the asked messages that exist change, each once.
func TestStoreFlagsUIDSets(t *testing.T) {
	s := openTest(t, Options{})
	mb := fillInbox(t, s, 120)
	ctx := context.Background()
	if _, err := mb.Expunge(ctx, []store.UID{5, 6, 7, 50, 51, 99}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 60 {
		kw := fmt.Sprintf("$R%d", round)
		var uids []store.UID
		lo, n := rng.IntN(130)+1, rng.IntN(60)+1
		for u := lo; u < lo+n; u++ {
			if round%2 == 0 || rng.IntN(3) == 0 {
				uids = append(uids, store.UID(u))
			}
		}
		if round%5 == 0 {
			rng.Shuffle(len(uids), func(i, j int) { uids[i], uids[j] = uids[j], uids[i] })
			uids = append(uids, uids[:len(uids)/2]...)
		}
		asked := map[store.UID]bool{}
		for _, u := range uids {
			asked[u] = true
		}
		before, err := mb.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var want []store.UID
		for _, m := range before {
			if asked[m.UID] {
				want = append(want, m.UID)
			}
		}
		res, err := mb.StoreFlags(ctx, uids, store.FlagsAdd, []string{kw}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []store.UID
		for _, u := range res.Updated {
			got = append(got, u.UID)
		}
		if !reflect.DeepEqual(got, want) || len(res.Unchanged) != 0 {
			t.Fatalf("round %d, STORE %v: updated %v, unchanged %v; want %v", round, uids, got, res.Unchanged, want)
		}
		after, err := mb.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range after {
			if has := slices.Contains(m.Flags, kw); has != asked[m.UID] {
				t.Fatalf("round %d: UID %d has %s = %v, asked %v", round, m.UID, kw, has, asked[m.UID])
			}
		}
	}
}
