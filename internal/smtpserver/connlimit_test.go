package smtpserver

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// TestMaxConnsPerIP: in every mode, the connection over the per-address
// bound gets 421 4.7.0 instead of the greeting and is closed; QUIT frees
// the slot.
func TestMaxConnsPerIP(t *testing.T) {
	for _, mode := range []Mode{ModeSMTP, ModeSubmission, ModeLMTP} {
		t.Run(mode.String(), func(t *testing.T) {
			ts := startServer(t, Options{Mode: mode, MaxConnsPerIP: 2})
			first := dial(t, ts.addr)
			first.run(`S: 220`)
			second := dial(t, ts.addr)
			second.run(`S: 220`)
			third := dial(t, ts.addr)
			third.run(`S: 421 4.7.0 Too many connections from your address`)
			third.expectClosed()
			first.run(`
				C: QUIT
				S: 221`)
			first.expectClosed()
			waitAdmitted(t, ts.addr)
		})
	}
}

// TestMaxConnsTotal: the bound over all addresses answers 421 too.
func TestMaxConnsTotal(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, MaxConns: 1, MaxConnsPerIP: 10})
	first := dial(t, ts.addr)
	first.run(`S: 220`)
	second := dial(t, ts.addr)
	second.run(`S: 421 4.7.0 Too many connections`)
	second.expectClosed()
}

// TestMaxConnsSlotFreedAfterSTARTTLS: a session that switched to TLS gives
// its slot back when it ends (the count sits under the TLS layer).
func TestMaxConnsSlotFreedAfterSTARTTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := startServer(t, Options{Mode: ModeSMTP, TLS: srvTLS, MaxConnsPerIP: 1})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO client.test
		S: 250
		C: STARTTLS
		S: 220`)
	c.startTLS(cliTLS)
	c.run(`
		C: EHLO client.test
		S: 250`)
	over := dial(t, ts.addr)
	over.run(`S: 421 4.7.0 Too many connections from your address`)
	c.run(`
		C: QUIT
		S: 221`)
	c.expectClosed()
	waitAdmitted(t, ts.addr)
}

// TestMaxConnsImplicitTLS: on port 465 the refusal is sent inside TLS.
func TestMaxConnsImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ms := newSpyStore(t, 0)
	srv := New(Options{Mode: ModeSubmission, Store: ms, TLS: srvTLS, Hostname: testHostname, LookupAddr: noRDNS, MaxConnsPerIP: 1})
	ts := serveOn(t, srv, ms, srvTLS, func(l net.Listener) net.Listener { return tls.NewListener(l, srvTLS) })
	tlsDial := func() *client {
		conn, err := tls.Dial("tcp", ts.addr, cliTLS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return newClient(t, conn)
	}
	first := tlsDial()
	first.run(`S: 220`)
	second := tlsDial()
	second.run(`S: 421 4.7.0 Too many connections from your address`)
	second.expectClosed()
}

// waitAdmitted dials until a connection gets the greeting: the slot of a
// connection that just ended is given back when the server closes it.
func waitAdmitted(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dial(t, addr)
		got := c.reply()
		last := got[len(got)-1]
		if strings.HasPrefix(last, "220") {
			c.run(`
				C: QUIT
				S: 221`)
			return
		}
		if !strings.HasPrefix(last, "421 4.7.0") || time.Now().After(deadline) {
			t.Fatalf("after a slot was freed: %q", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
