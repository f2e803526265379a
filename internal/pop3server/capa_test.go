package pop3server

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/pop3client"
)

// capabilityTests names, for every capability CAPA may announce, the test
// that exercises it. TestCapaEveryCapabilityTested fails on any announced
// capability missing here, so nothing is advertised untested.
var capabilityTests = map[string]func(*testing.T){
	"TOP":                      TestTop,
	"UIDL":                     TestUidl,
	"USER":                     TestUserPass,
	"SASL PLAIN":               TestAuthPlainInitialResponse,
	"RESP-CODES":               TestLockInUse,
	"AUTH-RESP-CODE":           TestUserPass,
	"PIPELINING":               TestPipelining,
	"EXPIRE NEVER":             TestExpireNever,
	"LOGIN-DELAY 0":            TestLoginDelayZero,
	"IMPLEMENTATION letterbox": TestCapaImplementation,
	"STLS":                     TestSTLS,
	"UTF8":                     TestUTF8,
}

// TestCapaEveryCapabilityTested reads CAPA in every situation that changes
// it (plain with STLS available, after STLS, in TRANSACTION, POP3S,
// plaintext refused) and fails on any capability without a test.
func TestCapaEveryCapabilityTested(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	e := envWithMail(t, func(o *Options) { o.TLS = srvTLS })
	seen := map[string]bool{}
	check := func(where string, c *pop3client.Client) []string {
		t.Helper()
		caps, err := c.Capa()
		if err != nil {
			t.Fatalf("%s: CAPA: %v", where, err)
		}
		for _, cp := range caps {
			seen[cp] = true
			if _, ok := capabilityTests[cp]; !ok {
				t.Errorf("%s: CAPA announces %q, which has no test in capabilityTests", where, cp)
			}
		}
		return caps
	}

	c, err := pop3client.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := check("plain, before STLS", c)
	if !pop3client.HasCapability(before, "STLS") {
		t.Error("STLS not announced on a plain connection with TLS configured")
	}
	if err := c.STLS(cliTLS); err != nil {
		t.Fatal(err)
	}
	after := check("after STLS", c)
	if pop3client.HasCapability(after, "STLS") {
		t.Error("STLS still announced with TLS active")
	}
	if err := c.Login(alice, alicePass); err != nil {
		t.Fatal(err)
	}
	check("TRANSACTION", c)

	refused := envWithMail(t, func(o *Options) {
		o.AllowPlaintextAuth = func(addr netipAddr, tlsActive bool) bool { return tlsActive }
	})
	rc, err := pop3client.Dial(refused.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	caps := check("plaintext refused", rc)
	for _, forbidden := range []string{"USER", "SASL"} {
		if pop3client.HasCapability(caps, forbidden) {
			t.Errorf("%s announced where plaintext auth is refused", forbidden)
		}
	}
	for name := range capabilityTests {
		if !seen[name] {
			t.Errorf("capabilityTests lists %q, which CAPA never announced", name)
		}
	}
}

func TestCapaImplementation(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: CAPA
		S: +OK capability list follows
		S: TOP
		S: UIDL
		S: USER
		S: SASL PLAIN
		S: RESP-CODES
		S: AUTH-RESP-CODE
		S: PIPELINING
		S: EXPIRE NEVER
		S: LOGIN-DELAY 0
		S: IMPLEMENTATION letterbox
		S: UTF8
		S: .
		C: CAPA x
		S: -ERR CAPA takes no arguments`)
}

// TestExpireNever: messages retrieved but not deleted stay on the server
// (EXPIRE NEVER, RFC 2449 §6.7).
func TestExpireNever(t *testing.T) {
	e := envWithMail(t)
	for range 2 {
		c := e.client(alice, alicePass)
		for i := 1; i <= 3; i++ {
			r, err := c.Retr(i)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, r)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.inbox(alice); len(got) != 3 {
		t.Fatalf("inbox after retrieving without DELE = %v", got)
	}
}

// TestLoginDelayZero: a new login right after QUIT is accepted
// (LOGIN-DELAY 0, RFC 2449 §6.5).
func TestLoginDelayZero(t *testing.T) {
	e := envWithMail(t)
	for i := range 3 {
		c := e.client(alice, alicePass)
		if err := c.Quit(); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
}

// TestPipelining sends a batch of commands in one write (RFC 2449 §6.6) and
// checks every reply arrives in order.
func TestPipelining(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.send("USER " + alice + "\r\nPASS " + alicePass + "\r\nSTAT\r\nLIST 1\r\nTOP 2 0\r\nDELE 2\r\nUIDL 2\r\nNOOP\r\nRSET\r\nQUIT\r\n")
	c.transcript(`
		S: +OK*
		S: +OK send PASS
		S: +OK maildrop has 3 messages*
		S: +OK 3*
		S: +OK 1*
		S: +OK*
		S: Subject: two
		S: 
		S: .
		S: +OK message 2 deleted
		S: -ERR message 2 already deleted
		S: +OK
		S: +OK maildrop has 3 messages*
		S: +OK*
		S: <closed>`)
}

func TestOverlongLine(t *testing.T) {
	e := envWithMail(t, func(o *Options) { o.MaxLineLength = 100 })
	c := e.dial()
	c.transcript(`S: +OK*`)
	c.send("NOOP " + strings.Repeat("x", 5000) + "\r\n")
	c.transcript(`
		S: -ERR command line too long
		C: USER alice@example.com
		S: +OK*`)
	c.send("PASS " + strings.Repeat("y", 96) + "\r\n") // 103 octets with CRLF
	c.transcript(`
		S: -ERR command line too long
		C: PASS alice secret
		S: +OK maildrop*`)
	if !strings.Contains(e.logBuf.String(), "command line too long") {
		t.Error("no log line for the long line")
	}
}

func TestDefaultLineLimitAcceptsLongPasswords(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER ` + strings.Repeat("u", 900) + `
		S: +OK*`)
	c.send(strings.Repeat("N", 1100) + "\r\n")
	c.transcript(`S: -ERR command line too long`)
}

