package store

import (
	"sync"
	"testing"
	"time"
)

// drain reads everything currently obtainable from w until no event comes
// for a short while.
func drain(t *testing.T, w Watcher) []Change {
	t.Helper()
	got, _ := w.Take()
	return got
}

func TestFeedDeliversInOrderToWatchersOfTheAccount(t *testing.T) {
	f := NewFeed()
	defer f.Close()
	alice := f.Watch("Alice@example.com")
	defer alice.Close()
	bob := f.Watch("bob@example.com")
	defer bob.Close()

	f.Publish("alice@example.com", Change{Kind: MailboxCreated, MailboxID: 1, Mailbox: "A", ModSeq: 1})
	f.Publish("alice@example.com", Change{Kind: MailboxChanged, MailboxID: 1, Mailbox: "A", ModSeq: 2})

	got := drain(t, alice)
	if len(got) != 2 || got[0].Kind != MailboxCreated || got[1].Kind != MailboxChanged || got[1].ModSeq != 2 {
		t.Fatalf("alice got %+v", got)
	}
	if got := drain(t, bob); len(got) != 0 {
		t.Fatalf("bob got alice's events: %+v", got)
	}
}

func TestFeedSlowReaderNeverBlocksAndKeepsHighestModSeq(t *testing.T) {
	f := NewFeed()
	defer f.Close()
	w := f.Watch("a")
	defer w.Close()

	const n = 20000
	done := make(chan struct{})
	go func() {
		for i := 1; i <= n; i++ {
			f.Publish("a", Change{Kind: MailboxChanged, MailboxID: int64(i % 3), ModSeq: ModSeq(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a reader that does not read")
	}
	got := drain(t, w)
	if len(got) >= n {
		t.Fatalf("no coalescing: got %d events for %d publishes", len(got), n)
	}
	last := map[int64]ModSeq{}
	for _, c := range got {
		if c.ModSeq <= last[c.MailboxID] {
			t.Fatalf("mailbox %d: modseq %d after %d (not in commit order)", c.MailboxID, c.ModSeq, last[c.MailboxID])
		}
		last[c.MailboxID] = c.ModSeq
	}
	for id := int64(0); id < 3; id++ {
		want := ModSeq(n - (n-int(id))%3)
		if last[id] != want {
			t.Errorf("mailbox %d: last modseq %d, want %d", id, last[id], want)
		}
	}
}

func TestFeedDoesNotMergeAcrossOtherEventsOfTheMailbox(t *testing.T) {
	f := NewFeed()
	defer f.Close()
	w := f.Watch("a")
	defer w.Close()
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, ModSeq: 5})
	f.Publish("a", Change{Kind: MailboxRenamed, MailboxID: 1, Mailbox: "B"})
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, Mailbox: "B", ModSeq: 6})
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, Mailbox: "B", ModSeq: 7})
	got := drain(t, w)
	var mb1 []Change
	for _, c := range got {
		if c.MailboxID == 1 {
			mb1 = append(mb1, c)
		}
	}
	want := []Change{
		{Kind: MailboxChanged, MailboxID: 1, ModSeq: 5},
		{Kind: MailboxRenamed, MailboxID: 1, Mailbox: "B"},
		{Kind: MailboxChanged, MailboxID: 1, Mailbox: "B", ModSeq: 7},
	}
	if len(mb1) != len(want) {
		t.Fatalf("got %+v, want %+v", mb1, want)
	}
	for i := range want {
		got := mb1[i]
		if got.At.IsZero() {
			t.Fatalf("event %d has no At", i)
		}
		got.At = time.Time{}
		if got != want[i] {
			t.Fatalf("event %d: got %+v, want %+v", i, got, want[i])
		}
	}
}

// Publish stamps each change with the time it reached the feed (unless the
// driver gave one), and a merged signal keeps its oldest change's time, so
// a watcher's lag measurement covers the longest wait.
func TestFeedStampsArrival(t *testing.T) {
	f := NewFeed()
	defer f.Close()
	w := f.Watch("a")
	defer w.Close()
	before := time.Now()
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, ModSeq: 5})
	first := drain(t, w)[0].At
	if first.Before(before) || first.After(time.Now()) {
		t.Fatalf("At %v not between %v and now", first, before)
	}
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, ModSeq: 6})
	time.Sleep(5 * time.Millisecond)
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, ModSeq: 7})
	got := drain(t, w)
	if len(got) != 1 || got[0].ModSeq != 7 {
		t.Fatalf("not merged: %+v", got)
	}
	if time.Since(got[0].At) < 5*time.Millisecond {
		t.Fatalf("merged signal took the newer change's time")
	}
	given := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Publish("a", Change{Kind: MailboxCreated, MailboxID: 2, At: given})
	if got := drain(t, w); !got[0].At.Equal(given) {
		t.Fatalf("At %v, want the driver's %v", got[0].At, given)
	}
}

