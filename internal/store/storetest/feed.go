package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// WaitChange reads w until an event matching match arrives (other events
// are skipped) or five seconds pass; drivers' own feed tests use it too.
func WaitChange(t *testing.T, w store.Watcher, what string, match func(store.Change) bool) store.Change {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		c, ok, open := NextChange(w, timeout)
		if !open {
			t.Fatalf("%s: watcher closed", what)
		}
		if !ok {
			t.Fatalf("%s: no event", what)
		}
		if match(c) {
			return c
		}
	}
}

// leftovers keeps, per watcher, the changes a Take returned beyond the one
// NextChange handed out, so tests can read the feed one event at a time.
var (
	leftoverMu sync.Mutex
	leftovers  = map[store.Watcher][]store.Change{}
)

// NextChange returns the watcher's next change, waiting until timeout
// fires. ok is false on timeout; open is false once the feed closed and
// nothing is left.
func NextChange(w store.Watcher, timeout <-chan time.Time) (c store.Change, ok, open bool) {
	for {
		leftoverMu.Lock()
		if q := leftovers[w]; len(q) > 0 {
			c = q[0]
			if len(q) == 1 {
				delete(leftovers, w)
			} else {
				leftovers[w] = q[1:]
			}
			leftoverMu.Unlock()
			return c, true, true
		}
		got, isOpen := w.Take()
		if len(got) > 0 {
			leftovers[w] = got
			leftoverMu.Unlock()
			continue
		}
		leftoverMu.Unlock()
		if !isOpen {
			return c, false, false
		}
		select {
		case <-w.Ready():
		case <-timeout:
			return c, false, true
		}
	}
}

func testChangeFeed(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	w := s.Watch("Alice@example.com")
	defer w.Close()
	bobW := s.Watch("bob@example.com")
	defer bobW.Close()
	inbox := openMailbox(t, mbs, "INBOX")
	ib := info(t, inbox)

	deliver(t, s, msg(1), store.Target{Account: "alice@example.com"})
	c := WaitChange(t, w, "delivery", func(c store.Change) bool { return c.Kind == store.MailboxChanged })
	if c.MailboxID != ib.ID || c.ModSeq != info(t, inbox).HighestModSeq {
		t.Errorf("delivery event %+v, mailbox %+v", c, info(t, inbox))
	}
	// The change is visible by the time the event arrives.
	ch, err := inbox.Changes(ctx, ib.HighestModSeq)
	if err != nil || len(ch.Updated) != 1 {
		t.Errorf("Changes after event = %+v, %v", ch, err)
	}

	storeFlags(t, inbox, []store.UID{1}, store.FlagsAdd, store.FlagSeen)
	c = WaitChange(t, w, "flags", func(c store.Change) bool { return c.Kind == store.MailboxChanged })
	if c.ModSeq != info(t, inbox).HighestModSeq {
		t.Errorf("flag event %+v", c)
	}
	if _, err := inbox.Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	c = WaitChange(t, w, "expunge", func(c store.Change) bool { return c.Kind == store.MailboxChanged })
	if c.ModSeq != info(t, inbox).HighestModSeq {
		t.Errorf("expunge event %+v", c)
	}

	mi, err := mbs.Create(ctx, "Lists", "")
	if err != nil {
		t.Fatal(err)
	}
	c = WaitChange(t, w, "create", func(c store.Change) bool { return c.Kind == store.MailboxCreated })
	if c.MailboxID != mi.ID || c.Mailbox != "Lists" {
		t.Errorf("create event %+v", c)
	}
	if err := mbs.Rename(ctx, "Lists", "Groups"); err != nil {
		t.Fatal(err)
	}
	c = WaitChange(t, w, "rename", func(c store.Change) bool { return c.Kind == store.MailboxRenamed })
	if c.MailboxID != mi.ID || c.Mailbox != "Groups" {
		t.Errorf("rename event %+v", c)
	}
	if err := mbs.Delete(ctx, "Groups"); err != nil {
		t.Fatal(err)
	}
	c = WaitChange(t, w, "delete", func(c store.Change) bool { return c.Kind == store.MailboxDeleted })
	if c.MailboxID != mi.ID {
		t.Errorf("delete event %+v", c)
	}

	// Subscriptions: a real change is announced, a repeated one is not.
	if err := mbs.SetSubscribed(ctx, "Lists/Go", true); err != nil {
		t.Fatal(err)
	}
	c = WaitChange(t, w, "subscribe", func(c store.Change) bool { return c.Kind == store.SubscriptionChanged })
	if c.Mailbox != "Lists/Go" {
		t.Errorf("subscribe event %+v", c)
	}
	if err := mbs.SetSubscribed(ctx, "Lists/Go", true); err != nil {
		t.Fatal(err)
	}
	if err := mbs.SetSubscribed(ctx, "Lists/Go", false); err != nil {
		t.Fatal(err)
	}
	c = WaitChange(t, w, "unsubscribe", func(c store.Change) bool { return true })
	if c.Kind != store.SubscriptionChanged || c.Mailbox != "Lists/Go" {
		t.Errorf("after a repeated subscribe and an unsubscribe, next event %+v, want one SubscriptionChanged", c)
	}
	if err := mbs.SetSubscribed(ctx, "Lists/Go", false); err != nil {
		t.Fatal(err)
	}
	if c, ok, _ := NextChange(w, time.After(50*time.Millisecond)); ok {
		t.Errorf("unsubscribing a name not subscribed announced %+v", c)
	}

	// Bob saw none of it.
	if c, ok, _ := NextChange(bobW, time.After(50*time.Millisecond)); ok {
		t.Errorf("bob got alice's event %+v", c)
	}

	// A reader that does not read never blocks writers, and once it reads
	// it learns the final MODSEQ of the mailbox.
	slow := s.Watch("alice@example.com")
	defer slow.Close()
	for i := 0; i < 100; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	final := info(t, inbox).HighestModSeq
	var last store.ModSeq
	timeout := time.After(5 * time.Second)
	for last < final {
		c, ok, _ := NextChange(slow, timeout)
		if !ok {
			t.Fatalf("slow reader never saw MODSEQ %d (last %d)", final, last)
		}
		if c.MailboxID == ib.ID && c.Kind == store.MailboxChanged {
			if c.ModSeq <= last {
				t.Fatalf("events out of order: %d after %d", c.ModSeq, last)
			}
			last = c.ModSeq
		}
	}
}
