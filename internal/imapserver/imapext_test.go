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

// TestLiteralMinus: with Limits.LiteralMinus the server advertises
// LITERAL- instead of LITERAL+ (never both, RFC 7888 §4; Dovecot's
// imap_literal_minus does the same), takes non-synchronizing literals up
// to 4096 octets and refuses a larger one with BAD [TOOBIG], reading and
// discarding it so the next command is understood (RFC 7888 §4). A
// synchronizing literal of any size within the limits still works.
func TestLiteralMinus(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Limits.LiteralMinus = true })
	c := h.dial()
	c.send("a0 CAPABILITY")
	caps := c.expect(`~\* CAPABILITY .*`)
	if !strings.Contains(caps, " LITERAL- ") || strings.Contains(caps, "LITERAL+") {
		t.Fatalf("capabilities %q: want LITERAL- and no LITERAL+", caps)
	}
	c.expect("a0 OK CAPABILITY completed")
	c.run(`
C: a1 LOGIN {17+}
C: alice@example.com {15+}
C: secret password
S~ a1 OK .*LOGIN completed
`)
	at4096 := "Subject: x\r\n\r\n" + strings.Repeat("y", 4096-15) + "\n"
	if len(at4096) != 4096 {
		t.Fatal(len(at4096))
	}
	c.send("a2 APPEND INBOX {4096+}\r\n" + at4096)
	c.expect(`~a2 OK \[APPENDUID \d+ 1\] APPEND completed`)
	over := at4096 + "z"
	c.send("a3 APPEND INBOX {4097+}\r\n" + over)
	c.expect(`a3 BAD [TOOBIG] non-synchronizing literal too large`)
	c.send("a4 CREATE {4097+}\r\n" + strings.Repeat("m", 4097))
	c.expect(`a4 BAD [TOOBIG] non-synchronizing literal too large`)
	c.run(`
C: a5 NOOP
S: a5 OK NOOP completed
`)
	c.send("a6 APPEND INBOX {4097}")
	c.expect("+ Ready")
	c.send(over)
	c.expect(`~a6 OK \[APPENDUID \d+ 2\] APPEND completed`)
	c.run(`
C: a7 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 2)
S: a7 OK STATUS completed
`)
	// Without the option, LITERAL+ takes the same literal.
	h2 := newHarness(t)
	c2 := h2.login()
	c2.send("b1 APPEND INBOX {4097+}\r\n" + over)
	c2.expect(`~b1 OK \[APPENDUID \d+ 1\] APPEND completed`)
}
