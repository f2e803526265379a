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
