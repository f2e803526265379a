package pop3server

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
)

// TestMaxConnsPerIP: the connection over the per-address bound gets a
// [SYS/TEMP] -ERR instead of the greeting and is closed; closing one frees
// its slot; a log line names the refusal.
func TestMaxConnsPerIP(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxConnsPerIP = 2 })
	// Logged in: never closed for a newcomer.
	first := e.dial()
	loggedIn(first, alice, alicePass)
	second := e.dial()
	loggedIn(second, bob, bobPass)
	third := e.dial()
	third.transcript(`
		S: -ERR [SYS/TEMP] too many connections from your address
		S: <closed>`)
	if !strings.Contains(e.logBuf.String(), "too many connections from this address") {
		t.Errorf("no log line for the refusal:\n%s", e.logBuf.String())
	}
	// The refused connection held no slot and the second still works.
	second.transcript(`
		C: STAT
		S: +OK*`)
	first.transcript(`
		C: QUIT
		S: +OK*
		S: <closed>`)
	var again *rawConn
	waitFor(t, "a free slot after QUIT", func() bool {
		again = e.dial()
		return strings.HasPrefix(again.readLine(), "+OK")
	})
	again.transcript(`
		C: USER ` + alice + `
		S: +OK*
		C: PASS ` + alicePass + `
		S: +OK maildrop has*`)
}

// TestNewConnectionEvictsOldestUnauthenticated: at the per-address bound a
// new connection takes the place of the oldest one from that address that
// has not logged in, instead of being refused (as Dovecot does).
func TestNewConnectionEvictsOldestUnauthenticated(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxConnsPerIP = 2 })
	idle := e.dial()
	idle.transcript(`S: +OK*`)
	user := e.dial()
	loggedIn(user, alice, alicePass)
	newcomer := e.dial()
	loggedIn(newcomer, bob, bobPass)
	idle.transcript(`S: <closed>`)
	user.transcript(`
		C: STAT
		S: +OK*`)
}

// TestMaxConnsTotal: the bound on all connections answers without
// "from your address".
func TestMaxConnsTotal(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxConns = 1; o.MaxConnsPerIP = 10 })
	first := e.dial()
	loggedIn(first, alice, alicePass)
	second := e.dial()
	second.transcript(`
		S: -ERR [SYS/TEMP] too many connections
		S: <closed>`)
}

// TestMaxConnsPerIPOverPOP3S: the refusal is sent inside TLS on an
// implicit-TLS listener, and POP3 and POP3S count together.
func TestMaxConnsPerIPOverPOP3S(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	e := newEnv(t, func(o *Options) { o.MaxConnsPerIP = 1; o.TLS = srvTLS })
	plain := e.dial()
	loggedIn(plain, alice, alicePass)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(tls.NewListener(l, srvTLS)) }()
	t.Cleanup(func() {
		e.srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve(pop3s) = %v", err)
		}
	})
	tc, err := tls.Dial("tcp", l.Addr().String(), cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	c := &rawConn{t: t, conn: tc, r: bufioReader(tc)}
	c.transcript(`
		S: -ERR [SYS/TEMP] too many connections from your address
		S: <closed>`)
}

// loggedIn reads c's greeting and logs it in as user.
func loggedIn(c *rawConn, user, pass string) {
	c.transcript(`
		S: +OK*
		C: USER ` + user + `
		S: +OK*
		C: PASS ` + pass + `
		S: +OK maildrop has*`)
}
