package imapserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

func TestIdle(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 IDLE
S: + idling
`)
	h.deliver("INBOX", msg1)
	// Pushed without the client sending anything (RFC 2177).
	c.run(`
S: * 1 EXISTS
S: * 1 RECENT
C: DONE
S: a1 OK IDLE completed
C: a2 IDLE
S: + idling
C: NOTDONE
S: a2 BAD Expected DONE
C: a3 NOOP
S: a3 OK NOOP completed
`)
}

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Limits.IdleTimeout = 300 * time.Millisecond })
	c := h.login()
	c.run(`
C: a1 IDLE
S: + idling
S: * BYE Idle timeout, closing connection
`)
	c2 := h.login()
	c2.expect("* BYE Idle timeout, closing connection")
}

func TestAppendLimits(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.MaxMessageSize = 100 })
	c := h.login()
	c.send("a0 CAPABILITY")
	caps := c.readLine()
	if !strings.Contains(caps, " APPENDLIMIT=100") {
		t.Fatalf("capabilities: %s", caps)
	}
	c.run(`
S: a0 OK CAPABILITY completed
C: a1 APPEND INBOX {101}
S~ a1 NO \[TOOBIG\] .*
C: a2 APPEND INBOX {0}
S: + Ready
C: 
S: a2 NO [CANNOT] Empty message
C: a3 APPEND INBOX (\Seen) "05-Mar-2021 10:00:00 +0100" {12+}
C: Subject: x
C: 
S~ a3 OK \[APPENDUID \d+ 1\] APPEND completed
C: a4 FETCH 1 INTERNALDATE
S: a4 BAD Command not valid in this state
C: a5 EXAMINE INBOX
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: a5 OK [READ-ONLY] EXAMINE completed
C: a6 FETCH 1 (INTERNALDATE FLAGS)
S: * 1 FETCH (INTERNALDATE " 5-Mar-2021 10:00:00 +0100" FLAGS (\Seen \Recent))
S: a6 OK FETCH completed
`)
}

func TestLiteralPlus(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	// A non-synchronizing literal gets no continuation (RFC 7888).
	c.run(`
C: a1 LOGIN {17+}
C: alice@example.com {15+}
C: secret password
S~ a1 OK .*LOGIN completed
C: a2 CREATE {4+}
C: Test
S~ a2 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
}

func TestLineLengthLimit(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Limits.MaxLineLength = 1000 })
	c := h.login()
	c.send("a1 CREATE " + strings.Repeat("x", 2000))
	c.expect("~a1 BAD .*")
	c.run(`
C: a2 NOOP
S: a2 OK NOOP completed
`)
}
