package imapserver_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// notifyWait bounds how long a notification may take: the server has no
// polling timer, so anything arriving later than this would be a lost
// wake-up, not a slow poll.
const notifyWait = 2 * time.Second

// within plays a server-side transcript ("S: " exact, "S~ " regexp), each
// line due within notifyWait of the previous one.
func (c *tconn) within(script string) {
	c.t.Helper()
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimLeft(l, "\t")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		start := time.Now()
		c.nc.SetReadDeadline(start.Add(notifyWait))
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("after %q: no %q within %v: %v", c.last, l, notifyWait, err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		c.expectLine(l, line)
	}
}

// expectLine checks one line against "S: exact" or "S~ regexp".
func (c *tconn) expectLine(script, got string) {
	c.t.Helper()
	switch {
	case strings.HasPrefix(script, "S: "):
		if got != script[3:] {
			c.t.Fatalf("after %q server said\n  %q\nwant\n  %q", c.last, got, script[3:])
		}
	case strings.HasPrefix(script, "S~ "):
		if !regexp.MustCompile(`^(?:` + script[3:] + `)$`).MatchString(got) {
			c.t.Fatalf("after %q server said\n  %q\nwant match of\n  %q", c.last, got, script[3:])
		}
	default:
		c.t.Fatalf("bad script line %q", script)
	}
}

// TestNotify is the main flow of RFC 5465: session A selects INBOX, asks
// for message events of the selected mailbox (with fetch-atts) and for
// message, name and subscription events of every personal mailbox, and
// idles; session B (and a delivery) change other mailboxes; A hears each
// change at once, as STATUS or LIST.
func TestNotify(t *testing.T) {
	h := newHarness(t)
	b := h.login()
	b.run(`
C: b1 CREATE Lists
S~ b1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a := h.login()
	a.selectInbox("a1")
	a.run(`
C: a2 NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))
S: a2 OK NOTIFY completed
C: a3 IDLE
S: + idling
`)
	h.deliver("Lists", msg1)
	a.within(`
S~ \* STATUS "?Lists"? \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)
`)
	// A flag change alone is not a MessageNew/MessageExpunge event: no
	// STATUS until the expunge (FlagChange was not asked for).
	b.selectBox("b2", "Lists")
	b.run(`
C: b3 STORE 1 +FLAGS.SILENT (\Deleted)
S: b3 OK STORE completed
C: b4 EXPUNGE
S: * 1 EXPUNGE
S: b4 OK EXPUNGE completed
`)
	a.within(`
S~ \* STATUS "?Lists"? \(MESSAGES 0 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 0\)
`)
	b.run(`
C: b5 CREATE Work
S~ b5 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a.within(`S: * LIST (\HasNoChildren) "/" "Work"`)
	b.run(`
C: b6 RENAME Work Play
S: b6 OK RENAME completed
`)
	a.within(`S: * LIST (\HasNoChildren) "/" "Play" ("OLDNAME" ("Work"))`)
	b.run(`
C: b7 SUBSCRIBE Play
S: b7 OK SUBSCRIBE completed
`)
	a.within(`S: * LIST (\HasNoChildren \Subscribed) "/" "Play"`)
	b.run(`
C: b8 UNSUBSCRIBE Play
S: b8 OK UNSUBSCRIBE completed
`)
	a.within(`S: * LIST (\HasNoChildren) "/" "Play"`)
	b.run(`
C: b9 DELETE Play
S: b9 OK DELETE completed
`)
	a.within(`S: * LIST (\NonExistent) "/" "Play"`)
	// The selected mailbox: EXISTS, then the fetch-atts of MessageNew.
	h.deliver("INBOX", msg1)
	a.within(`
S: * 1 EXISTS
S: * 1 RECENT
S: * 1 FETCH (UID 1 FLAGS (\Recent))
`)
	a.noMore(100 * time.Millisecond)
	a.run(`
C: DONE
S: a3 OK IDLE completed
`)
}

