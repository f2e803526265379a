package imapserver_test

import (
	"io"
	"testing"
	"time"
)

// A command with non-synchronizing literals sent instead of DONE gets BAD
// for the IDLE, and its literals' octets are skipped, not taken for the
// next command (RFC 2177 §3, RFC 7888).
func TestIdleNonSyncLiteralInsteadOfDoneIsSkipped(t *testing.T) {
	tests := []struct {
		name string
		raw  string // sent after "+ idling"
	}{
		{"one literal", "a2 APPEND INBOX {5+}\r\nhello\r\n"},
		{"chained literals", "a2 LOGIN {3+}\r\nabc {6+}\r\nb9 X\r\n\r\n"},
		{"long line ending in a literal", "a2 APPEND INBOX " + longAtom(70<<10) + " {6+}\r\ne9 Z\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.login()
			c.run(`
C: a1 IDLE
S: + idling
`)
			if _, err := c.nc.Write([]byte(tt.raw)); err != nil {
				t.Fatal(err)
			}
			c.run(`
S: a1 BAD Expected DONE
C: a3 NOOP
S: a3 OK NOOP completed
`)
		})
	}
}

func longAtom(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

// A synchronizing literal, or a non-synchronizing one too large to skip,
// announced instead of DONE leaves the stream position unknown: BAD for the
// IDLE, then BYE and close.
func TestIdleLiteralThatCannotBeSkippedClosesConnection(t *testing.T) {
	for _, line := range []string{
		"a2 APPEND INBOX {5}",
		"a2 APPEND INBOX {99999999999+}",
		"a2 APPEND INBOX {99999999999999999999999+}",
	} {
		t.Run(line, func(t *testing.T) {
			h := newHarness(t)
			c := h.login()
			c.run(`
C: a1 IDLE
S: + idling
C: ` + line + `
S: a1 BAD Expected DONE
S: * BYE Cannot resynchronise after a literal sent during IDLE, closing connection
`)
			c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if b, err := c.br.ReadByte(); err != io.EOF {
				t.Fatalf("connection not closed: read %q, %v", b, err)
			}
		})
	}
}
