package imapserver_test

import (
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// TestWithin: SEARCH OLDER and YOUNGER compare INTERNALDATE with the
// current time in seconds (RFC 5032 §3); the interval is an nz-number.
func TestWithin(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	old := "Subject: old\r\n\r\nold\r\n"
	fresh := "Subject: new\r\n\r\nnew\r\n"
	c.send(`a1 APPEND INBOX "01-Jan-2020 10:00:00 +0000" {` + itoa(len(old)) + "+}\r\n" + old)
	c.expect(`~a1 OK \[APPENDUID \d+ 1\] APPEND completed`)
	c.send("a2 APPEND INBOX {" + itoa(len(fresh)) + "+}\r\n" + fresh)
	c.expect(`~a2 OK \[APPENDUID \d+ 2\] APPEND completed`)
	c.selectInbox("a3")
	c.run(`
C: a4 SEARCH OLDER 3600
S: * SEARCH 1
S: a4 OK SEARCH completed
C: a5 SEARCH YOUNGER 3600
S: * SEARCH 2
S: a5 OK SEARCH completed
C: a6 UID SEARCH NOT YOUNGER 3600
S: * SEARCH 1
S: a6 OK UID SEARCH completed
C: a7 SEARCH OR OLDER 100000000 YOUNGER 1000000000
S: * SEARCH 1 2
S: a7 OK SEARCH completed
C: a8 SEARCH YOUNGER 1
S~ \* SEARCH( 2)?
S: a8 OK SEARCH completed
C: a9 SEARCH OLDER 0
S~ a9 BAD .*
C: a10 SEARCH YOUNGER x
S~ a10 BAD .*
`)
}

var _ = strings.Repeat
var _ imapserver.Options