// TestNotifyBetweenCommands: with NOTIFY the client is told without IDLE
// and without sending a command (RFC 5465 §1, §4).
func TestNotifyBetweenCommands(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))
S: a1 OK NOTIFY completed
`)
	b := h.login()
	b.run(`
C: b1 CREATE Projects
S~ b1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a.within(`S: * LIST (\HasNoChildren) "/" "Projects"`)
	h.deliver("INBOX", msg1)
	a.within(`S~ \* STATUS "INBOX" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)`)
	// A command still works, and its own CREATE is not echoed back
	// (RFC 5465 §5: the server SHOULD omit the client's own changes).
	a.run(`
C: a2 CREATE Mine
S~ a2 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a3 NOOP
S: a3 OK NOOP completed
`)
	// NOTIFY NONE stops it.
	a.run(`
C: a4 NOTIFY NONE
S: a4 OK NOTIFY completed
`)
	b.run(`
C: b2 CREATE Other
S~ b2 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a.noMore(200 * time.Millisecond)
}

// TestNotifyStatusAndFilters: SET STATUS sends a STATUS for each matching
// mailbox but the selected one (§3.1); subtree and mailboxes filters match
// only their names (§6.5-6.6); FlagChange adds flag-only STATUS (§5.1);
// HIGHESTMODSEQ comes with CONDSTORE (§5.2).
func TestNotifyStatusAndFilters(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	a.run(`
C: a0 CREATE Lists/Go
S~ a0 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a1 CREATE Other
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: a2 OK ENABLE completed
`)
	a.selectInbox("a3")
	a.run(`
C: a4 NOTIFY SET STATUS (selected-delayed (MessageNew MessageExpunge)) (subtree Lists (MessageNew MessageExpunge FlagChange)) (mailboxes Other NONE) (personal (MailboxName))
S~ \* STATUS "Lists" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ \d+\)
S~ \* STATUS "Lists/Go" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ \d+\)
S: a4 OK NOTIFY completed
`)
	h.deliver("Other", msg1)
	h.deliver("Lists/Go", msg1, `\Seen`)
	a.within(`S~ \* STATUS "Lists/Go" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ \d+\)`)
	b := h.login()
	b.selectBox("b1", "Lists/Go")
	b.run(`
C: b2 STORE 1 -FLAGS.SILENT (\Seen)
S: b2 OK STORE completed
`)
	a.within(`S~ \* STATUS "Lists/Go" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)`)
	// "Other" matched a NONE group first, so its delivery said nothing,
	// and the personal group only asked for names.
	a.noMore(100 * time.Millisecond)

	// selected-delayed: a new message in the selected mailbox is told at
	// once, its expunge only when a command allows EXPUNGE (§6.1).
	u := h.deliver("INBOX", msg1)
	a.within(`
S: * 1 EXISTS
S: * 1 RECENT
`)
	b.selectBox("b3", "INBOX")
	b.run(`
C: b4 UID STORE ` + itoa(int(u)) + ` +FLAGS.SILENT (\Deleted)
S: b4 OK UID STORE completed
C: b5 EXPUNGE
S: * 1 EXPUNGE
S: b5 OK EXPUNGE completed
`)
	a.noMore(200 * time.Millisecond)
	a.run(`
C: a5 FETCH 1 UID
S: * 1 FETCH (UID 1)
S: a5 OK FETCH completed
C: a6 NOOP
S: * 1 EXPUNGE
S: a6 OK NOOP completed
`)
	// IDLE is a command that allows EXPUNGE: selected-delayed reports it
	// there at once (as Dovecot 2.3 does).
	u = h.deliver("INBOX", msg1)
	a.within(`
S: * 1 EXISTS
S: * 1 RECENT
`)
	a.run(`
C: a7 IDLE
S: + idling
`)
	b.okCommand("b5n", "NOOP") // B learns the new UID first
	b.okCommand("b6", "UID STORE "+itoa(int(u))+` +FLAGS.SILENT (\Deleted)`)
	b.okCommand("b7", "EXPUNGE")
	a.within(`S: * 1 EXPUNGE`)
	a.run(`
