package storetest

import (
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
		select {
		case c, ok := <-w.C():
			if !ok {
				t.Fatalf("%s: watcher closed", what)
			}
			if match(c) {
				return c
			}
		case <-timeout:
			t.Fatalf("%s: no event", what)
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

	// Bob saw none of it.
	select {
	case c := <-bobW.C():
		t.Errorf("bob got alice's event %+v", c)
	case <-time.After(50 * time.Millisecond):
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
		select {
		case c := <-slow.C():
			if c.MailboxID == ib.ID && c.Kind == store.MailboxChanged {
				if c.ModSeq <= last {
					t.Fatalf("events out of order: %d after %d", c.ModSeq, last)
				}
				last = c.ModSeq
			}
		case <-timeout:
			t.Fatalf("slow reader never saw MODSEQ %d (last %d)", final, last)
		}
	}
}
