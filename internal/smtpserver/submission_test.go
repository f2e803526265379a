package smtpserver

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/smtp"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/auth"
)

// submissionServer runs ModeSubmission with STARTTLS and real auth.Service.
func submissionServer(t *testing.T, aopts auth.Options) (*testServer, *tls.Config) {
	t.Helper()
	srvTLS, cliTLS := testTLS(t)
	ms := newSpyStore(t, 0)
	return startServer(t, Options{Mode: ModeSubmission, Store: ms, TLS: srvTLS, Auth: testAuth(ms, aopts)}), cliTLS
}

func plainIR(authzid, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authzid + "\x00" + user + "\x00" + pass))
}

// Port 587 (RFC 6409, RFC 3207, RFC 4954): before STARTTLS there is no AUTH
// and no MAIL; after it, AUTH PLAIN, the own sender only, local delivery,
// and a clear refusal for remote recipients.
func TestSubmissionSTARTTLSThenAuth(t *testing.T) {
	ts, cliTLS := submissionServer(t, auth.Options{})
	c := dial(t, ts.addr)
	replies := c.run(`
		S: 220
		C: EHLO laptop.example
		S: 250
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", testPassword) + `
		S: 523 5.7.10
		C: MAIL FROM:<alice@example.com>
		S: 530 5.7.0
		C: STARTTLS
		S: 220
	`)
	if ehlo := strings.Join(replies[1], "\n"); strings.Contains(ehlo, "AUTH") || !strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO before TLS: %s", ehlo)
	}
	c.startTLS(cliTLS)
	replies = c.run(`
		C: EHLO laptop.example
		S: 250
		C: MAIL FROM:<alice@example.com>
		S: 530 5.7.0
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", "wrong") + `
		S: 535 5.7.8
		C: AUTH PLAIN ` + plainIR("bob@example.com", "alice@example.com", testPassword) + `
		S: 535 5.7.8
		C: AUTH PLAIN ` + plainIR("", "Alice@Example.com", testPassword) + `
		S: 235 2.0.0
		C: MAIL FROM:<bob@example.com>
		S: 553 5.7.1
		C: MAIL FROM:<>
		S: 553 5.7.1
		C: MAIL FROM:<ALICE@example.com>
		S: 250
		C: RCPT TO:<friend@remote.example>
		S: 550 5.7.1 Remote delivery is not configured
		C: RCPT TO:<nobody@example.com>
		S: 550 5.1.1
		C: RCPT TO:<bob@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: from alice
		C:
		C: hi bob
		C: .
		S: 250 2.0.0
		C: QUIT
		S: 221
	`)
	if ehlo := strings.Join(replies[0], "\n"); !strings.Contains(ehlo, "AUTH PLAIN LOGIN") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO after TLS: %s", ehlo)
	}
	trace, rest := splitTrace(t, ts.onlyMessage(t, "bob@example.com"))
	if rest != "Subject: from alice\r\n\r\nhi bob\r\n" {
		t.Errorf("stored %q", rest)
	}
	if !strings.Contains(trace, " with ESMTPSA id ") || !strings.Contains(trace, "(using TLS 1.3 with cipher ") {
		t.Errorf("trace %q", trace)
	}
}

// AUTH LOGIN, with and without the user name as initial response, and
// SASL cancellation.
func TestSubmissionAuthLogin(t *testing.T) {
	ts, cliTLS := submissionServer(t, auth.Options{})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO l.example\nS: 250\nC: STARTTLS\nS: 220")
	c.startTLS(cliTLS)
	c.run(`
		C: EHLO l.example
		S: 250
		C: AUTH LOGIN
		S: 334 VXNlcm5hbWU6
		C: *
		S: 501 5.0.0
		C: AUTH LOGIN
		S: 334 VXNlcm5hbWU6
		C: ` + b64("carol@example.com") + `
		S: 334 UGFzc3dvcmQ6
		C: ` + b64("nope") + `
		S: 535 5.7.8
		C: AUTH LOGIN ` + b64("carol@example.com") + `
		S: 334 UGFzc3dvcmQ6
		C: ` + b64(testPassword) + `
		S: 235
		C: MAIL FROM:<carol@example.com>
		S: 250
	`)
}

// Port 465 (RFC 8314): implicit TLS; net/smtp authenticates with PLAIN and
// sends a message.
func TestSubmissionImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ms := newSpyStore(t, 0)
	srv := New(Options{Mode: ModeSubmission, Store: ms, TLS: srvTLS, Auth: testAuth(ms, auth.Options{}),
		Hostname: testHostname, LookupAddr: noRDNS})
	ts := serveOn(t, srv, ms, srvTLS, func(l net.Listener) net.Listener { return tls.NewListener(l, srvTLS) })
	conn, err := tls.Dial("tcp", ts.addr, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := smtp.NewClient(conn, testHostname)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Auth(smtp.PlainAuth("", "bob@example.com", testPassword, testHostname)); err != nil {
		t.Fatal(err)
	}
	if err := sc.Mail("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := sc.Rcpt("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := sc.Data()
	if err != nil {
		t.Fatal(err)
	}
	const body = "Subject: over 465\r\n\r\n.hidden dot\r\n"
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sc.Quit(); err != nil {
		t.Fatal(err)
	}
	trace, rest := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if rest != body {
		t.Errorf("stored %q", rest)
	}
	if !strings.Contains(trace, "Received: from localhost ([127.0.0.1])") || !strings.Contains(trace, "SMTPSA id ") {
		t.Errorf("trace %q", trace)
	}
}

// Repeated failures from one address are throttled: AUTH then answers
// 454 4.7.0 (temporary), even with the right password.
func TestSubmissionAuthThrottled(t *testing.T) {
	ts, cliTLS := submissionServer(t, auth.Options{MaxFailuresPerIP: 2})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO l.example\nS: 250\nC: STARTTLS\nS: 220")
	c.startTLS(cliTLS)
	c.run(`
		C: EHLO l.example
		S: 250
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", "bad1") + `
		S: 535 5.7.8
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", "bad2") + `
		S: 535 5.7.8
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", testPassword) + `
		S: 454 4.7.0
	`)
}

// Malformed PLAIN responses are refused without a crash.
func TestSubmissionMalformedPlain(t *testing.T) {
	ts, cliTLS := submissionServer(t, auth.Options{})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO l.example\nS: 250\nC: STARTTLS\nS: 220")
	c.startTLS(cliTLS)
	c.run(`
		C: EHLO l.example
		S: 250
		C: AUTH PLAIN ` + base64.StdEncoding.EncodeToString([]byte("no-nuls")) + `
		S: 501 5.5.2
		C: AUTH PLAIN
		S: 334
		C: =
		S: 501 5.5.2
		C: AUTH PLAIN !!!notbase64
		S: 454 4.7.0
		C: AUTH CRAM-MD5
		S: 504 5.7.4
	`)
}

// On the MX port an authenticated client may send to local users but gets
// the remote-delivery refusal for others, not "relay denied".
func TestInboundAuthenticatedRemoteRecipient(t *testing.T) {
	ms := newSpyStore(t, 0)
	ts := startServer(t, Options{Mode: ModeSMTP, Store: ms, Auth: testAuth(ms, auth.Options{}), AllowInsecureAuth: true})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO l.example
		S: 250
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", testPassword) + `
		S: 235
		C: MAIL FROM:<alice@example.com>
		S: 250
		C: RCPT TO:<friend@remote.example>
		S: 550 5.7.1 Remote delivery is not configured
	`)
}
