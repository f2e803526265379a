package imapserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

func withCommandTimeout(d time.Duration) func(*imapserver.Options) {
	return func(o *imapserver.Options) { o.Limits.CommandTimeout = d }
}

// A client that trickles a command line is cut off about CommandTimeout
// after the command's first octet, although it is never idle that long.
func TestCommandTimeoutCutsOffTrickledCommand(t *testing.T) {
	h := newHarness(t, withCommandTimeout(300*time.Millisecond))
	c := h.dial()
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for _, b := range []byte("a1 NOOP" + strings.Repeat(" ", 100)) {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
			}
			if _, err := c.nc.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	c.expect("* BYE Command not received in time, closing connection")
	if el := time.Since(start); el < 300*time.Millisecond || el > 3*time.Second {
		t.Fatalf("cut off after %v, want about 300ms", el)
	}
}

// The command clock starts with the first octet: a client idle for longer
// than CommandTimeout between commands is not affected.
func TestCommandTimeoutNotAppliedWhileIdle(t *testing.T) {
	h := newHarness(t, withCommandTimeout(100*time.Millisecond))
	c := h.dial()
	time.Sleep(400 * time.Millisecond)
	c.run(`
C: a1 NOOP
S: a1 OK NOOP completed
`)
}

// A large APPEND sent more slowly than CommandTimeout allows for a whole
// command, but faster than 64 KiB/s, completes.
func TestCommandTimeoutGrowsWithLiteral(t *testing.T) {
	h := newHarness(t, withCommandTimeout(300*time.Millisecond))
	c := h.login()
	const chunk, chunks = 16 << 10, 16 // 256 KiB in about 1s: 256 KiB/s
	line := strings.Repeat("x", 62) + "\r\n"
	head := "Subject: big\r\n\r\n"
	body := []byte(head + strings.Repeat(line, (chunk*chunks-len(head))/len(line)-1))
	body = append(body, strings.Repeat("y", chunk*chunks-len(body)-2)+"\r\n"...)
	c.send("a1 APPEND INBOX {" + itoa(len(body)) + "}")
	c.expect("~\\+ .*")
	start := time.Now()
	for i := 0; i < chunks; i++ {
		time.Sleep(60 * time.Millisecond)
		if _, err := c.nc.Write(body[i*chunk : (i+1)*chunk]); err != nil {
			t.Fatalf("write chunk %d: %v", i, err)
		}
	}
	if el := time.Since(start); el < 600*time.Millisecond {
		t.Fatalf("upload took only %v; the test needs it slower than CommandTimeout", el)
	}
	c.send("")
	c.expect("~a1 OK \\[APPENDUID .*\\] APPEND completed")
}
