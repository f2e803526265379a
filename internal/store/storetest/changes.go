package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// testChangesSeeReturnedWrites: with sessions that have the mailbox
// selected (pinned) and follow it with Changes(since) like IMAP sessions
// do, concurrent writers (deliveries, STOREs, EXPUNGEs) each check that
// their write, once returned, is in the answer of a Changes call made
// after it, on another handle. At the end, each session's view, built only
// from its incremental Changes answers, equals Messages.
func testChangesSeeReturnedWrites(t *testing.T, s store.Store) {
	const (
		account  = "alice@example.com"
		writers  = 4
		rounds   = 12
		sessions = 4
	)
	mbs := newAccount(t, s, account)
	for i := 0; i < 6; i++ {
		deliver(t, s, msg(5000+i), store.Target{Account: account})
	}
	var (
		mu   sync.Mutex
		errs []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	// Sessions: a view (UID -> message) kept up to date from Changes only.
	type view struct {
		mb   store.Mailbox
		pin  store.Pin
		last store.ModSeq
		msgs map[store.UID]store.Message
	}
	views := make([]*view, sessions)
	for i := range views {
		mb := openMailbox(t, mbs, "INBOX")
		v := &view{mb: mb, pin: mb.Pin(), msgs: map[store.UID]store.Message{}}
		for _, m := range messages(t, mb) {
			v.msgs[m.UID] = m
		}
		v.last = info(t, mb).HighestModSeq
		views[i] = v
	}
	defer func() {
		for _, v := range views {
			v.pin.Release()
		}
	}()
	refresh := func(v *view) error {
		ch, err := v.mb.Changes(ctx, v.last)
		if err != nil {
			return err
		}
		if ch.HighestModSeq < v.last {
			return fmt.Errorf("HIGHESTMODSEQ went back from %d to %d", v.last, ch.HighestModSeq)
		}
		for _, m := range ch.Updated {
			if m.ModSeq <= v.last || m.ModSeq > ch.HighestModSeq {
				return fmt.Errorf("UID %d MODSEQ %d outside (%d, %d]", m.UID, m.ModSeq, v.last, ch.HighestModSeq)
			}
			v.msgs[m.UID] = m
		}
		for _, u := range ch.Expunged {
			delete(v.msgs, u)
		}
		v.last = ch.HighestModSeq
		v.pin.Advance(v.last)
		return nil
	}

	stop := make(chan struct{})
	var followers sync.WaitGroup
	for _, v := range views {
		followers.Add(1)
		go func() {
			defer followers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := refresh(v); err != nil {
					fail("session: %v", err)
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}

	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb, err := mbs.Open(ctx, "INBOX")
			if err != nil {
				fail("open: %v", err)
				return
			}
			check, err := mbs.Open(ctx, "INBOX")
			if err != nil {
				fail("open: %v", err)
				return
			}
			var mine []store.UID
			for r := 0; r < rounds; r++ {
				before, err := check.HighestModSeq(ctx)
				if err != nil {
					fail("HighestModSeq: %v", err)
					return
				}
				switch r % 3 {
				case 0:
					res, err := s.Deliver(ctx, strings.NewReader(msg(w*100+r)), []store.Target{{Account: account}})
					if err != nil || res[0].Err != nil {
						fail("deliver: %v %+v", err, res)
						return
					}
					u := res[0].UID
					mine = append(mine, u)
					ch, err := check.Changes(ctx, before)
					if err != nil || !slices.ContainsFunc(ch.Updated, func(m store.Message) bool { return m.UID == u }) {
						fail("Changes(%d) after delivery of UID %d: %+v, %v", before, u, ch, err)
					}
				case 1:
					kw := fmt.Sprintf("$W%dR%d", w, r)
					uids := append([]store.UID{1, 2, 3}, mine...)
					res, err := mb.StoreFlags(ctx, uids, store.FlagsAdd, []string{kw}, 0)
					if err != nil {
						fail("store: %v", err)
						return
					}
					ch, err := check.Changes(ctx, before)
					if err != nil {
						fail("Changes: %v", err)
						return
					}
					for _, u := range res.Updated {
						i := slices.IndexFunc(ch.Updated, func(m store.Message) bool { return m.UID == u.UID })
						if i < 0 || ch.Updated[i].ModSeq < u.ModSeq || !slices.Contains(ch.Updated[i].Flags, kw) || ch.HighestModSeq < u.ModSeq {
							fail("Changes(%d) after STORE %s on UID %d (MODSEQ %d): %+v", before, kw, u.UID, u.ModSeq, ch)
						}
					}
				case 2:
					gone, err := mb.Expunge(ctx, mine)
					if err != nil {
						fail("expunge: %v", err)
						return
					}
					mine = nil
					ch, err := check.Changes(ctx, before)
					if err != nil {
						fail("Changes: %v", err)
						return
					}
					for _, u := range gone {
						if !slices.Contains(ch.Expunged, u) || slices.ContainsFunc(ch.Updated, func(m store.Message) bool { return m.UID == u }) {
							fail("Changes(%d) after EXPUNGE of UID %d: %+v", before, u, ch)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	followers.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	want := messages(t, openMailbox(t, mbs, "INBOX"))
	for i, v := range views {
		if err := refresh(v); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		got := make([]store.Message, 0, len(v.msgs))
		for _, m := range v.msgs {
			got = append(got, m)
		}
		slices.SortFunc(got, func(a, b store.Message) int { return int(a.UID) - int(b.UID) })
		if len(got) != len(want) {
			t.Errorf("session %d: view from Changes has %d messages, Messages %d", i, len(got), len(want))
			continue
		}
		for j := range got {
			g, w := got[j], want[j]
			if g.UID != w.UID || g.ModSeq != w.ModSeq || !slices.Equal(g.Flags, w.Flags) || !g.InternalDate.Equal(w.InternalDate) || g.Size != w.Size || g.BlobID != w.BlobID {
				t.Errorf("session %d: view from Changes has %+v, Messages %+v", i, g, w)
			}
		}
	}
}
