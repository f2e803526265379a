package postgres

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/storetest"
)

// Two Stores on one database stand for two letterbox nodes.

func TestMultiNodeChangeFeed(t *testing.T) {
	dsn := freshSchema(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	if _, err := a.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	// B sees the account A created, and watches it.
	mbsB, err := b.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("node B does not see the account node A created: %v", err)
	}
	inboxB, err := mbsB.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	before, err := inboxB.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wB := b.Watch("alice@example.com")
	defer wB.Close()

	// A delivery through A wakes B's watcher, and B's Changes sees it.
	res, err := a.Deliver(ctx, strings.NewReader("Subject: hi\r\n\r\nfrom node A\r\n"), []store.Target{{Account: "alice@example.com"}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Deliver on A: %v %+v", err, res)
	}
	c := storetest.WaitChange(t, wB, "delivery on A seen by B", func(c store.Change) bool {
		return c.Kind == store.MailboxChanged && c.MailboxID == before.ID
	})
	if c.Mailbox != "INBOX" || c.ModSeq != before.HighestModSeq+1 {
		t.Errorf("B got %+v, want INBOX at MODSEQ %d", c, before.HighestModSeq+1)
	}
	ch, err := inboxB.Changes(ctx, before.HighestModSeq)
	if err != nil || len(ch.Updated) != 1 || ch.Updated[0].UID != res[0].UID || ch.HighestModSeq != c.ModSeq {
		t.Fatalf("B's Changes(%d) = %+v, %v", before.HighestModSeq, ch, err)
	}
	blob, err := b.OpenBlob(ctx, ch.Updated[0].BlobID)
	if err != nil {
		t.Fatalf("B cannot open the body A stored: %v", err)
	}
	blob.Close()

	// And the other way: a flag change through B wakes A's watcher.
	wA := a.Watch("alice@example.com")
	defer wA.Close()
	up, err := inboxB.StoreFlags(ctx, []store.UID{res[0].UID}, store.FlagsAdd, []string{store.FlagSeen}, 0)
	if err != nil || len(up.Updated) != 1 {
		t.Fatalf("StoreFlags on B: %+v, %v", up, err)
	}
	c = storetest.WaitChange(t, wA, "flag change on B seen by A", func(c store.Change) bool { return c.Kind == store.MailboxChanged })
	if c.ModSeq != up.Updated[0].ModSeq {
		t.Errorf("A got %+v, want MODSEQ %d", c, up.Updated[0].ModSeq)
	}

	// Mailbox events cross too.
	mbsA, _ := a.Mailboxes(ctx, "alice@example.com")
	mi, err := mbsA.Create(ctx, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	c = storetest.WaitChange(t, wB, "create on A seen by B", func(c store.Change) bool { return c.Kind == store.MailboxCreated })
	if c.MailboxID != mi.ID || c.Mailbox != "Projects" {
		t.Errorf("B got %+v", c)
	}
	if err := mbsB.Rename(ctx, "Projects", "Work|Projects"); err != nil {
		t.Fatal(err)
	}
	c = storetest.WaitChange(t, wA, "rename on B seen by A", func(c store.Change) bool { return c.Kind == store.MailboxRenamed })
	if c.MailboxID != mi.ID || c.Mailbox != "Work|Projects" {
		t.Errorf("A got %+v", c)
	}

	// A \Recent message goes to exactly one session, whichever node.
	if _, err := b.Deliver(ctx, strings.NewReader("Subject: 2\r\n\r\n"), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	inboxA, _ := mbsA.Open(ctx, "INBOX")
	gotA, errA := inboxA.ClaimRecent(ctx)
	gotB, errB := inboxB.ClaimRecent(ctx)
	if errA != nil || errB != nil || len(gotA)+len(gotB) != 2 || len(gotB) != 0 {
		t.Errorf("ClaimRecent A=%v (%v) B=%v (%v): want both messages on A, none left for B", gotA, errA, gotB, errB)
	}
}

// TestMultiNodeConcurrency runs the suite's concurrency check with every
// call alternating between two nodes: UIDs and MODSEQs stay unique and
// gapless, and no flag update is lost, when the writers are on different
// nodes.
func TestMultiNodeConcurrency(t *testing.T) {
	dsn := freshSchema(t)
	storetest.CheckConcurrency(t, &twoNodes{nodes: [2]store.Store{openStore(t, dsn), openStore(t, dsn)}})
}

// twoNodes sends each Deliver, Mailboxes and Open to the next node in
// turn.
type twoNodes struct {
	nodes [2]store.Store
	next  atomic.Uint32
}

func (n *twoNodes) pick() store.Store { return n.nodes[n.next.Add(1)%2] }

func (n *twoNodes) CreateAccount(ctx context.Context, name, hash string) (store.Account, error) {
	return n.pick().CreateAccount(ctx, name, hash)
}
func (n *twoNodes) DeleteAccount(ctx context.Context, name string) error {
	return n.pick().DeleteAccount(ctx, name)
}
func (n *twoNodes) SetPasswordHash(ctx context.Context, name, hash string) error {
	return n.pick().SetPasswordHash(ctx, name, hash)
}
func (n *twoNodes) Account(ctx context.Context, name string) (store.Account, error) {
	return n.pick().Account(ctx, name)
}
func (n *twoNodes) Accounts(ctx context.Context) ([]store.Account, error) {
	return n.pick().Accounts(ctx)
}
func (n *twoNodes) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	return n.pick().Deliver(ctx, body, targets)
}
func (n *twoNodes) OpenBlob(ctx context.Context, id string) (store.Blob, error) {
	return n.pick().OpenBlob(ctx, id)
}
func (n *twoNodes) Watch(account string) store.Watcher { return n.pick().Watch(account) }
func (n *twoNodes) Close() error                       { return nil }

func (n *twoNodes) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	var all [2]store.Mailboxes
	for i, s := range n.nodes {
		m, err := s.Mailboxes(ctx, account)
		if err != nil {
			return nil, err
		}
		all[i] = m
	}
	return &twoNodeMailboxes{Mailboxes: all[0], all: all, n: n}, nil
}

type twoNodeMailboxes struct {
	store.Mailboxes
	all [2]store.Mailboxes
	n   *twoNodes
}

func (m *twoNodeMailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	return m.all[m.n.next.Add(1)%2].Open(ctx, name)
}

// TestListenerReconnect kills the LISTEN connection and keeps it down
// while another node delivers: that notification is lost, so after
// reconnecting the store announces every mailbox of the watched accounts,
// and then live notifications flow again.
func TestListenerReconnect(t *testing.T) {
	dsn := freshSchema(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	down := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	hook := func() {
		once.Do(func() {
			close(down)
			<-release
		})
	}
	a.reconnectHook.Store(&hook)
	if _, err := a.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	mbs, _ := a.Mailboxes(ctx, "alice@example.com")
	inbox, _ := mbs.Open(ctx, "INBOX")
	ib, _ := inbox.Info(ctx)
	w := a.Watch("alice@example.com")
	defer w.Close()

	old := a.listenerPID.Load()
	var killed bool
	if err := b.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(old)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", old, killed, err)
	}
	select {
	case <-down:
	case <-time.After(5 * time.Second):
		t.Fatal("listener did not notice its connection died")
	}
	// Node A's own writes do not wait for a listener that is down.
	start := time.Now()
	if _, err := mbs.Create(ctx, "While Down", ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > dispatchWait/2 {
		t.Errorf("a write took %v with the listener down", d)
	}
	if _, err := b.Deliver(ctx, strings.NewReader("Subject: during\r\n\r\n"), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	close(release)
	storetest.WaitChange(t, w, "resync announces INBOX at its new MODSEQ", func(c store.Change) bool {
		return c.Kind == store.MailboxChanged && c.MailboxID == ib.ID && c.ModSeq == ib.HighestModSeq+1
	})
	storetest.WaitChange(t, w, "resync announces the mailbox made while down", func(c store.Change) bool {
		return c.Kind == store.MailboxChanged && c.Mailbox == "While Down"
	})
	if a.listenerPID.Load() == old {
		t.Fatal("listener PID unchanged after reconnect")
	}
	res, err := b.Deliver(ctx, strings.NewReader("Subject: after\r\n\r\n"), []store.Target{{Account: "alice@example.com"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	storetest.WaitChange(t, w, "delivery after reconnect", func(c store.Change) bool {
		return c.Kind == store.MailboxChanged && c.MailboxID == ib.ID && c.ModSeq == ib.HighestModSeq+2
	})
}

// TestConcurrentOpen starts several nodes on an empty schema at once: the
// migration runs once, under its advisory lock, and every node works.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshSchema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, Options{DSN: dsn, SpoolDir: t.TempDir()})
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		defer s.Close()
	}
	for i, s := range stores {
		if _, err := s.CreateAccount(ctx, "user"+string(rune('a'+i))+"@example.com", "x"); err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	if list, err := stores[0].Accounts(ctx); err != nil || len(list) != len(stores) {
		t.Errorf("Accounts = %+v, %v", list, err)
	}
}

// TestListenerQuietPings: with the liveness check every few milliseconds,
// the listener keeps its connection (no reconnect) and loses nothing
// between checks.
func TestListenerQuietPings(t *testing.T) {
	// Restored after the stores closed (cleanups run last-in first-out).
	saved := listenPingInterval
	t.Cleanup(func() { listenPingInterval = saved })
	listenPingInterval = 5 * time.Millisecond
	dsn := freshSchema(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	if _, err := b.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	pid := a.listenerPID.Load()
	w := a.Watch("alice@example.com")
	defer w.Close()
	var last store.ModSeq
	for i := 0; i < 20; i++ {
		time.Sleep(7 * time.Millisecond)
		if _, err := b.Deliver(ctx, strings.NewReader("Subject: "+string(rune('a'+i))+"\r\n\r\n"), []store.Target{{Account: "alice@example.com"}}); err != nil {
			t.Fatal(err)
		}
		c := storetest.WaitChange(t, w, "delivery between pings", func(c store.Change) bool { return c.Kind == store.MailboxChanged })
		if c.ModSeq <= last {
			t.Fatalf("MODSEQ %d after %d", c.ModSeq, last)
		}
		last = c.ModSeq
	}
	if a.listenerPID.Load() != pid {
		t.Error("listener reconnected although its connection was fine")
	}
}
