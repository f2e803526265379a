package imapserver_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// stillFetchable checks that a message another session expunged (with OK)
// still answers FETCH by its old sequence number in c, which has not been
// told of the expunge: no EXPUNGE during FETCH (RFC 3501 §7.4.1) and the
// content stays readable until it is told (store.Pin).
func stillFetchable(t *testing.T, c *tconn, seq int) {
	t.Helper()
	lines := c.collect("w", fmt.Sprintf("FETCH %d (RFC822.SIZE BODY.PEEK[])", seq))
	if len(lines) == 0 || !strings.HasPrefix(lines[0], fmt.Sprintf("* %d FETCH (RFC822.SIZE ", seq)) {
		t.Fatalf("FETCH %d of a message expunged elsewhere: %q", seq, lines)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " EXPUNGE") {
			t.Fatalf("EXPUNGE during FETCH: %q", lines)
		}
	}
}

// A session that has not yet been told of another session's expunge keeps
// addressing messages by the old sequence numbers in FETCH, STORE and
// SEARCH (RFC 3501 §7.4.1, RFC 2180 §4.1), and learns the EXPUNGE at CHECK.
func TestPendingExpungeKeepsOldNumbering(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver("INBOX", msg1)
	}
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	b.run(`
C: b1 STORE 2 +FLAGS.SILENT (\Deleted)
S: b1 OK STORE completed
C: b2 EXPUNGE
S: * 2 EXPUNGE
S: b2 OK EXPUNGE completed
`)
	stillFetchable(t, a, 2)
	if got := a.collect("a1", "FETCH 3 (UID RFC822.SIZE)"); len(got) != 1 || !strings.HasPrefix(got[0], "* 3 FETCH (UID 3 RFC822.SIZE ") {
		t.Fatalf("FETCH 3 before the EXPUNGE was told: %q", got)
	}
	wantLines(t, a.collect("a2", `STORE 3 +FLAGS (\Flagged)`), `* 3 FETCH (FLAGS (\Flagged \Recent) UID 3)`)
	wantLines(t, a.collect("a3", `SEARCH FLAGGED`), `* SEARCH 3`)
	wantLines(t, a.collect("a4", "CHECK"), `* 2 EXPUNGE`)
	wantLines(t, a.collect("a5", "FETCH 2 (UID FLAGS)"), `* 2 FETCH (UID 3 FLAGS (\Flagged \Recent))`)
}

// Two sessions selecting the same mailbox at once: each new message is
// \Recent in exactly one of them (RFC 3501 §2.3.2).
func TestRecentToExactlyOneOfConcurrentSelects(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 5; i++ {
		h.deliver("INBOX", msg1)
	}
	const n = 4
	conns := make([]*tconn, n)
	for i := range conns {
		conns[i] = h.login()
	}
	recent := make([]int, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.send("s SELECT INBOX")
			for {
				l := c.readLine()
				var r int
				if _, err := fmt.Sscanf(l, "* %d RECENT", &r); err == nil {
					recent[i] = r
				}
				if strings.HasPrefix(l, "s ") {
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, r := range recent {
		total += r
	}
	if total != 5 {
		t.Fatalf("RECENT counts %v: want a total of 5", recent)
	}
}

// A literal over the limit is refused and the connection stays usable.
func TestLiteralOverLimitStaysUsable(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Limits.MaxLiteralSize = 100 })
	c := h.login()
	c.send("a1 SELECT {1000}")
	l := c.readLine()
	if !strings.HasPrefix(l, "a1 NO") && !strings.HasPrefix(l, "a1 BAD") {
		t.Fatalf("over-limit literal: %q", l)
	}
	c.run(`
C: a2 NOOP
S: a2 OK NOOP completed
`)
	// The non-synchronizing form: the server cannot refuse before the
	// bytes arrive; it must skip them and stay in step.
	c.send("a3 SELECT {1000+}")
	c.send(strings.Repeat("x", 1000))
	for {
		l := c.readLine()
		if strings.HasPrefix(l, "* BYE") {
			return // a clean close is allowed
		}
		if strings.HasPrefix(l, "a3 ") {
			break
		}
	}
	c.run(`
C: a4 NOOP
S: a4 OK NOOP completed
`)
}

// A malformed line during IDLE ends the IDLE with a tagged BAD; the
// connection stays usable (RFC 2177 §3 expects only DONE).
func TestMalformedLineDuringIdle(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 IDLE
S: + idling
C: a2 NOOP
S~ a1 BAD .*
C: a3 NOOP
S: a3 OK NOOP completed
C: a4 IDLE
S: + idling
C: ` + strings.Repeat("x", 70<<10) + `
S~ a4 BAD .*
C: a5 NOOP
S: a5 OK NOOP completed
`)
}

// QRESYNC SELECT with known UIDs and sequence match data (RFC 7162
// §3.2.5): VANISHED (EARLIER) is limited to the known UIDs; the match data
// is accepted (the store keeps every tombstone, so it is not needed).
func TestQresyncKnownUIDsAndSeqMatch(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 5; i++ {
		h.deliver("INBOX", msg1)
	}
	c := h.login()
	c.run(`
C: a1 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: a1 OK ENABLE completed
`)
	c.send("a2 STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")
	var validity, highest uint64
	if _, err := fmt.Sscanf(c.readLine(), `* STATUS "INBOX" (UIDVALIDITY %d HIGHESTMODSEQ %d)`, &validity, &highest); err != nil {
		t.Fatal(err)
	}
	c.expect("a2 OK STATUS completed")
	c.selectInbox("a3")
	c.run(`
C: a4 STORE 2,4 +FLAGS.SILENT (\Deleted)
S~ \* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)
S~ \* 4 FETCH \(UID 4 MODSEQ \(\d+\)\)
S: a4 OK STORE completed
C: a5 EXPUNGE
S: * VANISHED 2,4
S~ a5 OK \[HIGHESTMODSEQ \d+\] EXPUNGE completed
C: a6 UNSELECT
S: a6 OK UNSELECT completed
`)
	for i, tc := range []struct{ params, vanished string }{
		{"", "2,4"},
		{" 1:3", "2"},
		{" 3:*", "4"},
		{" 1:5 (1:5 1:5)", "2,4"},
		{" 1,3,5 (1:3 1,3,5)", ""},
	} {
		tag := fmt.Sprintf("q%d", i)
		c.send(fmt.Sprintf("%s EXAMINE INBOX (QRESYNC (%d %d%s))", tag, validity, highest, tc.params))
		var got []string
		for {
			l := c.readLine()
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %s", tc.params, l)
				}
				break
			}
			if strings.HasPrefix(l, "* VANISHED") {
				got = append(got, l)
			}
		}
		var want []string
		if tc.vanished != "" {
			want = []string{"* VANISHED (EARLIER) " + tc.vanished}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("known %q: got %q, want %q", tc.params, got, want)
		}
	}
}
