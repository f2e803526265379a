package pop3server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/pop3client"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// Test accounts.
const (
	alice     = "alice@example.com"
	alicePass = "alice secret"
	bob       = "bob@example.com"
	bobPass   = "hunter2"
)

// testEnv is a running server on 127.0.0.1 over a test store with two
// accounts, using the real auth.Service with cheap hash parameters.
type testEnv struct {
	t      *testing.T
	store  store.Store // the real SQLite driver; Options.Store may wrap it
	srv    *Server
	addr   string
	opts   Options
	logBuf *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, tweak ...func(*Options)) *testEnv {
	t.Helper()
	st := newTestStore(t)
	for _, a := range [][2]string{{alice, alicePass}, {bob, bobPass}} {
		hash, err := auth.HashPassword(a[1], auth.TestParams)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateAccount(context.Background(), a[0], hash); err != nil {
			t.Fatal(err)
		}
	}
	logBuf := &syncBuffer{}
	opts := Options{
		Store:    st,
		Auth:     auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond}),
		Hostname: "pop.test",
		Logger:   slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range tweak { // may wrap opts.Store for fault injection
		f(&opts)
	}
	e := &testEnv{t: t, store: st, opts: opts, logBuf: logBuf}
	e.srv = New(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(l) }()
	t.Cleanup(func() {
		e.srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})
	return e
}

// deliver puts a message into account's INBOX.
func (e *testEnv) deliver(account, body string) store.UID {
	e.t.Helper()
	res, err := e.store.Deliver(context.Background(), strings.NewReader(body), []store.Target{{Account: account}})
	if err != nil || res[0].Err != nil {
		e.t.Fatalf("deliver: %v %v", err, res)
	}
	return res[0].UID
}

// inbox returns the UIDs in account's INBOX.
func (e *testEnv) inbox(account string) []store.UID {
	e.t.Helper()
	boxes, err := e.store.Mailboxes(context.Background(), account)
	if err != nil {
		e.t.Fatal(err)
	}
	mb, err := boxes.Open(context.Background(), "INBOX")
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := mb.Messages(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var uids []store.UID
	for _, m := range msgs {
		uids = append(uids, m.UID)
	}
	return uids
}

// client dials with the independent client and logs in as account.
func (e *testEnv) client(account, password string) *pop3client.Client {
	e.t.Helper()
	c, err := pop3client.Dial(e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(account, password); err != nil {
		e.t.Fatalf("login %s: %v", account, err)
	}
	return c
}

// rawConn is a bare TCP connection for transcript tests.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (e *testEnv) dial() *rawConn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &rawConn{t: e.t, conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawConn) readLine() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, line)
	}
	if !strings.HasSuffix(line, "\r\n") {
		c.t.Fatalf("reply line %q does not end in CRLF", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// expectClosed checks the server closed the connection.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := c.r.ReadString('\n'); err == nil || line != "" {
		c.t.Fatalf("connection still open: read %q, %v", line, err)
	}
}

// transcript runs a script of lines "C: <line>" (sent with CRLF) and
// "S: <line>" (expected reply line). An expected line ending in "*" matches
// by prefix. "S: <closed>" expects the server to close the connection.
func (c *rawConn) transcript(script string) {
	c.t.Helper()
	for _, raw := range strings.Split(strings.TrimSpace(script), "\n") {
		line := strings.TrimLeft(raw, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "S:" { // an expected empty line (trailing space trimmed)
			line = "S: "
		}
		switch {
		case strings.HasPrefix(line, "C: "):
			c.send(strings.TrimPrefix(line, "C: ") + "\r\n")
		case line == "S: <closed>":
			c.expectClosed()
		case strings.HasPrefix(line, "S: "):
			want := strings.TrimPrefix(line, "S: ")
			got := c.readLine()
			if p, ok := strings.CutSuffix(want, "*"); ok {
				if !strings.HasPrefix(got, p) {
					c.t.Fatalf("transcript: got %q, want prefix %q", got, p)
				}
			} else if got != want {
				c.t.Fatalf("transcript: got %q, want %q", got, want)
			}
		default:
			c.t.Fatalf("bad transcript line %q", line)
		}
	}
}

// login runs USER/PASS on a raw connection after reading the greeting.
func (c *rawConn) login(user, pass string) {
	c.t.Helper()
	c.transcript(`
		S: +OK*
		C: USER ` + user + `
		S: +OK*
		C: PASS ` + pass + `
		S: +OK maildrop has*`)
}

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config trusting it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	c, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	return c.Server, &tls.Config{RootCAs: c.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

type netipAddr = netip.Addr

func authHash(pw string) (string, error) { return auth.HashPassword(pw, auth.TestParams) }

// login2Fail runs USER/PASS and expects the PASS reply want.
func (c *rawConn) login2Fail(user, pass, want string) {
	c.t.Helper()
	c.transcript(`
		S: +OK*
		C: USER ` + user + `
		S: +OK*
		C: PASS ` + pass + `
		S: ` + want)
}

// newTestStore opens the real SQLite driver in a temporary directory.
func newTestStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// uidValidity returns the UIDVALIDITY of account's INBOX.
func (e *testEnv) uidValidity(account string) uint32 {
	e.t.Helper()
	boxes, err := e.store.Mailboxes(context.Background(), account)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := boxes.Get(context.Background(), "INBOX")
	if err != nil {
		e.t.Fatal(err)
	}
	return info.UIDValidity
}

// waitSessionsEnded waits until the server has no open connection.
func (e *testEnv) waitSessionsEnded() {
	e.t.Helper()
	waitFor(e.t, "sessions to end", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return len(e.srv.conns) == 0
	})
}
