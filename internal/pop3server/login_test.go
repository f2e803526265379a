package pop3server

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/pop3client"
	"github.com/letterbox/letterbox/internal/store"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestUserPass(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER
		S: -ERR USER needs a name
		C: USER alice@example.com
		S: +OK send PASS
		C: PASS wrong
		S: -ERR [AUTH] invalid user name or password
		C: PASS alice secret
		S: -ERR send USER first
		C: USER nobody@example.com
		S: +OK send PASS
		C: PASS alice secret
		S: -ERR [AUTH] invalid user name or password
		C: user ALICE@example.com
		S: +OK send PASS
		C: pass alice secret
		S: +OK maildrop has 3 messages*
		C: STAT
		S: +OK 3*`)
}

func TestAuthPlainInitialResponse(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: AUTH PLAIN ` + b64("\x00"+alice+"\x00wrong") + `
		S: -ERR [AUTH] invalid user name or password
		C: AUTH PLAIN ` + b64(bob+"\x00"+alice+"\x00"+alicePass) + `
		S: -ERR [AUTH] authorization identity not allowed
		C: AUTH PLAIN ` + b64("no nuls") + `
		S: -ERR [AUTH] malformed PLAIN response
		C: AUTH PLAIN !!!notbase64
		S: -ERR invalid base64 in authentication response
		C: AUTH PLAIN =
		S: -ERR [AUTH] malformed PLAIN response
		C: AUTH PLAIN a b
		S: -ERR too many arguments
		C: AUTH CRAM-MD5
		S: -ERR unsupported authentication mechanism
		C: AUTH
		S: +OK*
		S: PLAIN
		S: .
		C: AUTH plain ` + b64(alice+"\x00"+alice+"\x00"+alicePass) + `
		S: +OK maildrop has 3 messages*`)
}

func TestAuthPlainContinuation(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: AUTH PLAIN
		S: + 
		C: *
		S: -ERR authentication cancelled
		C: AUTH PLAIN
		S: + 
		C: %%%
		S: -ERR invalid base64 in authentication response
		C: AUTH PLAIN
		S: + 
		C: ` + b64("\x00"+alice+"\x00"+alicePass) + `
		S: +OK maildrop has 3 messages*`)
	// And with the independent client.
	cl, err := pop3client.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.AuthPlainContinue(bob, bobPass); err != nil {
		t.Fatal(err)
	}
	if err := cl.Quit(); err != nil {
		t.Fatal(err)
	}
}

// TestAuthPlainWithClient uses pop3client's AuthPlain (initial response).
func TestAuthPlainWithClient(t *testing.T) {
	e := envWithMail(t)
	cl, err := pop3client.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.AuthPlain(alice, "bad"); pop3client.Code(err) != "AUTH" {
		t.Fatalf("bad password: %v, want [AUTH]", err)
	}
	if err := cl.AuthPlain(alice, alicePass); err != nil {
		t.Fatal(err)
	}
	if n, _, err := cl.Stat(); err != nil || n != 3 {
		t.Fatalf("STAT: %d %v", n, err)
	}
}

// TestPlaintextRefusedWithoutTLS simulates a non-loopback client: with
// AllowPlaintextAuth saying "TLS only", USER/PASS/AUTH are refused with
// [AUTH] and CAPA does not offer them.
func TestPlaintextRefusedWithoutTLS(t *testing.T) {
	e := envWithMail(t, func(o *Options) {
		o.AllowPlaintextAuth = func(remote netip.Addr, tlsActive bool) bool { return tlsActive }
	})
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER alice@example.com
		S: -ERR [AUTH] plaintext authentication not allowed without TLS; use STLS
		C: PASS x
		S: -ERR [AUTH] plaintext authentication not allowed without TLS; use STLS
		C: AUTH PLAIN ` + b64("\x00"+alice+"\x00"+alicePass) + `
		S: -ERR [AUTH] plaintext authentication not allowed without TLS; use STLS
		C: AUTH
		S: +OK*
		S: .
		C: CAPA
		S: +OK*
		S: TOP
		S: UIDL
		S: RESP-CODES*`)
}

