package imapserver_test

import (
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// The header column answers the second and later searches of a mailbox:
// empty needles (does the field have an address), addresses of several
// entries, messages with an empty subject (left out of the column), and
// new mail delivered after the column was made must all answer as the
// first search, which reads the structures.
func TestHeaderColumnAnswersAsStructures(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", "From: Ann <ann@example.com>\r\nTo: bob@example.com, Carl <carl@example.org>\r\nSubject: Quarterly Report\r\n\r\nx\r\n")
	h.deliver("INBOX", "From: dora@example.net\r\nSubject:\r\n\r\nno subject, no To\r\n")
	h.deliver("INBOX", "From: Eve <eve@example.com>\r\nCc: ann@example.com\r\n\r\nno Subject field\r\n")
	imapserver.ResetSearchCaches()
	c := h.login()
	c.selectInbox("a0")
	script := `
C: a1 SEARCH TO ""
S: * SEARCH 1
S: a1 OK SEARCH completed
C: a2 SEARCH CC ""
S: * SEARCH 3
S: a2 OK SEARCH completed
C: a3 SEARCH TO carl
S: * SEARCH 1
S: a3 OK SEARCH completed
C: a4 SEARCH SUBJECT ""
S: * SEARCH 1 2
S: a4 OK SEARCH completed
C: a5 SEARCH OR FROM ann CC ann
S: * SEARCH 1 3
S: a5 OK SEARCH completed
C: a6 SEARCH NOT SUBJECT report
S: * SEARCH 2 3
S: a6 OK SEARCH completed
C: a7 SEARCH FROM "example.com>"
S: * SEARCH 1 3
S: a7 OK SEARCH completed
`
	c.run(script) // fills the column
	c.run(script) // answered from it
	h.deliver("INBOX", "From: Fay <fay@example.com>\r\nTo: ann@example.com\r\nSubject: report two\r\n\r\ny\r\n")
	c.run(`
C: b1 NOOP
S: * 4 EXISTS
S: * 4 RECENT
S: b1 OK NOOP completed
C: b2 SEARCH SUBJECT REPORT
S: * SEARCH 1 4
S: b2 OK SEARCH completed
C: b3 SEARCH TO ""
S: * SEARCH 1 4
S: b3 OK SEARCH completed
`)
	c.run(`
C: b4 SEARCH TO ""
S: * SEARCH 1 4
S: b4 OK SEARCH completed
`)
}

// Two sessions on one mailbox share its column and its STATUS counts:
// B's searches use the column A's search filled; a message B expunges
// stays searchable in A's view until A is told (RFC 3501 §7.4.1: no
// EXPUNGE during SEARCH), and A's next search after NOOP no longer has
// it; a STORE in one session and a delivery are in the other's STATUS at
// once.
func TestHeaderColumnAndStatusBetweenSessions(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", "From: ann@example.com\r\nSubject: budget one\r\n\r\nx\r\n")
	h.deliver("INBOX", "From: bob@example.com\r\nSubject: budget two\r\n\r\nx\r\n")
	h.deliver("INBOX", "From: ann@example.com\r\nSubject: other\r\n\r\nx\r\n")
	imapserver.ResetSearchCaches()
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	wantContains(t, a.collect("a1", "SEARCH SUBJECT budget"), "* SEARCH 1 2")
	wantContains(t, b.collect("b1", "SEARCH SUBJECT budget"), "* SEARCH 1 2")
	wantContains(t, b.collect("b2", "SEARCH FROM ann"), "* SEARCH 1 3")
	b.collect("b3", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	b.collect("b4", "EXPUNGE")
	wantContains(t, b.collect("b5", "SEARCH SUBJECT budget"), "* SEARCH 1")
	// A has not been told of the expunge: during SEARCH it may not be,
	// so message 1 is still there and still matches.
	lines := a.collect("a2", "SEARCH SUBJECT budget")
	wantContains(t, lines, "* SEARCH 1 2")
	wantContains(t, a.collect("a3", "NOOP"), "* 1 EXPUNGE")
	wantContains(t, a.collect("a4", "SEARCH SUBJECT budget"), "* SEARCH 1")
	wantContains(t, a.collect("a5", "SEARCH FROM ann"), "* SEARCH 2")

	// STATUS of INBOX from a session that has Archive selected, before
	// and after the other session's STORE and a delivery.
	a.collect("a6", "SELECT Archive")
	wantContains(t, a.collect("a7", "STATUS INBOX (MESSAGES UNSEEN)"), "* STATUS \"INBOX\" (MESSAGES 2 UNSEEN 2)")
	b.collect("b6", `STORE 1 +FLAGS.SILENT (\Seen)`)
	wantContains(t, a.collect("a8", "STATUS INBOX (MESSAGES UNSEEN)"), "* STATUS \"INBOX\" (MESSAGES 2 UNSEEN 1)")
	h.deliver("INBOX", "From: cy@example.com\r\nSubject: budget three\r\n\r\nx\r\n")
	wantContains(t, a.collect("a9", "STATUS INBOX (MESSAGES UNSEEN)"), "* STATUS \"INBOX\" (MESSAGES 3 UNSEEN 2)")
	b.collect("b7", `STORE 1:* -FLAGS.SILENT (\Seen)`)
	wantContains(t, a.collect("a10", "STATUS INBOX (MESSAGES UNSEEN)"), "* STATUS \"INBOX\" (MESSAGES 3 UNSEEN 3)")
	wantContains(t, b.collect("b8", "SEARCH SUBJECT budget"), "* SEARCH 1 3")
	// An EXPUNGE leaves the cached counts behind: the next STATUS recounts.
	b.collect("b9", `STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.collect("b10", "EXPUNGE")
	wantContains(t, a.collect("a11", "STATUS INBOX (MESSAGES UNSEEN)"), "* STATUS \"INBOX\" (MESSAGES 2 UNSEEN 2)")
}
