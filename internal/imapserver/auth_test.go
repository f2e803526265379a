package imapserver_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
)

func plainB64(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestLogin(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	c.run(`
C: a1 LOGIN "` + testUser + `" wrong
S: a1 NO [AUTHENTICATIONFAILED] Invalid credentials
C: a2 SELECT INBOX
S: a2 BAD Command not valid in this state
C: a3 LOGIN "` + testUser + `" "` + testPass + `"
S~ a3 OK \[CAPABILITY IMAP4rev1 .*\] LOGIN completed
C: a4 LOGIN "` + testUser + `" "` + testPass + `"
S: a4 BAD Command not valid in this state
C: a5 NOOP
S: a5 OK NOOP completed
C: a6 FROB
S~ a6 BAD .*
C: a7 LOGOUT
S: * BYE letterbox logging out
S: a7 OK LOGOUT completed
`)
}

func TestAuthenticatePlain(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	c.run(`
C: a1 AUTHENTICATE PLAIN ` + plainB64(testUser, "nope") + `
S: a1 NO [AUTHENTICATIONFAILED] Invalid credentials
C: a2 AUTHENTICATE CRAM-MD5
S: a2 NO [CANNOT] Unsupported authentication mechanism
C: a3 AUTHENTICATE PLAIN
S: + 
C: *
S: a3 BAD Authentication cancelled
C: a4 AUTHENTICATE PLAIN
S: + 
C: ` + plainB64(testUser, testPass) + `
S~ a4 OK \[CAPABILITY .*\] AUTHENTICATE completed
`)
	// SASL-IR (RFC 4959): the initial response on the command line.
	c2 := h.dial()
	c2.run(`
C: b1 AUTHENTICATE PLAIN ` + plainB64(testUser, testPass) + `
S~ b1 OK \[CAPABILITY .*\] AUTHENTICATE completed
`)
}

func TestLoginDisabled(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.AllowPlaintextAuth = func(remote netip.Addr, tlsActive bool) bool { return tlsActive }
	})
	c := h.dial()
	c.send("a1 CAPABILITY")
	caps := c.expect(`~\* CAPABILITY .*`)
	if !strings.Contains(caps, " LOGINDISABLED") || strings.Contains(caps, "AUTH=PLAIN") || !strings.Contains(caps, " STARTTLS") {
		t.Fatalf("capabilities before STARTTLS: %s", caps)
	}
	c.run(`
S: a1 OK CAPABILITY completed
C: a2 LOGIN "` + testUser + `" "` + testPass + `"
S: a2 NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS
C: a3 AUTHENTICATE PLAIN ` + plainB64(testUser, testPass) + `
S: a3 NO [PRIVACYREQUIRED] Plaintext authentication is disabled before STARTTLS
`)
}

func TestStartTLS(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.AllowPlaintextAuth = func(remote netip.Addr, tlsActive bool) bool { return tlsActive }
	})
	c := h.dial()
	// A command pipelined after STARTTLS must be discarded (RFC 3501 §6.2.1).
	c.send("s1 STARTTLS\r\ns2 LOGIN \"" + testUser + "\" \"" + testPass + "\"")
	c.expect("s1 OK Begin TLS negotiation now")
	tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc = tc
	c.br = bufio.NewReader(tc)
	c.send("a1 CAPABILITY")
	caps := c.expect(`~\* CAPABILITY .*`)
	if strings.Contains(caps, "LOGINDISABLED") || strings.Contains(caps, "STARTTLS") || !strings.Contains(caps, "AUTH=PLAIN") {
		t.Fatalf("capabilities after STARTTLS: %s", caps)
	}
	c.run(`
S: a1 OK CAPABILITY completed
C: a2 STARTTLS
S: a2 BAD TLS already active
C: a3 LOGIN "` + testUser + `" "` + testPass + `"
S~ a3 OK .*LOGIN completed
`)
}

func TestIDAndNamespace(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	c.run(`
C: a1 ID ("name" "test")
S: * ID ("name" "letterbox" "vendor" "letterbox")
S: a1 OK ID completed
C: a2 ID NIL
S: * ID ("name" "letterbox" "vendor" "letterbox")
S: a2 OK ID completed
C: a3 NAMESPACE
S: a3 BAD Command not valid in this state
C: a4 LOGIN "` + testUser + `" "` + testPass + `"
S~ a4 OK .*
C: a5 NAMESPACE
S: * NAMESPACE (("" "/")) (("shared/" "/")) NIL
S: a5 OK NAMESPACE completed
`)
}

func TestConnectionLimits(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Limits.MaxConnsPerIP = 2
		o.Limits.MaxConnsPerUser = 1
	})
	c1 := h.login()
	c2 := h.dial()
	c2.run(`
C: b1 LOGIN "` + testUser + `" "` + testPass + `"
S: b1 NO [LIMIT] Too many sessions for this account
`)
	// c2 never logged in: a third connection takes its place.
	c3, err := netDial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	line, _ := bufio.NewReader(c3).ReadString('\n')
	if !strings.HasPrefix(line, "* OK ") {
		t.Fatalf("third connection got %q", line)
	}
	c1.run(`
C: a1 LOGOUT
S: * BYE letterbox logging out
S: a1 OK LOGOUT completed
`)
}

func TestLoginThrottled(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Auth = auth.New(o.Store, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond, MaxFailuresPerIP: 2})
	})
	c := h.dial()
	c.run(`
C: a1 LOGIN "` + testUser + `" bad1
S: a1 NO [AUTHENTICATIONFAILED] Invalid credentials
C: a2 LOGIN "` + testUser + `" bad2
S: a2 NO [AUTHENTICATIONFAILED] Invalid credentials
C: a3 LOGIN "` + testUser + `" "` + testPass + `"
S: a3 NO [UNAVAILABLE] Too many failed logins, try again later
`)
}