func TestPlaintextDefaultPolicy(t *testing.T) {
	var o Options
	lo := netip.MustParseAddr("127.0.0.1")
	remote := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		addr netip.Addr
		tls  bool
		want bool
	}{
		{lo, false, true},
		{netip.MustParseAddr("::1"), false, true},
		{remote, false, false},
		{remote, true, true},
	} {
		if got := o.plaintextAllowed(tc.addr, tc.tls); got != tc.want {
			t.Errorf("plaintextAllowed(%v, tls=%v) = %v, want %v", tc.addr, tc.tls, got, tc.want)
		}
	}
}

// TestLockInUse: a second login to a held maildrop gets [IN-USE]; after
// the first session ends the second can log in.
func TestLockInUse(t *testing.T) {
	e := envWithMail(t)
	first := e.client(alice, alicePass)
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER alice@example.com
		S: +OK*
		C: PASS alice secret
		S: -ERR [IN-USE] maildrop already locked by another session
		C: STAT
		S: -ERR command not valid in this state`)
	// Another account is not affected.
	e.client(bob, bobPass)
	// With the client: the code is visible.
	second, err := pop3client.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.AuthPlain(alice, alicePass); pop3client.Code(err) != "IN-USE" {
		t.Fatalf("second login: %v, want [IN-USE]", err)
	}
	if err := first.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := second.AuthPlain(alice, alicePass); err != nil {
		t.Fatalf("login after the first session quit: %v", err)
	}
}

func TestLocker(t *testing.T) {
	l := NewLocker()
	unlock, ok := l.TryLock("A@x")
	if !ok {
		t.Fatal("first lock refused")
	}
	if _, ok := l.TryLock("a@X"); ok {
		t.Fatal("second lock granted (names are case-insensitive)")
	}
	u2, ok := l.TryLock("b@x")
	if !ok {
		t.Fatal("other account refused")
	}
	u2()
	unlock()
	unlock() // idempotent
	if u, ok := l.TryLock("a@x"); !ok {
		t.Fatal("lock not released")
	} else {
		u()
	}
}

// fakeAuth answers with a fixed error, for the error paths auth.Service
// does not produce on demand.
type fakeAuth struct{ err error }

func (f fakeAuth) Authenticate(context.Context, auth.Attempt) (store.Account, error) {
	return store.Account{}, f.err
}

func TestLoginThrottledAnswersSysTemp(t *testing.T) {
	e := envWithMail(t, func(o *Options) { o.Auth = fakeAuth{auth.ErrThrottled} })
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER alice@example.com
		S: +OK*
		C: PASS alice secret
		S: -ERR [SYS/TEMP] too many failed logins, try again later`)
	if !strings.Contains(e.logBuf.String(), "login throttled") {
		t.Error("no log line for the throttled login")
	}
}

func TestLoginAuthenticatorFailure(t *testing.T) {
	e := envWithMail(t, func(o *Options) { o.Auth = fakeAuth{errors.New("db down")} })
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: AUTH PLAIN ` + b64("\x00"+alice+"\x00"+alicePass) + `
		S: -ERR [SYS/TEMP] authentication temporarily unavailable`)
}

// TestThrottlingSparesOtherAddresses: an attacker at 127.0.0.2 gets
// throttled by the real auth.Service while the real user at 127.0.0.3 logs
// in within 2 s.
func TestThrottlingSparesOtherAddresses(t *testing.T) {
	e := envWithMail(t, func(o *Options) {
		o.Auth = auth.New(o.Store, auth.Options{Params: auth.TestParams, FailureDelay: 10 * time.Millisecond, MaxFailuresPerIP: 3})
	})
	dialFrom := func(ip string) *rawConn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		conn, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Skipf("cannot dial from %s: %v", ip, err)
		}
		t.Cleanup(func() { conn.Close() })
		return &rawConn{t: t, conn: conn, r: bufioReader(conn)}
	}
	attacker := dialFrom("127.0.0.2")
	attacker.transcript(`S: +OK*`)
	throttled := false
	for i := 0; i < 10 && !throttled; i++ {
		attacker.send("USER " + alice + "\r\nPASS guess\r\n")
		attacker.readLine()
		line := attacker.readLine()
		switch {
		case strings.HasPrefix(line, "-ERR [SYS/TEMP]"):
			throttled = true
		case !strings.HasPrefix(line, "-ERR [AUTH]"):
			t.Fatalf("attacker got %q", line)
		}
	}
	if !throttled {
		t.Fatal("attacker never throttled")
	}
	start := time.Now()
	user := dialFrom("127.0.0.3")
	user.login(alice, alicePass)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("real user took %v to log in", d)
	}
}
