package imapserver_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/postgres"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/testutil/pgtest"
)

// TestNotifyMetadata: session A asks for MailboxMetadataChange and
// ServerMetadataChange on every personal mailbox and idles; session B's
// SETMETADATA on a mailbox and on the server ("") reach A at once as
// unsolicited METADATA responses naming the entries without values (RFC
// 5465 §5.6-5.7, RFC 5464 §4.4.2), removals included; what B did before
// the NOTIFY is not told.
func TestNotifyMetadata(t *testing.T) {
	h := newHarness(t)
	b := h.login()
	b.run(`
C: b1 CREATE Lists
S~ b1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: b2 SETMETADATA Lists (/private/before "x")
S: b2 OK SETMETADATA completed
`)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))
S: a1 OK NOTIFY completed
C: a2 IDLE
S: + idling
`)
	a.noMore(100 * time.Millisecond)
	b.run(`
C: b3 SETMETADATA Lists (/private/Comment "hello")
S: b3 OK SETMETADATA completed
`)
	a.within(`S: * METADATA "Lists" /private/comment`)
	b.run(`
C: b4 SETMETADATA "" (/shared/motd "Maintenance at noon")
S: b4 OK SETMETADATA completed
`)
	a.within(`S: * METADATA "" /shared/motd`)
	b.run(`
C: b5 SETMETADATA INBOX (/shared/comment NIL)
S: b5 OK SETMETADATA completed
`)
	a.within(`S: * METADATA "INBOX" /shared/comment`)
	// Several entries in one SETMETADATA: each is named once (the feed
	// may bring them in one round or two).
	b.run(`
C: b6 SETMETADATA Lists (/private/a "1" /shared/b "2" /private/c NIL)
S: b6 OK SETMETADATA completed
`)
	got := a.metadataEntries(`"Lists"`, 3)
	if want := "/private/a /private/c /shared/b"; got != want {
		t.Fatalf("METADATA entries %q, want %q", got, want)
	}
	a.noMore(200 * time.Millisecond)
	a.run(`
C: DONE
S: a2 OK IDLE completed
C: a3 GETMETADATA Lists (/private/comment /private/a)
S: * METADATA "Lists" (/private/comment "hello" /private/a "1")
S: a3 OK GETMETADATA completed
`)
	// Between commands too (no IDLE), and before a command's tagged OK.
	b.okCommand("b7", `SETMETADATA "" (/private/x "y")`)
	a.within(`S: * METADATA "" /private/x`)
	b.okCommand("b8", `SETMETADATA INBOX (/private/x "y")`)
	a.run(`
C: a4 NOOP
S: * METADATA "INBOX" /private/x
S: a4 OK NOOP completed
`)
}

// metadataEntries reads unsolicited "* METADATA mailbox entry..." lines of
// one mailbox until n entries came, and returns them sorted and joined.
func (c *tconn) metadataEntries(mailbox string, n int) string {
	c.t.Helper()
	seen := map[string]bool{}
	prefix := "* METADATA " + mailbox + " "
	for len(seen) < n {
		c.nc.SetReadDeadline(time.Now().Add(notifyWait))
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("no METADATA for %s within %v (have %v): %v", mailbox, notifyWait, seen, err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if !strings.HasPrefix(line, prefix) {
			c.t.Fatalf("unexpected %q", line)
		}
		for _, e := range strings.Fields(line[len(prefix):]) {
			if seen[e] {
				c.t.Fatalf("entry %s told twice: %q", e, line)
			}
			seen[e] = true
		}
	}
	out := make([]string, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestNotifyMetadataFilter: only mailboxes the filters match are told
// (the first matching group decides, a NONE group silences, RFC 5465 §5,
// §6), server entries only with ServerMetadataChange, and a mailbox
// renamed after the write is told by its new name.
func TestNotifyMetadataFilter(t *testing.T) {
	h := newHarness(t)
	b := h.login()
	b.run(`
