//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// message builds a small RFC 5322 message with CRLF line ends.
func message(from, to, subject, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Date(2024, 3, 14, 15, 9, 26, 0, time.UTC).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.%s@e2e.example>\r\n", time.Now().UnixNano(), strings.ReplaceAll(subject, " ", "-"))
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.TrimRight(body, "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// stripTrace removes the trace header fields (Return-Path, Received,
// Authentication-Results, with their continuation lines) that the server
// prepends at delivery.
func stripTrace(msg []byte) []byte {
	for {
		end := bytes.Index(msg, []byte("\r\n"))
		if end < 0 {
			return msg
		}
		name, _, ok := bytes.Cut(msg[:end], []byte(":"))
		if !ok {
			return msg
		}
		n := strings.ToLower(string(name))
		if n != "received" && n != "return-path" && n != "delivered-to" && n != "authentication-results" {
			return msg
		}
		rest := msg[end+2:]
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			e := bytes.Index(rest, []byte("\r\n"))
			if e < 0 {
				return msg
			}
			rest = rest[e+2:]
		}
		msg = rest
	}
}

// sendSMTP delivers one message over plain SMTP (no AUTH) and returns the
// server's error, if any, for the whole transaction.
func sendSMTP(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("e2e.example"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// mustSend is sendSMTP that fails the test.
func (s *server) mustSend(t testing.TB, to string, msg []byte) {
	t.Helper()
	if err := sendSMTP(s.addr("smtp"), "sender@remote.example", []string{to}, msg); err != nil {
		t.Fatalf("SMTP delivery to %s: %v", to, err)
	}
}

// pop3 is a minimal POP3 client (RFC 1939) for checks the real clients do
// not expose.
type pop3 struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dialPOP3S connects over implicit TLS and logs in with USER/PASS.
func (s *server) dialPOP3S(t testing.TB, user, pass string) *pop3 {
	t.Helper()
	conn, err := tls.Dial("tcp", s.addr("pop3s"), s.tlsConfig())
	if err != nil {
		t.Fatalf("POP3S dial: %v", err)
	}
	p := &pop3{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	p.status()
	p.cmd("USER " + user)
	p.cmd("PASS " + pass)
	return p
}

func (p *pop3) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("POP3 read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// status reads a single-line response and fails unless it is +OK.
func (p *pop3) status() string {
	p.t.Helper()
	l := p.line()
	if !strings.HasPrefix(l, "+OK") {
		p.t.Fatalf("POP3: %q", l)
	}
	return l
}

func (p *pop3) cmd(c string) string {
	p.t.Helper()
	if _, err := fmt.Fprintf(p.conn, "%s\r\n", c); err != nil {
		p.t.Fatalf("POP3 write: %v", err)
	}
	return p.status()
}

// multi sends a command with a multi-line answer and returns the data,
// dot-unstuffed, with CRLF line ends.
func (p *pop3) multi(c string) []byte {
	p.t.Helper()
	p.cmd(c)
	var out bytes.Buffer
	for {
		l, err := p.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("POP3 read: %v", err)
		}
		if l == ".\r\n" {
			return out.Bytes()
		}
		out.WriteString(strings.TrimPrefix(l, "."))
	}
}

// stat returns the message count.
func (p *pop3) stat() int {
	p.t.Helper()
	f := strings.Fields(p.cmd("STAT"))
	if len(f) < 3 {
		p.t.Fatalf("STAT: %v", f)
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// uidl returns message number → unique id.
func (p *pop3) uidl() map[int]string {
	p.t.Helper()
	m := map[int]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(p.multi("UIDL"))), "\r\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			n, _ := strconv.Atoi(f[0])
			m[n] = f[1]
		}
	}
	return m
}

func (p *pop3) quit() {
	p.t.Helper()
	p.cmd("QUIT")
	p.conn.Close()
}
