package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// silentFeedStore hands out watchers that never signal: the change feed's
// event is "still on its way", as a NOTIFY from another node can be.
type silentFeedStore struct{ store.Store }

func (s silentFeedStore) Watch(account string) store.Watcher {
	return &silentWatcher{ready: make(chan struct{})}
}

type silentWatcher struct{ ready chan struct{} }

func (w *silentWatcher) Ready() <-chan struct{}       { return w.ready }
func (w *silentWatcher) Take() ([]store.Change, bool) { return nil, true }
func (w *silentWatcher) Close()                       {}

// Read-your-peers' writes (issue 6, finding 1): once a command completed
// with OK in session A, the next command session B starts reports the
// change before its tagged OK (RFC 3501 §5.2, §7), even when the change
// feed has not delivered its signal yet. Before the HIGHESTMODSEQ probe, B
// learned of changes only from the feed and this failed at every step.
func TestPeersWriteSeenAtNextCommandWithoutFeed(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Store = silentFeedStore{o.Store} })
	h.deliver("INBOX", msg1)
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	n := 1
	for i := 0; i < 20; i++ {
		a.collect(fmt.Sprintf("c%d", i), "COPY 1 INBOX")
		n++
		wantContains(t, b.collect(fmt.Sprintf("n%d", i), "NOOP"), fmt.Sprintf("* %d EXISTS", n))
	}
	a.collect("s", `STORE 2 +FLAGS.SILENT (\Flagged)`)
	wantContains(t, b.collect("ns", "NOOP"), `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	a.collect("d", `STORE 3 +FLAGS.SILENT (\Deleted)`)
	a.collect("e", "EXPUNGE")
	wantContains(t, b.collect("ne", "NOOP"), "* 3 EXPUNGE")
	a.run(`
C: ap APPEND INBOX {7+}
C: Hello!
`)
	for l := a.readLine(); !strings.HasPrefix(l, "ap "); l = a.readLine() {
	}
	wantContains(t, b.collect("na", "NOOP"), fmt.Sprintf("* %d EXISTS", n))
}

// The same with the real feed, in a tight loop: each APPEND/COPY is seen by
// the peer's very next NOOP (the old feed handed events over through a
// goroutine per watcher and missed 24-38% of them under load).
func TestPeersWriteSeenAtNextCommand(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	n := 1
	for i := 0; i < 100; i++ {
		a.collect(fmt.Sprintf("c%d", i), "COPY 1 INBOX")
		n++
		wantContains(t, b.collect(fmt.Sprintf("n%d", i), "NOOP"), fmt.Sprintf("* %d EXISTS", n))
	}
}

func wantContains(t *testing.T, lines []string, want string) {
	t.Helper()
	for _, l := range lines {
		if l == want {
			return
		}
	}
	t.Fatalf("want %q among\n  %s", want, strings.Join(lines, "\n  "))
}

// A message that arrives while a mailbox is EXAMINEd is \Recent there
// (nobody has claimed it) and stays unclaimed: the next SELECT gets it
// (RFC 3501 §6.3.2, §2.3.2; Dovecot answers the same).
func TestExamineShowsArrivalsRecentWithoutClaiming(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	a := h.login()
	lines := a.collect("e", "EXAMINE INBOX")
	wantContains(t, lines, "* 1 RECENT")
	h.deliver("INBOX", msg1)
	lines = a.collect("n", "NOOP")
	wantContains(t, lines, "* 2 EXISTS")
	wantContains(t, lines, "* 2 RECENT")
	wantContains(t, a.collect("f", "FETCH 2 FLAGS"), `* 2 FETCH (FLAGS (\Recent))`)
	b := h.login()
	wantContains(t, b.collect("s", "SELECT INBOX"), "* 2 RECENT")
}