C: b1 CREATE Lists/Go
S~ b1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: b2 CREATE Other
S~ b2 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: b3 CREATE Lists/Quiet
S~ b3 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (mailboxes Lists/Quiet NONE) (subtree Lists (MailboxMetadataChange))
S: a1 OK NOTIFY completed
C: a2 IDLE
S: + idling
`)
	b.okCommand("b4", `SETMETADATA Other (/private/comment "no")`)
	b.okCommand("b5", `SETMETADATA "" (/private/comment "no")`)
	b.okCommand("b6", `SETMETADATA Lists/Quiet (/private/comment "no")`)
	a.noMore(300 * time.Millisecond)
	b.okCommand("b7", `SETMETADATA Lists/Go (/private/comment "yes")`)
	a.within(`S: * METADATA "Lists/Go" /private/comment`)
	b.okCommand("b8", `SETMETADATA Lists (/private/comment "yes")`)
	a.within(`S: * METADATA "Lists" /private/comment`)
	a.noMore(200 * time.Millisecond)
	a.run(`
C: DONE
S: a2 OK IDLE completed
`)
	// ServerMetadataChange alone: server entries only, whatever the filter.
	a.run(`
C: a3 NOTIFY SET (mailboxes Nowhere (ServerMetadataChange))
S: a3 OK NOTIFY completed
C: a4 IDLE
S: + idling
`)
	b.okCommand("b9", `SETMETADATA Lists/Go (/private/comment "no")`)
	a.noMore(300 * time.Millisecond)
	b.okCommand("b10", `SETMETADATA "" (/shared/vendor/x "yes")`)
	a.within(`S: * METADATA "" /shared/vendor/x`)
	a.run(`
C: DONE
S: a4 OK IDLE completed
`)
	// Message events only with selected (RFC 5465 §6.1).
	a.run(`
C: a5 NOTIFY SET (selected (MailboxMetadataChange))
S~ a5 BAD .*
C: a6 NOTIFY SET (selected-delayed (MessageNew MessageExpunge ServerMetadataChange))
S~ a6 BAD .*
`)
}

// TestNotifyMetadataOwnChanges: the client's own SETMETADATA is not echoed
// (RFC 5465 §5), while another session's change to other entries of the
// same mailbox still is.
func TestNotifyMetadataOwnChanges(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))
S: a1 OK NOTIFY completed
C: a2 SETMETADATA INBOX (/private/Mine "1" /shared/mine NIL)
S: a2 OK SETMETADATA completed
C: a3 SETMETADATA "" (/private/mine "1")
S: a3 OK SETMETADATA completed
`)
	a.noMore(200 * time.Millisecond)
	b := h.login()
	b.okCommand("b1", `SETMETADATA INBOX (/private/theirs "2")`)
	a.within(`S: * METADATA "INBOX" /private/theirs`)
	a.run(`
C: a4 NOOP
S: a4 OK NOOP completed
`)
}

// TestNotifyMetadataNotBeforeSet: a change made after the session logged
// in but before its NOTIFY SET is not told: the notifications start with
// the command (RFC 5465 §3.1).
func TestNotifyMetadataNotBeforeSet(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	b := h.login()
	b.okCommand("b1", `SETMETADATA INBOX (/private/early "1")`)
	b.okCommand("b2", `SETMETADATA "" (/private/early "1")`)
	a.run(`
C: a1 NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))
S: a1 OK NOTIFY completed
`)
	a.noMore(200 * time.Millisecond)
	b.okCommand("b3", `SETMETADATA INBOX (/private/late "1")`)
	a.within(`S: * METADATA "INBOX" /private/late`)
}

// noMetadataStore hides the store's Metadata.
type noMetadataStore struct{ store.Store }

