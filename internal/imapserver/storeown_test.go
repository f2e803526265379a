package imapserver_test

import (
	"context"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// TestStoreOwnChangesAndPeers: after its own STORE a session trusts the
// store's result instead of reading Changes back (StoreResult.Before), but
// only when it had seen everything before it. A peer's change committed
// before the STORE, or after it, is still announced: before the tagged OK
// of that STORE, or of the next command.
func TestStoreOwnChangesAndPeers(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver("INBOX", "Subject: m"+itoa(i+1)+"\r\n\r\nbody\r\n")
	}
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	// b flags message 1; a, not told yet, stores on message 2: its
	// STORE's Before is past what a has seen, so it reads Changes and
	// tells the peer's change too.
	b.run(`
C: b1 STORE 1 +FLAGS.SILENT (\Flagged)
S: b1 OK STORE completed`)
	a.run(`
C: a1 STORE 2 +FLAGS (\Seen)
S: * 2 FETCH (FLAGS (\Seen \Recent) UID 2)
S: * 1 FETCH (UID 1 FLAGS (\Flagged \Recent))
S: a1 OK STORE completed`)
	// Now a is up to date: its own STORE 1:* is taken as is, and a peer's
	// change after it still reaches a at its next command.
	a.run(`
C: a2 STORE 1:* +FLAGS (\Answered)
S: * 1 FETCH (FLAGS (\Answered \Flagged \Recent) UID 1)
S: * 2 FETCH (FLAGS (\Answered \Seen \Recent) UID 2)
S: * 3 FETCH (FLAGS (\Answered \Recent) UID 3)
S: a2 OK STORE completed`)
	b.run(`
C: b2 STORE 3 +FLAGS.SILENT (\Draft)
S: * 3 FETCH (FLAGS (\Answered \Draft) UID 3)
S: * 1 FETCH (UID 1 FLAGS (\Answered \Flagged))
S: * 2 FETCH (UID 2 FLAGS (\Answered \Seen))
S: b2 OK STORE completed`)
	a.run(`
C: a3 NOOP
S: * 3 FETCH (UID 3 FLAGS (\Answered \Draft \Recent))
S: a3 OK NOOP completed`)
	// And with nothing new, a's next command says nothing more.
	a.run(`
C: a4 NOOP
S: a4 OK NOOP completed`)
}

// racingStore hands out Mailboxes whose next StoreFlags first lets a peer
// commit a change: the window between the command's own refresh and its
// write, which StoreResult.Before closes.
type racingStore struct {
	store.Store
	peer func() // run once, before the next StoreFlags
}

func (r *racingStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	mbs, err := r.Store.Mailboxes(ctx, account)
	if err != nil {
		return nil, err
	}
	return racingMailboxes{mbs, r}, nil
}

type racingMailboxes struct {
	store.Mailboxes
	r *racingStore
}

func (m racingMailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	mb, err := m.Mailboxes.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return racingMailbox{mb, m.r}, nil
}

type racingMailbox struct {
	store.Mailbox
	r *racingStore
}

func (m racingMailbox) StoreFlags(ctx context.Context, uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, error) {
	if p := m.r.peer; p != nil {
		m.r.peer = nil
		p()
	}
	return m.Mailbox.StoreFlags(ctx, uids, op, flags, unchangedSince)
}

// TestStoreOwnRacingPeer: a peer's change committed after the session's
// refresh but before its STORE's write is still announced (before the
// STORE's tagged OK), not skipped as if it were the session's own.
func TestStoreOwnRacingPeer(t *testing.T) {
	var rs *racingStore
	h := newHarness(t, func(o *imapserver.Options) {
		rs = &racingStore{Store: o.Store}
		o.Store = rs
	})
	for i := 0; i < 2; i++ {
		h.deliver("INBOX", "Subject: m"+itoa(i+1)+"\r\n\r\nbody\r\n")
	}
	a := h.login()
	a.selectInbox("a0")
	rs.peer = func() {
		mbs, err := h.st.Mailboxes(context.Background(), testUser)
		if err != nil {
			t.Error(err)
			return
		}
		mb, err := mbs.Open(context.Background(), "INBOX")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := mb.StoreFlags(context.Background(), []store.UID{1}, store.FlagsAdd, []string{`\Flagged`}, 0); err != nil {
			t.Error(err)
		}
	}
	a.run(`
C: a1 STORE 2 +FLAGS (\Seen)
S: * 2 FETCH (FLAGS (\Seen \Recent) UID 2)
S: * 1 FETCH (UID 1 FLAGS (\Flagged \Recent))
S: a1 OK STORE completed`)
}
