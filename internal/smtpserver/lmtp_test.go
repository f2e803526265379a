package smtpserver

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// LMTP answers DATA once per recipient (RFC 2033 §4.2). One recipient's
// delivery fails (injected by a store decorator): it alone gets the failure
// reply, the others get 250 and have the message.
func TestLMTPPerRecipientReplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		reply string
	}{
		{"temporary", errors.New("disk on fire"), "451 4.3.0 <bob@example.com>"},
		{"over quota", store.ErrOverQuota, "452 4.2.2 <bob@example.com>"},
		{"account gone", store.ErrNoSuchAccount, "550 5.1.1 <bob@example.com>"},
		{"too large", store.ErrTooLarge, "552 5.3.4 <bob@example.com>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newSpyStore(t, 0).failing("bob@example.com", tc.err)
			ts := startServer(t, Options{Mode: ModeLMTP, Store: fs})
			c := dial(t, ts.addr)
			c.run(`
				S: 220 mx.example.test LMTP
				C: LHLO mta.example
				S: 250
				C: MAIL FROM:<s@remote.example>
				S: 250
				C: RCPT TO:<alice@example.com>
				S: 250
				C: RCPT TO:<nobody@example.com>
				S: 550 5.1.1
				C: RCPT TO:<bob@example.com>
				S: 250
				C: RCPT TO:<carol@example.com>
				S: 250
				C: DATA
				S: 354
				C: Subject: lmtp
				C:
				C: ..dot
				C: .
				S: 250 2.0.0 <alice@example.com>
				S: ` + tc.reply + `
				S: 250 2.0.0 <carol@example.com>
				C: QUIT
				S: 221
			`)
			for _, a := range []string{"alice@example.com", "carol@example.com"} {
				trace, rest := splitTrace(t, ts.onlyMessage(t, a))
				if rest != "Subject: lmtp\r\n\r\n.dot\r\n" {
					t.Errorf("%s: stored %q", a, rest)
				}
				if !strings.Contains(trace, " with LMTP id ") || strings.Contains(trace, "\tfor <") {
					t.Errorf("%s: trace %q", a, trace)
				}
			}
			if n := len(ts.store.messages(t, "bob@example.com")); n != 0 {
				t.Errorf("bob has %d messages", n)
			}
		})
	}
}

// BDAT over LMTP also gets one reply per recipient.
func TestLMTPBDAT(t *testing.T) {
	fs := newSpyStore(t, 0).failing("alice@example.com", errors.New("injected"))
	ts := startServer(t, Options{Mode: ModeLMTP, Store: fs})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: LHLO mta.example\nS: 250\nC: MAIL FROM:<s@remote.example>\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250\nC: RCPT TO:<bob@example.com>\nS: 250")
	body := "Subject: b\r\n\r\n.\r\n"
	c.send("BDAT " + strconv.Itoa(len(body)) + " LAST\r\n" + body)
	c.run("S: 451 4.3.0 <alice@example.com>\nS: 250 2.0.0 <bob@example.com>")
	_, rest := splitTrace(t, ts.onlyMessage(t, "bob@example.com"))
	if rest != body {
		t.Errorf("stored %q", rest)
	}
}

// LMTP only takes mail for existing accounts, whatever the domain, and
// only after LHLO; it offers no AUTH.
func TestLMTPRecipientsAndGreeting(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeLMTP, Auth: fakeAuth{}, AllowInsecureAuth: true})
	c := dial(t, ts.addr)
	replies := c.run(`
		S: 220
		C: EHLO mta.example
		S: 500 5.5.1
		C: LHLO mta.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<x@elsewhere.example>
		S: 550 5.1.1
		C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHg=
		S: 5
	`)
	if strings.Contains(strings.Join(replies[2], "\n"), "AUTH") {
		t.Errorf("LHLO offers AUTH: %q", replies[2])
	}
}

// LMTP over a unix socket (how Postfix usually reaches a local delivery
// agent): no address to record, so the Received header has no TCP-info.
func TestLMTPUnixSocket(t *testing.T) {
	ms := newSpyStore(t, 0)
	srv := New(Options{Mode: ModeLMTP, Store: ms, Hostname: testHostname})
	path := filepath.Join(t.TempDir(), "lmtp.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no unix sockets here: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newClient(t, conn)
	c.run(`
		S: 220
		C: LHLO mta.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<carol@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: via socket
		C:
		C: .
		S: 250 2.0.0 <carol@example.com>
	`)
	msgs := ms.messages(t, "carol@example.com")
	if len(msgs) != 1 {
		t.Fatalf("carol has %d messages", len(msgs))
	}
	trace, rest := splitTrace(t, msgs[0])
	if !strings.Contains(trace, "Received: from mta.example\r\n\tby mx.example.test (letterbox) with LMTP id ") ||
		rest != "Subject: via socket\r\n\r\n" {
		t.Errorf("stored %q + %q", trace, rest)
	}
}

// A recipient named twice over LMTP gets two replies (RFC 2033 §4.2: one
// per successful RCPT) but one stored copy; all recipients share one
// Deliver call.
func TestLMTPDuplicateRecipient(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeLMTP})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: LHLO mta.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: RCPT TO:<bob@example.com>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: x
		C: .
		S: 250 2.0.0 <alice@example.com>
		S: 250 2.0.0 <bob@example.com>
		S: 250 2.0.0 <alice@example.com>
		C: NOOP
		S: 250
	`)
	ts.onlyMessage(t, "alice@example.com")
	ts.onlyMessage(t, "bob@example.com")
	if calls := ts.store.deliverCalls(); len(calls) != 1 || len(calls[0]) != 2 {
		t.Errorf("Deliver calls: %v, want one with two targets", calls)
	}
}

// TestLMTPOverQuota: with the real store's quota (RFC 9208 limits), the
// recipient whose account is full gets 452 4.2.2 and nothing, the other
// recipient of the same transaction gets 250 and the message; after the
// full account made room, the retried delivery goes through.
func TestLMTPOverQuota(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeLMTP})
	q := ts.store.Store.(store.Quotas)
	if err := q.SetQuota(t.Context(), "bob@example.com", 0, 1); err != nil {
		t.Fatal(err)
	}
	script := `
		S: 220 mx.example.test LMTP
		C: LHLO mta.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: RCPT TO:<bob@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: quota
		C:
		C: body
		C: .
		S: 250 2.0.0 <alice@example.com>
		S: %s
		C: QUIT
		S: 221
	`
	dial(t, ts.addr).run(strings.Replace(script, "%s", "250 2.0.0 <bob@example.com>", 1))
	dial(t, ts.addr).run(strings.Replace(script, "%s", "452 4.2.2 <bob@example.com> Quota exceeded (mailbox for user is full)", 1))
	if n := len(ts.store.messages(t, "alice@example.com")); n != 2 {
		t.Errorf("alice has %d messages, want 2", n)
	}
	if n := len(ts.store.messages(t, "bob@example.com")); n != 1 {
		t.Errorf("bob has %d messages, want 1", n)
	}
	if err := q.SetQuota(t.Context(), "bob@example.com", 0, 2); err != nil {
		t.Fatal(err)
	}
	dial(t, ts.addr).run(strings.Replace(script, "%s", "250 2.0.0 <bob@example.com>", 1))
}
