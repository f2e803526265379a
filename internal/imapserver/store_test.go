package imapserver_test

import "testing"

// selectInbox selects INBOX and skips its untagged responses.
func (c *tconn) selectInbox(tag string) {
	c.t.Helper()
	c.send(tag + " SELECT INBOX")
	for {
		l := c.readLine()
		if len(l) > len(tag) && l[:len(tag)+1] == tag+" " {
			if l != tag+" OK [READ-WRITE] SELECT completed" {
				c.t.Fatalf("select: %s", l)
			}
			return
		}
	}
}

func TestStoreFlags(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 STORE 1:2 +FLAGS (\Seen $Important)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)] Flags permitted
S: * 1 FETCH (FLAGS ($Important \Seen \Recent) UID 1)
S: * 2 FETCH (FLAGS ($Important \Seen \Recent) UID 2)
S: a1 OK STORE completed
C: a2 STORE 2 -FLAGS.SILENT ($Important)
S: a2 OK STORE completed
C: a3 UID STORE 3 FLAGS (\Flagged)
S: * 3 FETCH (FLAGS (\Flagged \Recent) UID 3)
S: a3 OK UID STORE completed
C: a4 FETCH 1:3 FLAGS
S: * 1 FETCH (FLAGS ($Important \Seen \Recent))
S: * 2 FETCH (FLAGS (\Seen \Recent))
S: * 3 FETCH (FLAGS (\Flagged \Recent))
S: a4 OK FETCH completed
C: a5 STORE 1 +FLAGS (\Bogus)
S~ a5 BAD .*
C: a6 STORE 9 +FLAGS (\Seen)
S: a6 BAD Invalid message sequence number
# Nothing changes: nothing is reported (as Dovecot does).
C: a7 STORE 1 +FLAGS (\Seen)
S: a7 OK STORE completed
`)
}

// RFC 3501 §2.3.2: \Recent "can not be altered by the client". STORE and
// APPEND naming it are BAD (as Dovecot answers), change nothing, and the
// connection stays usable.
func TestStoreAppendRecentIsBad(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 STORE 1 +FLAGS (\Recent)
S~ a1 BAD .*Recent.*
C: a2 STORE 1 -FLAGS (\recent)
S~ a2 BAD .*Recent.*
C: a3 STORE 1 FLAGS (\Seen \Recent)
S~ a3 BAD .*Recent.*
C: a4 UID STORE 1 +FLAGS.SILENT (\Recent)
S~ a4 BAD .*Recent.*
C: a5 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a5 OK FETCH completed
C: a6 APPEND INBOX (\Seen \Recent) {5+}
C: hello
S~ a6 BAD .*Recent.*
C: a7 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 1)
S: a7 OK STATUS completed
`)
}

func TestStoreReadOnly(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a0 EXAMINE INBOX
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: a0 OK [READ-ONLY] EXAMINE completed
C: a1 STORE 1 +FLAGS (\Seen)
S: a1 NO [READ-ONLY] Mailbox is read-only
C: a2 EXPUNGE
S: a2 OK EXPUNGE completed
C: a3 FETCH 1 BODY[TEXT]
S: * 1 FETCH (BODY[TEXT] {25}
S: Hi Alice,
S: how are you?
S: )
S: a3 OK FETCH completed
`)
}

func TestExpungeAndClose(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.deliver("INBOX", msg1)
	}
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 STORE 2:3 +FLAGS.SILENT (\Deleted)
S: a1 OK STORE completed
C: a2 EXPUNGE
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: a2 OK EXPUNGE completed
C: a3 UID FETCH 1:* UID
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 4)
S: a3 OK UID FETCH completed
C: a4 STORE 1:2 +FLAGS.SILENT (\Deleted)
S: a4 OK STORE completed
C: a5 UID EXPUNGE 4
S: * 2 EXPUNGE
S: a5 OK UID EXPUNGE completed
C: a6 CLOSE
S: a6 OK CLOSE completed
C: a7 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 0)
S: a7 OK STATUS completed
C: a8 FETCH 1 FLAGS
S: a8 BAD Command not valid in this state
`)
}

func TestUnselect(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1, `\Deleted`)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 UNSELECT
S: a1 OK UNSELECT completed
C: a2 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 1)
S: a2 OK STATUS completed
C: a3 UNSELECT
S: a3 BAD Command not valid in this state
`)
}
