package imapserver_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// countingStore counts the mailbox queries sessions make.
type countingStore struct {
	store.Store
	queries *atomic.Int64
}

func (s countingStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	m, err := s.Store.Mailboxes(ctx, account)
	return countingMailboxes{m, s.queries}, err
}

type countingMailboxes struct {
	store.Mailboxes
	queries *atomic.Int64
}

func (m countingMailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	mb, err := m.Mailboxes.Open(ctx, name)
	return countingMailbox{mb, m.queries}, err
}

type countingMailbox struct {
	store.Mailbox
	queries *atomic.Int64
}

func (m countingMailbox) Changes(ctx context.Context, since store.ModSeq) (store.Changes, error) {
	m.queries.Add(1)
	return m.Mailbox.Changes(ctx, since)
}

func (m countingMailbox) Messages(ctx context.Context) ([]store.Message, error) {
	m.queries.Add(1)
	return m.Mailbox.Messages(ctx)
}

// TestIdleDoesNotPoll: an idling session runs no store query until the
// change feed signals its mailbox, and then one.
func TestIdleDoesNotPoll(t *testing.T) {
	var queries atomic.Int64
	h := newHarness(t, func(o *imapserver.Options) { o.Store = countingStore{o.Store, &queries} })
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 IDLE
S: + idling
`)
	before := queries.Load()
	time.Sleep(500 * time.Millisecond)
	if n := queries.Load() - before; n != 0 {
		t.Fatalf("%d store queries while idle with nothing happening", n)
	}
	h.deliver("Archive", msg1) // another mailbox: no query either
	h.deliver("INBOX", msg1)
	c.run(`
S: * 1 EXISTS
S: * 1 RECENT
`)
	if n := queries.Load() - before; n != 1 {
		t.Fatalf("%d store queries for one delivery, want 1", n)
	}
	c.run(`
C: DONE
S: a1 OK IDLE completed
`)
}
