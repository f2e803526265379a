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
	c1 := h.dial()
	h.dial()
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
	h.dial()
	line, closeConn := firstLine(t, h.addr)
	closeConn()
	if line != "* BYE [UNAVAILABLE] too many connections from your address" {
		t.Fatalf("second connection got %q", line)
	}
}
