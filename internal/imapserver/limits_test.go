package imapserver_test

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// firstLine dials addr and returns the server's first line.
func firstLine(t *testing.T, addr string) (string, func()) {
	t.Helper()
	nc, err := netDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		nc.Close()
		t.Fatalf("reading first line: %v (got %q)", err, line)
	}
	return strings.TrimSuffix(line, "\r\n"), func() { nc.Close() }
}

func TestTotalConnectionLimit(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Limits.MaxConns = 2
		o.Limits.MaxConnsPerIP = 10
	})
	// Logged-in connections are never closed for a newcomer.
	c1 := h.login()
	h.login()
	line, closeRefused := firstLine(t, h.addr)
	closeRefused()
	if line != "* BYE [UNAVAILABLE] too many connections" {
		t.Fatalf("third connection got %q", line)
	}
	c1.run(`
C: a1 LOGOUT
S: * BYE letterbox logging out
S: a1 OK LOGOUT completed
`)
	c1.nc.Close()
	// The slot is freed once the server has finished with c1.
	deadline := time.Now().Add(5 * time.Second)
	for {
		line, closeConn := firstLine(t, h.addr)
		closeConn()
		if strings.HasPrefix(line, "* OK ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after LOGOUT: %q", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPerIPConnectionLimitText(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Limits.MaxConnsPerIP = 1
	})
	h.login()
	line, closeConn := firstLine(t, h.addr)
	closeConn()
	if line != "* BYE [UNAVAILABLE] too many connections from your address" {
		t.Fatalf("second connection got %q", line)
	}
}

// At the per-address bound a new connection takes the place of the oldest
// one from that address that has not logged in (as Dovecot does): a flood
// of idle connections cannot keep the real user out. Logged-in ones stay.
func TestNewConnectionEvictsOldestUnauthenticated(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Limits.MaxConnsPerIP = 3
	})
	idle1 := h.dial()
	user := h.login()
	idle2 := h.dial()
	c := h.dial() // the fourth: idle1 goes
	for _, tc := range []struct {
		name string
		cc   *tconn
		gone bool
	}{{"oldest idle", idle1, true}, {"newer idle", idle2, false}} {
		tc.cc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := tc.cc.nc.Write([]byte("x NOOP\r\n"))
		if err == nil {
			var b [256]byte
			_, err = tc.cc.nc.Read(b[:])
		}
		if gone := err != nil; gone != tc.gone {
			t.Fatalf("%s: closed = %v (err %v), want %v", tc.name, gone, err, tc.gone)
		}
	}
	user.run(`
C: a1 NOOP
S: a1 OK NOOP completed
`)
	c.run(`
C: b1 LOGIN "` + testUser + `" "` + testPass + `"
S~ b1 OK .*
`)
}
