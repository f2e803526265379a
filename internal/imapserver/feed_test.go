package imapserver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// collect sends cmd and returns the untagged lines before its tagged OK.
func (c *tconn) collect(tag, cmd string) []string {
	c.t.Helper()
	c.send(tag + " " + cmd)
	var lines []string
	for {
		l := c.readLine()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s: %s", cmd, l)
			}
			return lines
		}
		lines = append(lines, l)
	}
}

// pollNoop sends NOOP until the server reports something (the change feed
// is asynchronous) and returns the untagged lines.
func (c *tconn) pollNoop() []string {
	c.t.Helper()
	for i := 0; i < 200; i++ {
		if lines := c.collect(fmt.Sprintf("n%d", i), "NOOP"); len(lines) > 0 {
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no update arrived")
	return nil
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got\n  %q\nwant\n  %q", got, want)
	}
}

func TestFeedFlagsAndExpunge(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	b.run(`
C: b1 STORE 2 +FLAGS (\Seen)
S: * 2 FETCH (FLAGS (\Seen) UID 2)
S: b1 OK STORE completed
`)
	wantLines(t, a.pollNoop(), `* 2 FETCH (UID 2 FLAGS (\Seen \Recent))`)
	// An expunge by B is not told to A during FETCH, STORE or SEARCH
	// (RFC 3501 §7.4.1) but is at the next NOOP.
	b.run(`
C: b2 STORE 1 +FLAGS.SILENT (\Deleted)
S: b2 OK STORE completed
C: b3 EXPUNGE
S: * 1 EXPUNGE
S: b3 OK EXPUNGE completed
`)
	// B's EXPUNGE has answered OK; A has not been told, so message 1 still
	// answers FETCH with its data and no EXPUNGE is sent (RFC 3501 §7.4.1).
	lines := a.collect("f", "FETCH 1:* (UID RFC822.SIZE)")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "* 1 FETCH (UID 1 RFC822.SIZE ") {
		t.Fatalf("FETCH after a peer's EXPUNGE: %q", lines)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " EXPUNGE") {
			t.Fatalf("EXPUNGE during FETCH: %q", lines)
		}
	}
	wantLines(t, a.collect("a1", "SEARCH ALL"), `* SEARCH 1 2 3`)
	wantLines(t, a.collect("a2", "NOOP"), `* 1 EXPUNGE`)
	wantLines(t, a.collect("a3", "FETCH 1:* UID"), `* 1 FETCH (UID 2)`, `* 2 FETCH (UID 3)`)
}

func TestFeedNewMessagesAndRecent(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	h.deliver("INBOX", msg1)
	la := a.pollNoop()
	lb := b.pollNoop()
	if la[0] != "* 1 EXISTS" || lb[0] != "* 1 EXISTS" {
		t.Fatalf("EXISTS: %q %q", la, lb)
	}
	// \Recent goes to exactly one session (RFC 3501 §2.3.2).
	recent := 0
	for _, l := range append(la[1:], lb[1:]...) {
		switch l {
		case "* 1 RECENT":
			recent++
		case "* 0 RECENT":
		default:
			t.Fatalf("unexpected %q", l)
		}
	}
	if recent != 1 {
		t.Fatalf("\\Recent given to %d sessions: %q %q", recent, la, lb)
	}
	// UID FETCH may carry an expunge (RFC 3501 §7.4.1 applies to the
	// sequence-number forms only).
	b.run(`
C: b1 STORE 1 +FLAGS.SILENT (\Deleted)
S: b1 OK STORE completed
C: b2 EXPUNGE
S: * 1 EXPUNGE
S: b2 OK EXPUNGE completed
`)
	for i := 0; i < 200; i++ {
		lines := a.collect(fmt.Sprintf("u%d", i), "UID FETCH 1:* UID")
		if slices.Contains(lines, "* 1 EXPUNGE") {
			break
		}
		if i == 199 {
			t.Fatal("expunge never reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFeedSelectedMailboxDeleted(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	a.run(`
C: a1 CREATE Doomed
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 SELECT Doomed
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ a2 OK \[READ-WRITE\] SELECT completed
`)
	b := h.login()
	b.run(`
C: b1 DELETE Doomed
S: b1 OK DELETE completed
`)
	for i := 0; ; i++ {
		lines := a.collectAny(fmt.Sprintf("n%d", i), "NOOP")
		if len(lines) > 0 && lines[0] == "* BYE Selected mailbox was deleted, closing connection" {
			return
		}
		if i == 200 {
			t.Fatalf("no BYE: %q", lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collectAny sends cmd and returns every line up to its tagged response or
// the end of the connection.
func (c *tconn) collectAny(tag, cmd string) []string {
	c.t.Helper()
	c.send(tag + " " + cmd)
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return lines
		}
		l = strings.TrimSuffix(l, "\r\n")
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

func TestFeedNewKeywordAnnouncesFlags(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	b.collect("b1", "STORE 1 +FLAGS.SILENT ($Todo)")
	wantLines(t, a.pollNoop(),
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Todo)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Todo \*)] Flags permitted`,
		`* 1 FETCH (UID 1 FLAGS ($Todo \Recent))`)
}

// TestConcurrentStoresKeepEachOther: sessions adding different keywords to
// the same messages at once never lose each other's changes.
func TestConcurrentStoresKeepEachOther(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 5; i++ {
		h.deliver("INBOX", msg1)
	}
	const sessions, rounds = 4, 10
	errs := make(chan error, sessions)
	for s := 0; s < sessions; s++ {
		c := h.goClient(nil)
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		go func() {
			for r := 0; r < rounds; r++ {
				kw := imap.Flag(fmt.Sprintf("$s%dr%d", s, r))
				if err := c.Store(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{kw}}, nil).Close(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for s := 0; s < sessions; s++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	c := h.goClient(nil)
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if len(m.Flags) != sessions*rounds {
			t.Fatalf("message %d has %d flags, want %d: %v", m.SeqNum, len(m.Flags), sessions*rounds, m.Flags)
		}
	}
}
