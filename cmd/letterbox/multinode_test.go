package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresTestDSN is the database the multi-node tests use
// (scripts/postgres-test.sh makes one and prints its DSN). Without one
// the tests skip, except in CI where they fail.
func postgresTestDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("LETTERBOX_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = os.Getenv("LETTERBOX_TEST_POSTGRES")
	}
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postgres: LETTERBOX_TEST_POSTGRES_DSN not set (scripts/postgres-test.sh)")
		}
		t.Skip("postgres not available: set LETTERBOX_TEST_POSTGRES_DSN (scripts/postgres-test.sh)")
	}
	return dsn
}

// freshPostgresSchema creates an empty schema, dropped when the test ends,
// and returns a DSN whose search_path is that schema (as the driver's own
// tests do: pgx sends unknown DSN keys as run-time parameters).
func freshPostgresSchema(t *testing.T) string {
	t.Helper()
	base := postgresTestDSN(t)
	ctx := context.Background()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "lbcmd_" + hex.EncodeToString(rnd[:])
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}

// node is one in-process `letterbox serve`.
type node struct {
	addrs map[string]string // [listen] key → bound address
	out   *syncBuffer
	errb  *syncBuffer
}

// startServe runs `letterbox serve --data dir` with the given environment
// until the test ends, waits for its banner and returns its addresses.
func startServe(t *testing.T, dir string, environ map[string]string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{addrs: map[string]string{}, out: &syncBuffer{}, errb: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(&env{ctx: ctx, stdin: strings.NewReader(""), stdout: n.out, stderr: n.errb,
			getenv: func(k string) string {
				if k == cheapHashEnv {
					return "1"
				}
				return environ[k]
			}}, []string{"serve", "--data", dir})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve --data %s exited %d; stderr %s", dir, code, n.errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("serve --data %s did not stop after cancel", dir)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(n.out.String(), "add a user with:") {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d: %s%s", code, n.out.String(), n.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q stderr %q", n.out.String(), n.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range regexp.MustCompile(`listening: (\S+) +(\S+)`).FindAllStringSubmatch(n.out.String(), -1) {
		n.addrs[m[1]] = m[2]
	}
	return n
}

// session is a line-oriented client connection for the test.
type session struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialNode(t *testing.T, n *node, key string) *session {
	t.Helper()
	if n.addrs[key] == "" {
		t.Fatalf("no %s listener in banner %q", key, n.out.String())
	}
	c, err := net.DialTimeout("tcp", n.addrs[key], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &session{t, c, bufio.NewReader(c)}
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
		s.t.Fatal(err)
	}
}

// expect reads lines until one starts with prefix and returns the lines
// read, that one last.
func (s *session) expect(prefix string) []string {
	s.t.Helper()
	var lines []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("waiting for %q after %q: %v", prefix, lines, err)
		}
		lines = append(lines, line)
		if strings.HasPrefix(line, prefix) {
			return lines
		}
	}
}

// deliver sends one message to alice over SMTP or LMTP (RFC 5321, RFC 2033).
func deliver(t *testing.T, n *node, key, subject string) {
	t.Helper()
	s := dialNode(t, n, key)
	s.expect("220 ")
	hello := "EHLO"
	if key == "lmtp" {
		hello = "LHLO"
	}
	s.send(hello + " client.example")
	s.expect("250 ")
	s.send("MAIL FROM:<bob@remote.example>")
	s.expect("250 ")
	s.send("RCPT TO:<alice@example.com>")
	s.expect("250 ")
	s.send("DATA")
	s.expect("354 ")
	s.send("Subject: " + subject + "\r\n\r\nsent to " + key + "\r\n.")
	s.expect("250 ")
	s.send("QUIT")
	s.expect("221 ")
}

