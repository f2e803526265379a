package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// Benchmarks of the reads and writes an IMAP session makes, on mailboxes
// filled directly through the committer (no blob files: Messages, Details,
// Changes and StoreFlags never open them).

// fillInbox appends n messages to alice's INBOX in one write, with a mix
// of flag lists and zones as real mail has, and returns the mailbox.
func fillInbox(b testing.TB, s *Store, n int) store.Mailbox {
	b.Helper()
	mb := inbox(b, s)
	id := mb.(*mailbox).id
	body := benchBody(0)
	structure := mime.ParseBytes([]byte(body)).Encode()
	flagSets := [][]string{nil, {store.FlagSeen}, {store.FlagSeen}, {store.FlagAnswered, store.FlagSeen}, {"$Forwarded", store.FlagSeen}, {store.FlagFlagged}}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600)}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 2000
	for done := 0; done < n; done += chunk {
		err := s.write(context.Background(), func(w *wtx) error {
			var last store.ModSeq
			for i := done; i < min(done+chunk, n); i++ {
				blob := fmt.Sprintf("%064x", i+1)
				if _, err := w.exec("INSERT INTO blobs (id, size, structure) VALUES (?, ?, ?)", blob, len(body), structure); err != nil {
					return err
				}
				date := base.Add(time.Duration(i) * time.Minute).In(zones[i%len(zones)])
				_, ms, err := w.appendMessage(id, flagSets[i%len(flagSets)], date, int64(len(body)), blob,
					objectIDs{email: int64(i + 1), thread: int64(i + 1), saved: date})
				if err != nil {
					return err
				}
				last = ms
			}
			w.publish("alice@example.com", store.Change{Kind: store.MailboxChanged, MailboxID: id, Mailbox: store.InboxName, ModSeq: last})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return mb
}

// cpuMeter reports the process's CPU time (user + system) per op when
// its result is called: on a shared machine wall time per op depends on
// the neighbours, CPU time much less.
func cpuMeter(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
	}
}

func allUIDs(b testing.TB, mb store.Mailbox) []store.UID {
	msgs, err := mb.Messages(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	out := make([]store.UID, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}

// BenchmarkMessages10k: the snapshot a SELECT reads, 10,000 messages.
func BenchmarkMessages10k(b *testing.B) {
	s := openTest(b, Options{})
	mb := fillInbox(b, s, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuMeter(b)()
	for b.Loop() {
		msgs, err := mb.Messages(ctx)
		if err != nil || len(msgs) != 10000 {
			b.Fatal(len(msgs), err)
		}
	}
}

// BenchmarkDetails10k: FETCH 1:* ENVELOPE over 10,000 messages, in the
// batches of 256 UIDs the IMAP server asks for.
func BenchmarkDetails10k(b *testing.B) {
	s := openTest(b, Options{})
	mb := fillInbox(b, s, 10000)
	uids := allUIDs(b, mb)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuMeter(b)()
	for b.Loop() {
		n := 0
		for start := 0; start < len(uids); start += 256 {
			d, err := mb.Details(ctx, uids[start:min(start+256, len(uids))])
			if err != nil {
				b.Fatal(err)
			}
			n += len(d)
		}
		if n != len(uids) {
			b.Fatalf("%d details, want %d", n, len(uids))
		}
	}
}

// BenchmarkDetailsSparse10k: the same with every other UID (no contiguous
// range), the shape of a SEARCH over a subset.
func BenchmarkDetailsSparse10k(b *testing.B) {
	s := openTest(b, Options{})
	mb := fillInbox(b, s, 10000)
	all := allUIDs(b, mb)
	var uids []store.UID
	for i := 0; i < len(all); i += 2 {
		uids = append(uids, all[i])
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuMeter(b)()
	for b.Loop() {
		for start := 0; start < len(uids); start += 256 {
			if _, err := mb.Details(ctx, uids[start:min(start+256, len(uids))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkChanges10Sessions: one op is one flag change on a 1,000-message
// mailbox followed by what ten selected sessions do about it: each probes
// HighestModSeq and asks Changes since what it last knew, concurrently.
func BenchmarkChanges10Sessions(b *testing.B) {
	s := openTest(b, Options{})
	mb := fillInbox(b, s, 1000)
	uids := allUIDs(b, mb)
	ctx := context.Background()
	const sessions = 10
	// Selected sessions pin their mailbox.
	for range sessions {
		defer mb.Pin().Release()
	}
	last := make([]store.ModSeq, sessions)
	hms, err := mb.HighestModSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range last {
		last[i] = hms
	}
	b.ReportAllocs()
	defer cpuMeter(b)()
	i := 0
	for b.Loop() {
		op := store.FlagsAdd
		if (i/len(uids))%2 == 1 {
			op = store.FlagsRemove
		}
		if _, err := mb.StoreFlags(ctx, uids[i%len(uids):i%len(uids)+1], op, []string{"$Bench"}, 0); err != nil {
			b.Fatal(err)
		}
		i++
		var wg sync.WaitGroup
		for k := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := mb.HighestModSeq(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				if h == last[k] {
					return
				}
				ch, err := mb.Changes(ctx, last[k])
				if err != nil || len(ch.Updated) != 1 {
					b.Errorf("Changes: %v, %d updated", err, len(ch.Updated))
					return
				}
				last[k] = ch.HighestModSeq
			}()
		}
		wg.Wait()
	}
}

// BenchmarkStoreFlagsAll: STORE 1:* +FLAGS then -FLAGS on 1,000 messages
// (each op changes all of them), the mailbox selected by a session.
func BenchmarkStoreFlagsAll(b *testing.B) {
	s := openTest(b, Options{})
	mb := fillInbox(b, s, 1000)
	defer mb.Pin().Release()
	uids := allUIDs(b, mb)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuMeter(b)()
	i := 0
	for b.Loop() {
		op := store.FlagsAdd
		if i%2 == 1 {
			op = store.FlagsRemove
		}
		i++
		res, err := mb.StoreFlags(ctx, uids, op, []string{"$Bench"}, 0)
		if err != nil || len(res.Updated) != len(uids) {
			b.Fatal(len(res.Updated), err)
		}
	}
}

// BenchmarkStoreFlagsOne: STORE of one message, one at a time: the fixed
// cost of a write (queue, batch, savepoint, commit with its WAL fsync).
func BenchmarkStoreFlagsOne(b *testing.B) {
	s := openTest(b, Options{})
	mb := fillInbox(b, s, 1000)
	defer mb.Pin().Release()
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuMeter(b)()
	i := 0
	for b.Loop() {
		op := store.FlagsAdd
		if i%2 == 1 {
			op = store.FlagsRemove
		}
		i++
		if _, err := mb.StoreFlags(ctx, []store.UID{store.UID(1 + i%1000)}, op, []string{"$Bench"}, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMixedSessions: ten sessions on one shared 200-message INBOX,
// each doing what the mixed IMAP workload does, one command per op:
// APPEND, STORE on one message, FETCH ENVELOPE of 20, COPY to Archive,
// STORE \Deleted + EXPUNGE of what it appended, and after every command
// the probe (HighestModSeq, Changes when it moved, ClaimRecent when new
// messages showed up). Appends fsync like real deliveries.
func BenchmarkMixedSessions(b *testing.B) {
	s := openTest(b, Options{})
	fillInbox(b, s, 200)
	ctx := context.Background()
	mbs, err := s.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	var seed atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(5) // 10 sessions on 2 CPUs
	b.ResetTimer()
	cpuDone := cpuMeter(b)
	busy0 := s.busy.Load()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 7))
		mb, err := mbs.Open(ctx, "INBOX")
		if err != nil {
			b.Error(err)
			return
		}
		pin := mb.Pin()
		defer pin.Release()
		msgs, err := mb.Messages(ctx)
		if err != nil {
			b.Error(err)
			return
		}
		known := map[store.UID]bool{}
		for _, m := range msgs {
			known[m.UID] = true
		}
		last, _ := mb.HighestModSeq(ctx)
		sync := func() {
			h, err := mb.HighestModSeq(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			if h <= last {
				return
			}
			ch, err := mb.Changes(ctx, last)
			if err != nil {
				b.Error(err)
				return
			}
			fresh := false
			for _, m := range ch.Updated {
				if !known[m.UID] {
					known[m.UID] = true
					fresh = true
				}
			}
			for _, u := range ch.Expunged {
				delete(known, u)
			}
			last = ch.HighestModSeq
			pin.Advance(last)
			if fresh {
				if _, err := mb.ClaimRecent(ctx); err != nil {
					b.Error(err)
				}
			}
		}
		some := func(k int) []store.UID {
			var out []store.UID
			for u := range known {
				out = append(out, u)
				if len(out) == k {
					break
				}
			}
			return out
		}
		var mine []store.UID
		step := 0
		for pb.Next() {
			switch step % 6 {
			case 0:
				res, err := s.Deliver(ctx, strings.NewReader(benchBody(n.Add(1))), []store.Target{{Account: "alice@example.com"}})
				if err != nil || res[0].Err != nil {
					b.Error(err, res)
					return
				}
				mine = append(mine, res[0].UID)
			case 1:
				u := some(1)
				op := store.FlagsAdd
				if rng.IntN(2) == 0 {
					op = store.FlagsRemove
				}
				if _, err := mb.StoreFlags(ctx, u, op, []string{store.FlagFlagged}, 0); err != nil {
					b.Error(err)
				}
			case 2:
				if _, err := mb.Details(ctx, some(20)); err != nil {
					b.Error(err)
				}
			case 3:
				if _, err := mb.CopyTo(ctx, some(1), "Archive"); err != nil {
					b.Error(err)
				}
			case 4:
				if _, err := mb.StoreFlags(ctx, mine, store.FlagsAdd, []string{store.FlagDeleted}, 0); err != nil {
					b.Error(err)
				}
			case 5:
				if _, err := mb.Expunge(ctx, mine); err != nil {
					b.Error(err)
				}
				mine = mine[:0]
			}
			step++
			sync()
		}
	})
	b.StopTimer()
	cpuDone()
	b.ReportMetric(float64(s.busy.Load()-busy0)/float64(b.N), "writer-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
	if c := s.batches.Load(); c > 0 {
		b.ReportMetric(float64(s.batchedJobs.Load())/float64(c), "jobs/commit")
	}
}