// TestNotifyMetadataNeedsStoreSupport: without METADATA the metadata
// events are unsupported: NO [BADEVENT] listing the others (RFC 5465 §3.1).
func TestNotifyMetadataNeedsStoreSupport(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Store = noMetadataStore{o.Store} })
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MailboxName MailboxMetadataChange))
S: a1 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event MailboxMetadataChange
C: a2 NOTIFY SET (personal (ServerMetadataChange))
S: a2 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event ServerMetadataChange
`)
}

// entrylessFeedStore hands out watchers whose MetadataChanged events carry
// neither the entry nor the mailbox name, as a PostgreSQL notification too
// long for its payload does (store.MetadataChanged: Entry "" when a driver
// could not carry it).
type entrylessFeedStore struct{ *sqlite.Store }

func (s entrylessFeedStore) Watch(account string) store.Watcher {
	return entrylessWatcher{s.Store.Watch(account)}
}

type entrylessWatcher struct{ store.Watcher }

func (w entrylessWatcher) Take() ([]store.Change, bool) {
	changes, ok := w.Watcher.Take()
	for i := range changes {
		if changes[i].Kind == store.MetadataChanged {
			changes[i].Entry, changes[i].Mailbox = "", ""
		}
	}
	return changes, ok
}

// TestNotifyMetadataWithoutEntryName: a change whose entry name did not
// come with the feed event is told as every entry the mailbox has now (RFC
// 5465 §5.6: the server MAY include all metadata items when it cannot tell
// which one changed), the mailbox named by its ID.
func TestNotifyMetadataWithoutEntryName(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Store = entrylessFeedStore{o.Store.(*sqlite.Store)} })
	b := h.login()
	b.run(`
C: b1 CREATE Lists
S~ b1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: b2 SETMETADATA Lists (/private/old "1" /shared/old "2")
S: b2 OK SETMETADATA completed
`)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))
S: a1 OK NOTIFY completed
C: a2 IDLE
S: + idling
`)
	b.okCommand("b3", `SETMETADATA Lists (/private/new "3")`)
	a.within(`S: * METADATA "Lists" /private/new /private/old /shared/old`)
	b.okCommand("b3", `SETMETADATA Lists (/shared/old NIL)`)
	a.within(`S: * METADATA "Lists" /private/new /private/old`)
	b.okCommand("b4", `SETMETADATA "" (/private/x "y")`)
	a.within(`S: * METADATA "" /private/x`)
	// Nothing left to name (the only entry removed): nothing is said.
	b.okCommand("b5", `SETMETADATA "" (/private/x NIL)`)
	a.noMore(300 * time.Millisecond)
}

// TestNotifyMetadataAcrossNodes: two servers over one PostgreSQL database
// (two stores, each with its own LISTEN connection); a SETMETADATA on node
// B reaches a NOTIFY session idling on node A through the database's
// NOTIFY, mailbox and server entries alike.
func TestNotifyMetadataAcrossNodes(t *testing.T) {
	dsn := pgtest.Schema(t, pgtest.DSN(t), "lbsearch")
	ctx := context.Background()
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, postgres.Options{DSN: dsn, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stA.CreateAccount(ctx, testUser, hash); err != nil {
		t.Fatal(err)
	}
	node := func(st *postgres.Store) *harness {
		return newHarness(t, func(o *imapserver.Options) {
			o.Store = st
			o.Auth = auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond})
		})
	}
	nodeA, nodeB := node(stA), node(stB)
	a := nodeA.login()
	a.run(`
C: a1 NOTIFY SET (subtree INBOX (MailboxMetadataChange ServerMetadataChange))
S: a1 OK NOTIFY completed
C: a2 IDLE
S: + idling
`)
	b := nodeB.login()
	b.okCommand("b1", `CREATE Other`)
	b.okCommand("b2", `SETMETADATA Other (/private/comment "not watched")`)
	b.okCommand("b3", `SETMETADATA INBOX (/private/comment "hello")`)
	a.within(`S: * METADATA "INBOX" /private/comment`)
	b.okCommand("b4", `SETMETADATA "" (/shared/vendor/motd "hi")`)
	a.within(`S: * METADATA "" /shared/vendor/motd`)
	a.noMore(300 * time.Millisecond)
}
