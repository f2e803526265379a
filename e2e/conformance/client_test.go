package conformance

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// imapConn is a raw IMAP connection: it sends exactly the bytes a script
// says and returns the server's responses as text, literals inlined.
type imapConn struct {
	t   *testing.T
	ep  string
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialIMAP(t *testing.T, addr string) *imapConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ic := &imapConn{t: t, ep: addr, c: c, r: bufio.NewReader(c)}
	if _, err := ic.readResponse(); err != nil {
		t.Fatalf("%s: greeting: %v", addr, err)
	}
	return ic
}

var literalAtEnd = regexp.MustCompile(`\{(\d+)\+?\}$`)

// readResponse reads one response line with any literals it carries.
func (ic *imapConn) readResponse() (string, error) {
	ic.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	for {
		line, err := ic.r.ReadString('\n')
		if err != nil {
			return b.String() + line, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		b.WriteString(line)
		m := literalAtEnd.FindStringSubmatch(line)
		if m == nil {
			return b.String(), nil
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(ic.r, buf); err != nil {
			return b.String(), err
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
}

// literalMarker splits a command into the pieces between synchronizing
// literals ("{N}\r\n"); after each piece the server's continuation is awaited.
var literalMarker = regexp.MustCompile(`\{\d+\}\r\n`)

// command sends one tagged command (tag added here) and returns every
// response up to and including the tagged one. Continuation requests for
// literals are consumed and not returned; other continuations end the
// exchange (the caller sees them).
func (ic *imapConn) command(cmd string) []string {
	ic.tag++
	tag := "a" + strconv.Itoa(ic.tag)
	full := tag + " " + cmd + "\r\n"
	var out []string
	idx := literalMarker.FindAllStringIndex(full, -1)
	start := 0
	for _, loc := range idx {
		ic.write(full[start:loc[1]])
		start = loc[1]
		// Wait for "+ " (or a rejection, which ends the command).
		for {
			resp, err := ic.readResponse()
			if err != nil {
				return append(out, "ERROR: "+err.Error())
			}
			if strings.HasPrefix(resp, "+") {
				break
			}
			out = append(out, resp)
			if strings.HasPrefix(resp, tag+" ") {
				return out
			}
		}
	}
	ic.write(full[start:])
	for {
		resp, err := ic.readResponse()
		if err != nil {
			return append(out, "ERROR: "+err.Error())
		}
		out = append(out, resp)
		if strings.HasPrefix(resp, tag+" ") || strings.HasPrefix(resp, "+") {
			return out
		}
	}
}

// raw sends bytes as they are (for malformed commands without a usable tag)
// and returns the responses up to one starting with untilPrefix.
func (ic *imapConn) raw(data, untilPrefix string) []string {
	ic.write(data)
	var out []string
	for {
		resp, err := ic.readResponse()
		if err != nil {
			return append(out, "ERROR: "+err.Error())
		}
		out = append(out, resp)
		if strings.HasPrefix(resp, untilPrefix) {
			return out
		}
	}
}

func (ic *imapConn) write(s string) {
	ic.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(ic.c, s); err != nil {
		ic.t.Fatalf("%s: write: %v", ic.ep, err)
	}
}

// login authenticates and fails the test when the server refuses.
func (ic *imapConn) login() {
	resp := ic.command(fmt.Sprintf("LOGIN %q %q", testUser, testPass))
	last := resp[len(resp)-1]
	if !strings.Contains(last, " OK") {
		ic.t.Fatalf("%s: LOGIN: %q", ic.ep, resp)
	}
}

// appendCmd is an APPEND with a synchronizing literal.
func appendCmd(mailbox, flags, date, msg string) string {
	return fmt.Sprintf("APPEND %s (%s) %q {%d}\r\n%s", mailbox, flags, date, len(msg), msg)
}
