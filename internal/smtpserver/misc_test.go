package smtpserver

import (
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
)

func TestDeliveryReplyMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		enh  gosmtp.EnhancedCode
	}{
		{store.ErrNoSuchAccount, 550, gosmtp.EnhancedCode{5, 1, 1}},
		{fmt.Errorf("deliver: %w", store.ErrOverQuota), 452, gosmtp.EnhancedCode{4, 2, 2}},
		{store.ErrTooLarge, 552, gosmtp.EnhancedCode{5, 3, 4}},
		{store.ErrClosed, 451, gosmtp.EnhancedCode{4, 3, 0}},
		{errors.New("disk full"), 451, gosmtp.EnhancedCode{4, 3, 0}},
	} {
		got := deliveryReply(tc.err)
		if got.Code != tc.code || got.EnhancedCode != tc.enh {
			t.Errorf("deliveryReply(%v) = %d %v, want %d %v", tc.err, got.Code, got.EnhancedCode, tc.code, tc.enh)
		}
	}
	if deliveryReply(nil) != nil {
		t.Error("deliveryReply(nil) is not nil")
	}
}

// In SMTP mode one reply covers all recipients: when one copy fails
// temporarily the whole transaction gets 451 so the client retries (we
// cannot bounce); a duplicate beats a loss.
func TestSMTPPartialFailureIsTemporary(t *testing.T) {
	fs := newSpyStore(t, 0).failing("bob@example.com", errors.New("injected"))
	ts := startServer(t, Options{Mode: ModeSMTP, Store: fs})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO c.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: RCPT TO:<bob@example.com>
		S: 250
		C: DATA
		S: 354
		C: x
		C: .
		S: 451 4.3.0
	`)
}

// The store's own size limit (after our trace headers) also gives 552 5.3.4.
func TestStoreTooLarge(t *testing.T) {
	ms := newSpyStore(t, 100)
	ts := startServer(t, Options{Mode: ModeSMTP, Store: ms})
	err := smtp.SendMail(ts.addr, nil, "s@remote.example", []string{"alice@example.com"}, []byte("Subject: tiny\r\n\r\nx\r\n"))
	if err == nil || !strings.Contains(err.Error(), "552") || !strings.Contains(err.Error(), "5.3.4") {
		t.Fatalf("SendMail: %v, want 552 5.3.4", err)
	}
}

// RFC 6531: a UTF-8 envelope with SMTPUTF8 is accepted and recorded with the
// UTF8SMTP protocol keyword.
func TestSMTPUTF8(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO c.example
		S: 250
		C: MAIL FROM:<jöran@bücher.example> SMTPUTF8
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: Grüße
		C:
		C: ✓
		C: .
		S: 250
	`)
	trace, rest := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if !strings.HasPrefix(trace, "Return-Path: <jöran@bücher.example>\r\n") || !strings.Contains(trace, " with UTF8SMTP id ") {
		t.Errorf("trace %q", trace)
	}
	if rest != "Subject: Grüße\r\n\r\n✓\r\n" {
		t.Errorf("stored %q", rest)
	}
}

// An idle client is dropped with 421 4.4.2 after ReadTimeout.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, ReadTimeout: 200 * time.Millisecond})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250")
	start := time.Now()
	c.run("S: 421 4.4.2")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
	c.expectClosed()
}

// A slow but steady DATA transfer is not cut off by the read timeout: the
// deadline is per read, not per command.
func TestSlowDataWithinTimeout(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, ReadTimeout: time.Second})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250\nC: MAIL FROM:<s@r.example>\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250\nC: DATA\nS: 354")
	for i := 0; i < 6; i++ {
		c.send(fmt.Sprintf("line %d\r\n", i))
		time.Sleep(400 * time.Millisecond)
	}
	c.send(".\r\n")
	c.run("S: 250")
}

// Close stops Serve (which returns nil), drops connections, and may be
// called twice; Serve after Close fails at once.
func TestCloseStopsServe(t *testing.T) {
	srv := New(Options{Store: newSpyStore(t, 0)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c := dial(t, l.Addr().String())
	c.run("S: 220")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	c.expectClosed()
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l2); err == nil {
		t.Error("Serve after Close succeeded")
	}
}
