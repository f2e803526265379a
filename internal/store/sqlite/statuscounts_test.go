package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// bruteStatus counts what Status reports (but \Recent) from the rows.
func bruteStatus(t *testing.T, mb store.Mailbox) store.MailboxStatus {
	t.Helper()
	msgs, err := mb.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var st store.MailboxStatus
	for _, m := range msgs {
		st.Messages++
		st.Size += m.Size
		if !slices.Contains(m.Flags, store.FlagSeen) {
			st.Unseen++
		}
		if slices.Contains(m.Flags, store.FlagDeleted) {
			st.Deleted++
			st.DeletedSize += m.Size
		}
	}
	return st
}

// Randomised writers on two mailboxes (deliveries, APPENDs with flags,
// STOREs of ranges and of scattered UIDs, EXPUNGE, COPY and MOVE) race
// with STATUS readers that fill the counts cache from older snapshots.
// After every round Status must equal a count of the rows, and
// HIGHESTMODSEQ must have risen with every change.
func TestStatusCountsFollowWrites(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	mbs := s.mailboxesFor(t)
	if _, err := mbs.Create(ctx, "Other", ""); err != nil {
		t.Fatal(err)
	}
	names := []string{"INBOX", "Other"}
	open := func(name string) store.Mailbox {
		mb, err := mbs.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return mb
	}
	flagSets := [][]string{{store.FlagSeen}, {store.FlagDeleted}, {store.FlagSeen, store.FlagDeleted}, {store.FlagFlagged}, {"$label1"}, {}}
	rng := rand.New(rand.NewPCG(7, 11))
	var rngMu sync.Mutex
	intn := func(n int) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.IntN(n)
	}
	for round := range 12 {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		// Readers: STATUS all the time, so the cache holds counts of
		// snapshots the writers are racing past.
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := mbs.Status(ctx, names[intn(2)]); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var writers sync.WaitGroup
		for w := range 3 {
			writers.Go(func() {
				for i := range 15 {
					name := names[intn(2)]
					mb := open(name)
					msgs, err := mb.Messages(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					uids := make([]store.UID, len(msgs))
					for k, m := range msgs {
						uids[k] = m.UID
					}
					some := func() []store.UID {
						var out []store.UID
						for _, u := range uids {
							if intn(3) == 0 {
								out = append(out, u)
							}
						}
						return out
					}
					switch op := intn(8); {
					case op <= 1 || len(uids) == 0:
						flags := flagSets[intn(len(flagSets))]
						body := fmt.Sprintf("Subject: r%d w%d i%d\r\n\r\n%s\r\n", round, w, i, strings.Repeat("x", intn(500)))
						if _, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com", Mailbox: name, Flags: flags}}); err != nil {
							t.Error(err)
						}
					case op <= 4:
						set := uids // STORE 1:*: the one-UPDATE path
						if op == 4 {
							set = some()
						} else if op == 3 && len(uids) > 2 {
							set = uids[1 : len(uids)-1]
						}
						if len(set) == 0 {
							continue
						}
						fop := []store.FlagOp{store.FlagsReplace, store.FlagsAdd, store.FlagsRemove}[intn(3)]
						if _, err := mb.StoreFlags(ctx, set, fop, flagSets[intn(len(flagSets))], 0); err != nil {
							t.Error(err)
						}
					case op == 5:
						if _, err := mb.Expunge(ctx, some()); err != nil {
							t.Error(err)
						}
					case op == 6:
						if set := some(); len(set) > 0 {
							if _, err := mb.CopyTo(ctx, set, names[intn(2)]); err != nil {
								t.Error(err)
							}
						}
					default:
						if set := some(); len(set) > 0 && name == "INBOX" {
							if _, err := mb.MoveTo(ctx, set, "Other"); err != nil {
								t.Error(err)
							}
						}
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		wg.Wait()
		for _, name := range names {
			want := bruteStatus(t, open(name))
			got, err := mbs.Status(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Messages != want.Messages || got.Unseen != want.Unseen || got.Deleted != want.Deleted ||
				got.Size != want.Size || got.DeletedSize != want.DeletedSize {
				t.Fatalf("round %d %s: Status %+v, rows say %+v", round, name, got, want)
			}
		}
	}
}

// STORE on every message of a range is one UPDATE: each changed message
// gets its own MODSEQ, above the old HIGHESTMODSEQ and ascending with UID,
// unchanged messages keep theirs, and Changes reports exactly the changed:
// without a session (no change log) and with one (the rows noted in the
// log, which then answers Changes).
func TestStoreRangeModSeqs(t *testing.T) {
	for _, pinned := range []bool{false, true} {
		t.Run(fmt.Sprintf("pinned=%v", pinned), func(t *testing.T) { testStoreRangeModSeqs(t, pinned) })
	}
}

func testStoreRangeModSeqs(t *testing.T, pinned bool) {
	s := openTest(t, Options{})
	ctx := context.Background()
	for i := range 40 {
		var flags []string
		switch i % 4 {
		case 1:
			flags = []string{store.FlagSeen}
		case 2:
			flags = []string{"$x", store.FlagFlagged}
		}
		if _, err := s.Deliver(ctx, strings.NewReader(benchBody(int64(i))), []store.Target{{Account: "alice@example.com", Flags: flags}}); err != nil {
			t.Fatal(err)
		}
	}
	mb := inbox(t, s)
	if pinned {
		pin := mb.Pin()
		defer pin.Release()
	}
	if _, err := mb.Expunge(ctx, []store.UID{5, 6, 20}); err != nil { // holes
		t.Fatal(err)
	}
	before, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hms0, _ := mb.HighestModSeq(ctx)
	var all []store.UID
	for _, m := range before {
		all = append(all, m.UID)
	}
	res, err := mb.StoreFlags(ctx, all, store.FlagsAdd, []string{store.FlagSeen}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updated)+len(res.Unchanged) != len(all) || len(res.Unchanged) != 9 { // UIDs 2, 6, …, 38 were \Seen; 6 is gone
		t.Fatalf("Updated %d Unchanged %d of %d", len(res.Updated), len(res.Unchanged), len(all))
	}
	after, _ := mb.Messages(ctx)
	hms1, _ := mb.HighestModSeq(ctx)
	seenModSeq := map[store.ModSeq]bool{}
	var last store.ModSeq
	for i, m := range after {
		b := before[i]
		if !slices.Contains(m.Flags, store.FlagSeen) {
			t.Errorf("UID %d lacks \\Seen: %v", m.UID, m.Flags)
		}
		if slices.Contains(b.Flags, store.FlagSeen) {
			if m.ModSeq != b.ModSeq {
				t.Errorf("unchanged UID %d: MODSEQ %d → %d", m.UID, b.ModSeq, m.ModSeq)
			}
			continue
		}
		if m.ModSeq <= hms0 || m.ModSeq > hms1 || m.ModSeq <= last || seenModSeq[m.ModSeq] {
			t.Errorf("UID %d MODSEQ %d (old HIGHESTMODSEQ %d, new %d, previous %d)", m.UID, m.ModSeq, hms0, hms1, last)
		}
		if want := slices.Concat(b.Flags, []string{store.FlagSeen}); !slices.Equal(m.Flags, store.NormalizeFlags(want)) {
			t.Errorf("UID %d flags %v, want %v", m.UID, m.Flags, store.NormalizeFlags(want))
		}
		seenModSeq[m.ModSeq], last = true, m.ModSeq
	}
	for _, u := range res.Updated {
		i := slices.IndexFunc(after, func(m store.Message) bool { return m.UID == u.UID })
		if after[i].ModSeq != u.ModSeq || !slices.Equal(after[i].Flags, u.Flags) {
			t.Errorf("result %+v, stored %+v", u, after[i])
		}
	}
	ch, err := mb.Changes(ctx, hms0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Updated) != len(res.Updated) || ch.HighestModSeq != hms1 {
		t.Errorf("Changes since %d: %d updated, HIGHESTMODSEQ %d; want %d, %d", hms0, len(ch.Updated), ch.HighestModSeq, len(res.Updated), hms1)
	}
	changesMatch := func(ch store.Changes, after []store.Message) {
		t.Helper()
		for _, u := range ch.Updated {
			i := slices.IndexFunc(after, func(m store.Message) bool { return m.UID == u.UID })
			if i < 0 || after[i].ModSeq != u.ModSeq || !slices.Equal(after[i].Flags, u.Flags) {
				t.Errorf("Changes says %+v, stored %+v", u, after[max(i, 0)])
			}
		}
	}
	changesMatch(ch, after)
	// UIDs 21-40 all exist and all lose \Seen: a range without holes,
	// which also takes the one UPDATE when the change log is kept.
	var tail []store.UID
	for u := store.UID(21); u <= 40; u++ {
		tail = append(tail, u)
	}
	res2, err := mb.StoreFlags(ctx, tail, store.FlagsRemove, []string{store.FlagSeen}, 0)
	if err != nil || len(res2.Updated) != 20 {
		t.Fatalf("second STORE: %d updated, %v", len(res2.Updated), err)
	}
	for i, u := range res2.Updated {
		if u.ModSeq != hms1+store.ModSeq(i)+1 {
			t.Errorf("UID %d MODSEQ %d, want %d (no gaps)", u.UID, u.ModSeq, hms1+store.ModSeq(i)+1)
		}
	}
	ch2, err := mb.Changes(ctx, hms1)
	if err != nil || len(ch2.Updated) != 20 {
		t.Fatalf("Changes since %d: %d updated, %v", hms1, len(ch2.Updated), err)
	}
	after2, _ := mb.Messages(ctx)
	changesMatch(ch2, after2)
}