// TestSTLS upgrades a plain connection where plaintext auth needs TLS;
// pipelined input after STLS is discarded (RFC 2595 §4).
func TestSTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	e := envWithMail(t, func(o *Options) {
		o.TLS = srvTLS
		o.AllowPlaintextAuth = func(addr netipAddr, tlsActive bool) bool { return tlsActive }
	})
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER alice@example.com
		S: -ERR [AUTH]*
		C: STLS x
		S: -ERR STLS takes no arguments`)
	// "USER" pipelined behind STLS must not survive into the TLS session.
	c.send("STLS\r\nUSER " + alice + "\r\n")
	c.transcript(`S: +OK begin TLS negotiation`)
	tc := tls.Client(c.conn, cliTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufioReader(tc)
	c.transcript(`
		C: PASS alice secret
		S: -ERR send USER first
		C: STLS
		S: -ERR TLS already active
		C: USER alice@example.com
		S: +OK*
		C: PASS alice secret
		S: +OK maildrop has 3*`)
	// The independent client does the same.
	cl, err := pop3client.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.STLS(cliTLS); err != nil {
		t.Fatal(err)
	}
	if err := cl.Login(bob, bobPass); err != nil {
		t.Fatal(err)
	}
}

func TestSTLSNotConfigured(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: STLS
		S: -ERR STLS not available`)
}

func TestSTLSHandshakeFailureClosesConnection(t *testing.T) {
	srvTLS, _ := testTLS(t)
	e := newEnv(t, func(o *Options) { o.TLS = srvTLS })
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: STLS
		S: +OK begin TLS negotiation
		C: this is not a TLS ClientHello`)
	c.expectClosed()
}

// TestPOP3S: a TLS listener (implicit TLS) works; STLS is not offered.
func TestPOP3S(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	e := envWithMail(t, func(o *Options) {
		o.AllowPlaintextAuth = func(addr netipAddr, tlsActive bool) bool { return tlsActive }
	})
	l, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(l)
	c, err := pop3client.DialTLS(l.Addr().String(), cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps, err := c.Capa()
	if err != nil {
		t.Fatal(err)
	}
	if pop3client.HasCapability(caps, "STLS") || !pop3client.HasCapability(caps, "USER") {
		t.Errorf("POP3S CAPA = %v", caps)
	}
	if err := c.Login(alice, alicePass); err != nil {
		t.Fatal(err)
	}
	if n, _, err := c.Stat(); err != nil || n != 3 {
		t.Fatalf("STAT over POP3S: %d %v", n, err)
	}
	// A client speaking plain POP3 to the TLS port fails the handshake and
	// is dropped, never served.
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write([]byte("USER alice\r\n"))
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, _ := raw.Read(buf)
	if strings.Contains(string(buf[:n]), "+OK") {
		t.Fatalf("plain client on POP3S got %q", buf[:n])
	}
}

// TestUTF8: RFC 6856 UTF8 command; UTF-8 user names and passwords work.
func TestUTF8(t *testing.T) {
	e := newEnv(t)
	const user, pass = "jörg@exämple.com", "pässwörd ü"
	hash, err := authHash(pass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateAccount(t.Context(), user, hash); err != nil {
		t.Fatal(err)
	}
	e.deliver(user, "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nX-Raw: Grüße\r\n\r\nbody\r\n")
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: UTF8 now
		S: -ERR UTF8 takes no arguments
		C: UTF8
		S: +OK UTF8 enabled
		C: USER ` + user + `
		S: +OK*
		C: PASS ` + pass + `
		S: +OK maildrop has 1 messages*
		C: TOP 1 0
		S: +OK*
		S: Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=
		S: X-Raw: Grüße
		S: 
		S: .
		C: UTF8
		S: -ERR command not valid in this state`)
}
