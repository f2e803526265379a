package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeConnectionLimits: [pop3] and [smtp] max_connections_per_ip
// reach the servers: the second connection from 127.0.0.1 is refused with
// the protocol's temporary error.
func TestServeConnectionLimits(t *testing.T) {
	dir := t.TempDir()
	cfg := `
[listen]
smtp = "127.0.0.1:0"
submission = ""
submissions = ""
lmtp = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = ""
imap = ""
imaps = ""
jmap = ""
[smtp]
max_connections_per_ip = 1
[pop3]
max_connections_per_ip = 1
`
	if err := os.WriteFile(filepath.Join(dir, "letterbox.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(&env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string {
				if k == cheapHashEnv {
					return "1"
				}
				return ""
			}}, []string{"serve", "--data", dir})
	}()
	t.Cleanup(func() { cancel(); <-done })
	listening := regexp.MustCompile(`listening: (\S+) +(\S+)`)
	addrs := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for addrs["smtp"] == "" || addrs["lmtp"] == "" || addrs["pop3"] == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s%s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("listeners not announced; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
		for _, m := range listening.FindAllStringSubmatch(out.String(), -1) {
			addrs[m[1]] = m[2]
		}
	}
	dial := func(addr string) (net.Conn, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		return c, strings.TrimRight(line, "\r\n")
	}
	for _, tt := range []struct{ key, admitted, refused string }{
		{"smtp", "220 ", "421 4.7.0 Too many connections from your address"},
		{"lmtp", "220 ", "421 4.7.0 Too many connections from your address"},
	} {
		if _, got := dial(addrs[tt.key]); !strings.HasPrefix(got, tt.admitted) {
			t.Errorf("%s first connection: %q", tt.key, got)
		}
		if _, got := dial(addrs[tt.key]); got != tt.refused {
			t.Errorf("%s second connection: %q, want %q", tt.key, got, tt.refused)
		}
	}
	// POP3: the second connection takes the place of the first, which
	// never logged in (docs/LOGINS.md).
	first, got := dial(addrs["pop3"])
	if !strings.HasPrefix(got, "+OK") {
		t.Errorf("pop3 first connection: %q", got)
	}
	if _, got := dial(addrs["pop3"]); !strings.HasPrefix(got, "+OK") {
		t.Errorf("pop3 second connection: %q, want the greeting", got)
	}
	var b [64]byte
	if n, err := first.Read(b[:]); err == nil {
		t.Errorf("pop3 first connection still open after a newer one took its place: read %q", b[:n])
	}
}