func TestFeedCloseClosesChannels(t *testing.T) {
	f := NewFeed()
	w := f.Watch("a")
	w2 := f.Watch("a")
	w2.Close()
	if _, ok := <-w2.Ready(); ok {
		t.Fatal("closed watcher signalled ready")
	}
	if got, open := w2.Take(); len(got) != 0 || open {
		t.Fatalf("closed watcher: %v, open %v", got, open)
	}
	f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, ModSeq: 2})
	f.Close()
	for range w.Ready() {
	}
	after := f.Watch("a")
	if _, ok := <-after.Ready(); ok {
		t.Fatal("watcher on closed feed signalled ready")
	}
	after.Close()
	w.Close() // idempotent after feed close
	f.Publish("a", Change{})
}

func TestFeedConcurrentPublishWatchClose(t *testing.T) {
	f := NewFeed()
	defer f.Close()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				f.Publish("a", Change{Kind: MailboxChanged, MailboxID: int64(j % 5), ModSeq: ModSeq(j)})
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				w := f.Watch("a")
				select {
				case <-w.Ready():
					w.Take()
				default:
				}
				w.Close()
			}
		}()
	}
	wg.Wait()
}

// TestFeedTakeSeesPublishAtOnce is the "read your peers' writes" property
// on one node: once Publish returned, Take in another goroutine sees the
// change, with no goroutine hop in between.
func TestFeedTakeSeesPublishAtOnce(t *testing.T) {
	f := NewFeed()
	defer f.Close()
	w := f.Watch("a")
	defer w.Close()
	for i := 1; i <= 1000; i++ {
		published := make(chan struct{})
		go func() {
			f.Publish("a", Change{Kind: MailboxChanged, MailboxID: 1, ModSeq: ModSeq(i)})
			close(published)
		}()
		<-published
		got, open := w.Take()
		if !open || len(got) != 1 || got[0].ModSeq != ModSeq(i) {
			t.Fatalf("round %d: Take right after Publish got %+v (open %v)", i, got, open)
		}
		select {
		case <-w.Ready():
		default:
			t.Fatalf("round %d: Ready not signalled", i)
		}
	}
}

func TestFeedMergesSubscriptionChanges(t *testing.T) {
	f := NewFeed()
	w := f.Watch("a")
	defer w.Close()
	for i := 0; i < 1000; i++ {
		f.Publish("a", Change{Kind: SubscriptionChanged, Mailbox: "x"})
		if i == 10 {
			f.Publish("a", Change{Kind: MailboxCreated, MailboxID: 7, Mailbox: "y"})
		}
	}
	got, _ := w.Take()
	if len(got) != 2 || got[0].Kind != MailboxCreated || got[1].Kind != SubscriptionChanged {
		t.Fatalf("pending after 1000 subscription changes = %+v, want the create then one subscription change", got)
	}
}

func TestFeedMergesMetadataChangesPerEntry(t *testing.T) {
	f := NewFeed()
	w := f.Watch("a")
	defer w.Close()
	for i := 0; i < 1000; i++ {
		f.Publish("a", Change{Kind: MetadataChanged, Entry: "/private/vacation"})
		f.Publish("a", Change{Kind: MetadataChanged, MailboxID: 3, Mailbox: "m", Entry: "/private/comment"})
		if i == 10 {
			f.Publish("a", Change{Kind: MailboxCreated, MailboxID: 7, Mailbox: "y"})
			f.Publish("a", Change{Kind: MetadataChanged, MailboxID: 3, Mailbox: "m", Entry: "/shared/comment"})
		}
	}
	got, _ := w.Take()
	want := []Change{
		{Kind: MailboxCreated, MailboxID: 7, Mailbox: "y"},
		{Kind: MetadataChanged, MailboxID: 3, Mailbox: "m", Entry: "/shared/comment"},
		{Kind: MetadataChanged, Entry: "/private/vacation"},
		{Kind: MetadataChanged, MailboxID: 3, Mailbox: "m", Entry: "/private/comment"},
	}
	if len(got) != len(want) {
		t.Fatalf("pending after 2000 metadata writes = %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		g.At = time.Time{}
		if g != want[i] {
			t.Fatalf("pending[%d] = %+v, want %+v (all: %+v)", i, got[i], want[i], got)
		}
	}
	// A merged event keeps the oldest At: the lag of its first write.
	if !got[2].At.Before(got[1].At) {
		t.Errorf("the merged vacation event's At %v is not older than the later /shared/comment's %v", got[2].At, got[1].At)
	}
}
