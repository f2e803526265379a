package sqlite

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// TestChangeLogMatchesSQL drives random writes (deliveries with flags and
// dates in several zones, STORE of every kind, EXPUNGE, COPY and MOVE in,
// out and within, RENAME of INBOX) on pinned mailboxes and checks after
// each that Changes from the log equals Changes from SQL for every since
// the log covers; a small logKeep makes it trim often.
func TestChangeLogMatchesSQL(t *testing.T) {
	defer func(k int) { logKeep = k }(logKeep)
	logKeep = 8
	s := openTest(t, Options{CollectDelay: time.Millisecond})
	ctx := context.Background()
	mbs := s.mailboxesFor(t)
	open := func(name string) *mailbox {
		mb, err := mbs.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return mb.(*mailbox)
	}
	inbox, archive := open("INBOX"), open("Archive")
	pins := []store.Pin{inbox.Pin(), archive.Pin()}
	defer func() {
		for _, p := range pins {
			p.Release()
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("X", 5400), time.FixedZone("", -7200)}
	flagPool := []string{store.FlagSeen, store.FlagFlagged, store.FlagDeleted, "$Label", "$Other"}
	pick := func(mb *mailbox, k int) []store.UID {
		msgs, err := mb.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []store.UID
		for _, m := range msgs {
			if rng.IntN(len(msgs)+1) < k {
				out = append(out, m.UID)
			}
		}
		return out
	}
	fromLog := 0
	check := func(step int, mb *mailbox) {
		hms, err := mb.HighestModSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for since := store.ModSeq(0); since <= hms+1; since++ {
			got, ok := s.logChanges(mb.id, since)
			if !ok {
				continue
			}
			fromLog++
			want, err := mb.changesSQL(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d, mailbox %d, since %d:\nlog %+v\nsql %+v", step, mb.id, since, got, want)
			}
		}
	}
	for step := 0; step < 300; step++ {
		mb, other := inbox, archive
		if rng.IntN(3) == 0 {
			mb, other = archive, inbox
		}
		var err error
		if step%75 == 74 {
			// RENAME of INBOX empties it (expunges everything).
			if err := mbs.Rename(ctx, "INBOX", "Saved"+string(rune('a'+step/75))); err != nil {
				t.Fatal(err)
			}
			check(step, inbox)
			continue
		}
		switch op := rng.IntN(9); {
		case op < 3:
			var flags []string
			for _, f := range flagPool {
				if rng.IntN(3) == 0 {
					flags = append(flags, f)
				}
			}
			date := time.Date(2024, 3, 1+rng.IntN(20), 0, 0, 0, 123, zones[rng.IntN(len(zones))])
			name := "INBOX"
			if mb == archive {
				name = "Archive"
			}
			_, err = s.Deliver(ctx, strings.NewReader(benchBody(int64(step))),
				[]store.Target{{Account: "alice@example.com", Mailbox: name, Flags: flags, InternalDate: date}})
		case op < 6:
			_, err = mb.StoreFlags(ctx, pick(mb, 3), store.FlagOp(rng.IntN(3)), []string{flagPool[rng.IntN(len(flagPool))]}, 0)
		case op < 7:
			_, err = mb.Expunge(ctx, pick(mb, 2))
		case op < 8:
			_, err = mb.CopyTo(ctx, pick(mb, 2), "Archive")
		default:
			dest := "Archive"
			if other == inbox || rng.IntN(4) == 0 {
				dest = "INBOX"
			}
			_, err = mb.MoveTo(ctx, pick(mb, 2), dest)
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		check(step, inbox)
		check(step, archive)
	}
	if fromLog == 0 {
		t.Fatal("no Changes call was answered from the log")
	}
	t.Logf("%d comparisons", fromLog)
}

// A log exists only while a session has the mailbox selected, and a gap
// (a change that bypassed the log) makes Changes go to SQL.
func TestChangeLogOnlyWhilePinnedAndWithoutGaps(t *testing.T) {
	s := openTest(t, Options{CollectDelay: time.Millisecond})
	ctx := context.Background()
	mb := inbox(t, s).(*mailbox)
	deliver := func() {
		t.Helper()
		if _, err := s.Deliver(ctx, strings.NewReader(benchBody(rand.Int64())), alice); err != nil {
			t.Fatal(err)
		}
	}
	deliver()
	if _, ok := s.logChanges(mb.id, 0); ok {
		t.Fatal("log without any pin")
	}
	pin := mb.Pin()
	hms, _ := mb.HighestModSeq(ctx)
	deliver()
	if ch, ok := s.logChanges(mb.id, hms); !ok || len(ch.Updated) != 1 {
		t.Fatalf("pinned: log answer %+v, %v", ch, ok)
	}
	if _, ok := s.logChanges(mb.id, hms-1); ok {
		t.Error("log answered for a since below its horizon")
	}
	// A change the log did not see (as from another process).
	err := s.write(ctx, func(w *wtx) error {
		_, err := w.exec("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?", mb.id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deliver()
	now, _ := mb.HighestModSeq(ctx)
	if _, ok := s.logChanges(mb.id, hms); ok {
		t.Error("log answered across a gap")
	}
	if ch, ok := s.logChanges(mb.id, now-1); !ok || len(ch.Updated) != 1 {
		t.Errorf("log restarted after the gap: %+v, %v", ch, ok)
	}
	pin.Release()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.hmsMu.RLock()
		_, has := s.logs[mb.id]
		s.hmsMu.RUnlock()
		if !has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("log kept after the last pin went")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
