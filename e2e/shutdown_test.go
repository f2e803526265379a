//go:build e2e

package e2e

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lineConn is a plain-text protocol connection for scripted exchanges.
type lineConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &lineConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *lineConn) send(line string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// expect reads lines until one starts with prefix.
func (c *lineConn) expect(prefix string) string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

// SIGTERM drains: an IMAP session is told BYE, an SMTP message whose
// DATA is arriving is still accepted (250) and kept, and the process exits
// well within its drain bound; after a restart the message is there.
func TestSIGTERMDrains(t *testing.T) {
	s := startWithUsers(t)
	defer s.stop()

	imap := dialLines(t, s.addr("imap"))
	imap.expect("* OK")
	imap.send(`a1 LOGIN "` + alice + `" "` + alicePass + `"`)
	imap.expect("a1 OK")
	imap.send("a2 SELECT INBOX")
	imap.expect("a2 OK")

	smtp := dialLines(t, s.addr("smtp"))
	smtp.expect("220 ")
	smtp.send("EHLO drain.example")
	smtp.expect("250 ")
	smtp.send("MAIL FROM:<sender@remote.example>")
	smtp.expect("250 ")
	smtp.send("RCPT TO:<" + alice + ">")
	smtp.expect("250 ")
	smtp.send("DATA")
	smtp.expect("354 ")
	smtp.send("Subject: sent while the server stops")
	smtp.send("")

	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	imap.expect("* BYE Server shutting down")
	time.Sleep(300 * time.Millisecond) // the drain is under way
	smtp.send("body")
	smtp.send(".")
	smtp.expect("250 ")
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", s.log.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if !s.cmd.ProcessState.Success() {
		t.Fatalf("exit status %v\n%s", s.cmd.ProcessState, s.log.String())
	}
	if !strings.Contains(s.log.String(), "sessions drained") {
		t.Errorf("no drain line in the log:\n%s", s.log.String())
	}
	s.cmd = nil

	s.start()
	c := s.dialIMAPS(t, alice, alicePass)
	defer c.Close()
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("%d messages after restart, want 1", len(msgs))
	}
}
