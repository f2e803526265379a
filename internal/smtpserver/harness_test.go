package smtpserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// Test fixtures: accounts in example.com, whose password is testPassword.
const (
	testPassword = "correct horse battery staple"
	testHostname = "mx.example.test"
)

var testAccounts = []string{"alice@example.com", "bob@example.com", "carol@example.com"}

// testServer is a running Server on 127.0.0.1 with its store.
type testServer struct {
	srv   *Server
	addr  string
	store *spyStore
	tls   *tls.Config // server side, nil when TLS is off
}

// startServer runs a Server with opts on a loopback port. Store, Hostname,
// LookupAddr and Now get test values unless set.
func startServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	ms, _ := opts.Store.(*spyStore)
	if opts.Store == nil {
		ms = newSpyStore(t, 0)
		opts.Store = ms
	}
	if opts.Hostname == "" {
		opts.Hostname = testHostname
	}
	if opts.LookupAddr == nil {
		opts.LookupAddr = func(context.Context, string) ([]string, error) {
			return []string{"client.rdns.test."}, nil
		}
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	}
	srv := New(opts)
	return serveOn(t, srv, ms, opts.TLS, nil)
}

// serveOn serves srv on a fresh loopback listener (wrapped by wrap if set).
func serveOn(t *testing.T, srv *Server, ms *spyStore, cfg *tls.Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if wrap != nil {
		l = wrap(l)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(l); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
	return &testServer{srv: srv, addr: addr, store: ms, tls: cfg}
}

// testAuth returns an auth.Service over st with cheap hashing and a short
// failure delay.
func testAuth(st store.Store, opts auth.Options) *auth.Service {
	opts.Params = auth.TestParams
	if opts.FailureDelay == 0 {
		opts.FailureDelay = time.Millisecond
	}
	return auth.New(st, opts)
}

// testTLS returns a server config with a fresh self-signed certificate
// (testcert: 127.0.0.1, localhost, mail.test) and a client config that
// trusts it and verifies the name 127.0.0.1, the address tests dial.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	c, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	return c.Server, &tls.Config{RootCAs: c.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// client is a raw protocol client for transcript tests.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return newClient(t, conn)
}

func newClient(t *testing.T, conn net.Conn) *client {
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// startTLS upgrades the connection after a 220 reply to STARTTLS.
func (c *client) startTLS(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

// send writes raw bytes.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one complete (possibly multi-line) reply and returns its
// lines.
func (c *client) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading reply (got %q so far): %v", lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// run plays a C:/S: script. "C: text" sends text + CRLF. "S: prefix" reads
// one reply whose last line must start with prefix. Blank lines and lines
// starting with '#' are ignored. It returns the replies read.
func (c *client) run(script string) [][]string {
	c.t.Helper()
	var replies [][]string
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "C:":
			c.send("\r\n")
		case strings.HasPrefix(line, "C: "):
			c.send(line[3:] + "\r\n")
		case strings.HasPrefix(line, "S: "):
			want := line[3:]
			got := c.reply()
			replies = append(replies, got)
			if last := got[len(got)-1]; !strings.HasPrefix(last, want) {
				c.t.Fatalf("after script line %q: got reply %q", line, strings.Join(got, " | "))
			}
		default:
			c.t.Fatalf("bad script line %q", line)
		}
	}
	return replies
}

// expectClosed asserts the server has nothing more to say and closes.
func (c *client) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := c.r.ReadString('\n')
	if err == nil || rest != "" {
		c.t.Fatalf("expected connection close, got %q (err %v)", rest, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open")
	}
}

// onlyMessage returns the single message stored for account.
func (ts *testServer) onlyMessage(t *testing.T, account string) []byte {
	t.Helper()
	msgs := ts.store.messages(t, account)
	if len(msgs) != 1 {
		t.Fatalf("%s has %d messages, want 1", account, len(msgs))
	}
	return msgs[0]
}

// splitTrace cuts the Return-Path and Received fields we prepend off a
// stored message and returns them and the rest.
func splitTrace(t *testing.T, msg []byte) (trace, rest string) {
	t.Helper()
	s := string(msg)
	if !strings.HasPrefix(s, "Return-Path: <") {
		t.Fatalf("stored message does not start with Return-Path: %q", s)
	}
	i := strings.Index(s, "\r\nReceived: ")
	if i < 0 {
		t.Fatalf("no Received header: %q", s)
	}
	// The Received field ends at the first line that is not a continuation.
	j := i + 2
	for {
		k := strings.Index(s[j:], "\r\n")
		if k < 0 {
			t.Fatalf("unterminated trace: %q", s)
		}
		j += k + 2
		if j >= len(s) || (s[j] != ' ' && s[j] != '\t') {
			break
		}
	}
	return s[:j], s[j:]
}

// fakeAuth accepts nobody; for tests that only look at whether AUTH is
// offered.
type fakeAuth struct{}

func (fakeAuth) Authenticate(context.Context, auth.Attempt) (store.Account, error) {
	return store.Account{}, auth.ErrInvalidCredentials
}

// noRDNS is a LookupAddr that finds no names.
func noRDNS(context.Context, string) ([]string, error) { return nil, errors.New("no PTR") }