C: DONE
S: a7 OK IDLE completed
`)
}

// TestNotifyErrors: unsupported events are NO [BADEVENT] listing the
// supported ones (RFC 5465 §3.1); §5 and §6.1 violations are BAD.
func TestNotifyErrors(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))
S: a1 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)] Unsupported event AnnotationChange
C: a2 NOTIFY SET (personal (MailboxMetadataChange Whatever))
S: a2 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)] Unsupported event Whatever
C: a3 NOTIFY SET (personal (Whatever))
S~ a3 NO \[BADEVENT \(.*\)\] Unsupported event Whatever
C: a4 NOTIFY SET (selected (MailboxName))
S~ a4 BAD .*
C: a5 NOTIFY SET (personal (MessageNew))
S~ a5 BAD .*
C: a6 NOTIFY SET (personal (FlagChange))
S~ a6 BAD .*
C: a7 NOTIFY SET (nowhere (MailboxName))
S~ a7 BAD .*
C: a8 NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))
S~ a8 BAD .*
C: a9 NOTIFY
S~ a9 BAD .*
C: a10 NOTIFY SET (mailboxes "No such box" (MailboxName))
S: a10 OK NOTIFY completed
`)
	c := h.dial()
	c.run(`
C: c1 NOTIFY NONE
S: c1 BAD Command not valid in this state
`)
}

// TestNotifyOverflow: a session that falls behind is told
// [NOTIFICATIONOVERFLOW] once and then hears nothing more, as after
// NOTIFY NONE (RFC 5465 §5.8).
func TestNotifyOverflow(t *testing.T) {
	old := imapserver.SetNotifyOverflowLimit(0)
	defer imapserver.SetNotifyOverflowLimit(old)
	h := newHarness(t)
	a := h.login()
	a.run(`
C: a1 NOTIFY SET (personal (MailboxName))
S: a1 OK NOTIFY completed
`)
	b := h.login()
	b.run(`
C: b1 CREATE One
S~ b1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a.within(`S~ \* OK \[NOTIFICATIONOVERFLOW\] .*`)
	b.run(`
C: b2 CREATE Two
S~ b2 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	a.noMore(200 * time.Millisecond)
	a.run(`
C: a2 NOOP
S: a2 OK NOOP completed
`)
}

// selectBox selects a mailbox, skipping the untagged responses.
func (c *tconn) selectBox(tag, name string) {
	c.t.Helper()
	c.send(tag + ` SELECT "` + name + `"`)
	for {
		l := c.readLine()
		if strings.HasPrefix(l, tag+" ") {
			if l != tag+" OK [READ-WRITE] SELECT completed" {
				c.t.Fatalf("select %s: %s", name, l)
			}
			return
		}
	}
}

// okCommand sends a command and reads until its tagged OK, skipping the
// untagged responses.
func (c *tconn) okCommand(tag, command string) {
	c.t.Helper()
	c.send(tag + " " + command)
	for {
		l := c.readLine()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK ") {
				c.t.Fatalf("%s: %s", command, l)
			}
			return
		}
	}
}

// TestNotifySelectedFlagChange: flag changes in the selected mailbox are
// pushed as FETCH (UID FLAGS) only when the selected group has FlagChange
// (RFC 5465 §5.1).
func TestNotifySelectedFlagChange(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	a := h.login()
	a.selectInbox("a1")
	a.run(`
C: a2 NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))
S: a2 OK NOTIFY completed
`)
	b := h.login()
	b.selectBox("b1", "INBOX")
	b.okCommand("b2", `STORE 1 +FLAGS.SILENT (\Flagged)`)
	a.within(`S: * 1 FETCH (UID 1 FLAGS (\Flagged \Recent))`)
	a.run(`
C: a3 NOTIFY SET (selected (MessageNew MessageExpunge))
S: a3 OK NOTIFY completed
`)
	b.okCommand("b3", `STORE 1 +FLAGS.SILENT (\Seen)`)
	a.noMore(200 * time.Millisecond)
}