// Two nodes, one PostgreSQL database: an account added through node A's
// configuration, mail delivered over SMTP to node A, and node B serves it
// over POP3 and announces it to an IMAP session in IDLE (RFC 2177, RFC
// 9051 §7.4.1 EXISTS); then the other way round over LMTP. Node A reads
// its DSN from the config file, node B from LETTERBOX_POSTGRES_DSN.
func TestTwoNodesSharePostgres(t *testing.T) {
	dsn := freshPostgresSchema(t)
	listen := `
[listen]
smtp = "127.0.0.1:0"
submission = ""
submissions = ""
lmtp = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = ""
imap = "127.0.0.1:0"
imaps = ""
jmap = ""
[auth]
failure_delay = "1ms"
max_failure_delay = "1ms"
`
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := "hostname = \"node-a.example\"\n" + listen + "[store]\ndriver = \"postgres\"\ndsn = " + strconv.Quote(dsn) + "\n"
	cfgB := "hostname = \"node-b.example\"\n" + listen + "[store]\ndriver = \"postgres\"\n"
	for dir, cfg := range map[string]string{dirA: cfgA, dirB: cfgB} {
		if err := os.WriteFile(filepath.Join(dir, configFileName), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	envB := map[string]string{"LETTERBOX_POSTGRES_DSN": dsn}

	// The user verbs write to the configured store: added on A, listed on B.
	letterbox(t, "pw\n", nil, "user", "add", "--data", dirA, "alice@example.com").want(t, 0, `account alice@example.com created`)
	letterbox(t, "", envB, "user", "list", "--data", dirB).want(t, 0, `^alice@example.com\n$`)
	if r := letterbox(t, "", nil, "user", "list", "--data", dirB); r.code != 1 || !strings.Contains(r.stderr, "store.dsn: required") {
		t.Fatalf("node B without its DSN: exit %d, stderr %q", r.code, r.stderr)
	}

	a := startServe(t, dirA, nil)
	b := startServe(t, dirB, envB)
	for _, n := range []*node{a, b} {
		if !strings.Contains(n.out.String(), "store: postgres ") {
			t.Fatalf("banner does not name the postgres store: %q", n.out.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(dirA, "spool")); err != nil || !fi.IsDir() {
		t.Fatalf("default spool directory DATA/spool: %v", err)
	}

	// Node B: an IMAP session selects INBOX and idles.
	imap := dialNode(t, b, "imap")
	imap.expect("* OK")
	imap.send("a LOGIN alice@example.com pw")
	imap.expect("a OK")
	imap.send("b SELECT INBOX")
	if lines := imap.expect("b OK"); !strings.Contains(strings.Join(lines, ""), "* 0 EXISTS") {
		t.Fatalf("SELECT on B before delivery: %q", lines)
	}
	imap.send("c IDLE")
	imap.expect("+ ")

	// Node A takes the message over SMTP; the IDLE on B hears of it.
	deliver(t, a, "smtp", "to node A")
	imap.expect("* 1 EXISTS")
	imap.send("DONE")
	imap.expect("c OK")
	imap.send("d FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	if lines := imap.expect("d OK"); !strings.Contains(strings.Join(lines, ""), "Subject: to node A") {
		t.Fatalf("FETCH on B: %q", lines)
	}
	imap.send("e LOGOUT")
	imap.expect("e OK")

	// Node B serves it over POP3 (RFC 1939).
	pop := dialNode(t, b, "pop3")
	pop.expect("+OK")
	pop.send("USER alice@example.com")
	pop.expect("+OK")
	pop.send("PASS pw")
	pop.expect("+OK")
	pop.send("STAT")
	pop.expect("+OK 1 ")
	pop.send("RETR 1")
	pop.expect("+OK")
	msg := strings.Join(pop.expect(".\r\n"), "")
	if !strings.Contains(msg, "Subject: to node A\r\n") || !strings.Contains(msg, "sent to smtp\r\n") {
		t.Fatalf("RETR on B: %q", msg)
	}
	pop.send("QUIT")
	pop.expect("+OK")

	// And the other way: LMTP into B, POP3 on A sees both.
	deliver(t, b, "lmtp", "to node B")
	pop = dialNode(t, a, "pop3")
	pop.expect("+OK")
	pop.send("USER alice@example.com")
	pop.expect("+OK")
	pop.send("PASS pw")
	pop.expect("+OK")
	pop.send("STAT")
	pop.expect("+OK 2 ")
	pop.send("TOP 2 0")
	pop.expect("+OK")
	if hdr := strings.Join(pop.expect(".\r\n"), ""); !strings.Contains(hdr, "Subject: to node B\r\n") {
		t.Fatalf("TOP 2 0 on A: %q", hdr)
	}
	pop.send("QUIT")
	pop.expect("+OK")
}
