package mailclient

import (
	"context"
	"net"
	"testing"
	"time"
)

// A cancelled context (Ctrl-C) ends the session instead of leaving a
// command waiting.
func TestContextCancelClosesSession(t *testing.T) {
	s := startServers(t)
	for _, p := range []Protocol{IMAP, POP3} {
		cctx, cancel := context.WithCancel(context.Background())
		c, err := Dial(cctx, s.config(p, Plaintext))
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
		if _, err := c.List(ctx, "", 0); err == nil {
			t.Errorf("%v: list after cancel succeeded", p)
		}
		c.Close()
	}
}

// Servers that say nothing or garbage get an error within the timeout,
// never a hang or a panic.
func TestBrokenServers(t *testing.T) {
	for _, tt := range []struct {
		name     string
		greeting string
	}{
		{"silent", ""},
		{"garbage", "HTTP/1.1 400 Bad Request\r\n\r\n"},
		{"binary", "\x00\xff\xfe\r\n"},
	} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Write([]byte(tt.greeting))
				go func() { time.Sleep(2 * time.Second); c.Close() }()
			}
		}()
		for _, p := range []Protocol{IMAP, POP3} {
			for _, sec := range []Security{Plaintext, StartTLS, ImplicitTLS} {
				cfg := Config{Protocol: p, Security: sec, Addr: l.Addr().String(), User: "u", Password: "p", Timeout: 300 * time.Millisecond}
				start := time.Now()
				c, err := Dial(ctx, cfg)
				if err == nil {
					c.Close()
					t.Errorf("%s %v %v: dial succeeded", tt.name, p, sec)
				}
				if d := time.Since(start); d > 1500*time.Millisecond {
					t.Errorf("%s %v %v: took %v", tt.name, p, sec, d)
				}
			}
		}
		l.Close()
	}
}
