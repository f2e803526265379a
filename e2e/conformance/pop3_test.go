package conformance

import (
	"bufio"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pop3Conn is a raw POP3 connection (RFC 1939).
type pop3Conn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialPOP3(t *testing.T, addr string) *pop3Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pc := &pop3Conn{t: t, c: c, r: bufio.NewReader(c)}
	if greeting := pc.line(); !strings.HasPrefix(greeting, "+OK") {
		t.Fatalf("%s: greeting %q", addr, greeting)
	}
	return pc
}

func (pc *pop3Conn) line() string {
	pc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := pc.r.ReadString('\n')
	if err != nil {
		return "ERROR: " + err.Error()
	}
	return strings.TrimSuffix(l, "\r\n")
}

// multiline marks the commands whose +OK is followed by a dot-terminated
// block (RFC 1939 §3).
func multiline(cmd string) bool {
	f := strings.Fields(strings.ToUpper(cmd))
	switch {
	case len(f) == 0:
		return false
	case f[0] == "RETR" || f[0] == "TOP" || f[0] == "CAPA":
		return true
	case (f[0] == "LIST" || f[0] == "UIDL") && len(f) == 1:
		return true
	}
	return false
}

// command sends one command and returns the status line and, for a
// multi-line answer, every line up to and including ".". Lines are kept
// exactly as sent (dot-stuffing included).
func (pc *pop3Conn) command(cmd string) []string {
	pc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := pc.c.Write([]byte(cmd + "\r\n")); err != nil {
		pc.t.Fatalf("write: %v", err)
	}
	first := pc.line()
	out := []string{first}
	if !strings.HasPrefix(first, "+OK") || !multiline(cmd) {
		return out
	}
	for {
		l := pc.line()
		out = append(out, l)
		if l == "." || strings.HasPrefix(l, "ERROR: ") {
			return out
		}
	}
}

var (
	// A unique-id is 1 to 70 characters in 0x21..0x7E (RFC 1939 §7).
	uidlLine = regexp.MustCompile(`^(\+OK )?(\d+) ([\x21-\x7e]{1,70})$`)
	// Number-bearing status lines: STAT "+OK n size", LIST n "+OK n size".
	scanListing = regexp.MustCompile(`^\+OK \d+ \d+$`)
)

// normalisePOP3 keeps what RFC 1939 defines and drops free text: the text
// after +OK/-ERR is the server's own (RFC 1939 §3) except in scan listings;
// unique-ids are each server's (RFC 1939 §7: any 1-70 printable characters),
// so only their format and their message numbers are compared.
func normalisePOP3(cmd string, resps []string) []string {
	verb := strings.ToUpper(strings.Fields(cmd + " x")[0])
	var out []string
	for i, r := range resps {
		switch {
		case verb == "UIDL" && uidlLine.MatchString(r):
			m := uidlLine.FindStringSubmatch(r)
			r = m[1] + m[2] + " <unique-id>"
		case i == 0 && strings.HasPrefix(r, "-ERR"):
			r = "-ERR"
		case i == 0 && strings.HasPrefix(r, "+OK") && !scanListing.MatchString(r):
			r = "+OK"
		}
		out = append(out, r)
	}
	return out
}

func TestPOP3(t *testing.T) {
	eps := []endpoint{startDovecot(t), startLetterbox(t)}
	for _, ep := range eps {
		ic := dialIMAP(t, ep.imap)
		ic.login()
		for _, m := range corpus {
			resp := ic.command(appendCmd("INBOX", m.flags, m.date, m.raw()))
			if !strings.Contains(resp[len(resp)-1], " OK") {
				t.Fatalf("%s: APPEND %s: %q", ep.name, m.name, resp)
			}
		}
		ic.command("LOGOUT")
	}
	var retrAll []string
	for i := range corpus {
		retrAll = append(retrAll, "RETR "+strconv.Itoa(i+1))
	}
	scripts := []imapScript{
		{name: "STAT LIST UIDL", cmds: []string{"STAT", "LIST", "LIST 3", "LIST 99", "LIST 0", "UIDL", "UIDL 1", "UIDL 99"}},
		{name: "TOP", cmds: []string{"TOP 1 0", "TOP 4 2", "TOP 2 1000", "TOP 5 0", "TOP 11 2", "TOP 99 0", "TOP 1", "TOP 1 x"}},
		{name: "RETR", cmds: retrAll},
		{name: "DELE and RSET", cmds: []string{"DELE 2", "STAT", "LIST", "RETR 2", "DELE 2", "LIST 2", "UIDL", "RSET", "STAT", "NOOP"}},
		{name: "errors", cmds: []string{"RETR 99", "RETR x", "RETR", "DELE 0", "BOGUS", "LIST 1 2"}},
		{name: "STAT with an argument", cmds: []string{"STAT extra"},
			// RFC 1939 §5: STAT takes no arguments; letterbox's -ERR is
			// right, Dovecot ignores the argument.
			allowed: "STAT with an argument: letterbox -ERR (RFC 1939 §5 'Arguments: none'), Dovecot +OK"},
		{name: "DELE and QUIT expunges", cmds: []string{"DELE 1", "QUIT"}},
		{name: "after QUIT", cmds: []string{"STAT", "UIDL 1", "TOP 1 0"}},
	}
	for _, s := range scripts {
		t.Run(s.name, func(t *testing.T) {
			var got []transcript
			for _, ep := range eps {
				pc := dialPOP3(t, ep.pop3)
				for _, c := range []string{"USER " + testUser, "PASS " + testPass} {
					if r := pc.command(c); !strings.HasPrefix(r[0], "+OK") {
						t.Fatalf("%s: %s: %q", ep.name, c, r)
					}
				}
				var tr transcript
				for _, cmd := range s.cmds {
					tr = append(tr, "C: "+cmd)
					tr = append(tr, normalisePOP3(cmd, pc.command(cmd))...)
				}
				pc.command("QUIT")
				got = append(got, tr)
			}
			report(t, s, got[0], got[1])
		})
	}
}
