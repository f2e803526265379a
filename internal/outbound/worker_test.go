package outbound

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
)

const testBody = "From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: hello\r\n\r\nHello there.\r\n"

// MX hosts are tried in preference order, past one that is down, with
// STARTTLS when offered; a domain without MX goes to its own address
// (RFC 5321 §5.1); each message's recipients of one domain go in one
// transaction, and everything for a destination in one connection; the
// message leaves the queue once every recipient got its 250.
func TestDeliverMXOrderTLSAndImplicitMX(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	// mx1 (127.0.0.2) has no listener: connection refused.
	mx2 := startMTA(t, "127.0.0.3", port, goodTLS)
	plain := startMTA(t, "127.0.0.4", port, noTLS)
	e.dns.add(t,
		"remote.test. 60 IN MX 10 mx1.remote.test.",
		"remote.test. 60 IN MX 20 mx2.remote.test.",
		"mx1.remote.test. 60 IN A 127.0.0.2",
		"mx2.remote.test. 60 IN A 127.0.0.3",
		"nomx.test. 60 IN A 127.0.0.4",
	)
	var ids []int64
	for range 3 {
		ids = append(ids, e.enqueue(t, testBody, "bob@remote.test", "carol@remote.test", "dave@nomx.test").ID)
	}
	e.start(t, Options{Port: port})
	eventually(t, "the queue to empty", func() bool {
		for _, id := range ids {
			if _, ok := e.queued(t, id); ok {
				return false
			}
		}
		return true
	})
	got := mx2.messages()
	if len(got) != 3 {
		t.Fatalf("mx2 got %d messages, want 3", len(got))
	}
	for _, m := range got {
		if m.from != "alice@example.com" || strings.Join(m.rcpts, ",") != "bob@remote.test,carol@remote.test" || !m.tls {
			t.Errorf("mx2 got from %q to %v tls %v", m.from, m.rcpts, m.tls)
		}
		if !strings.HasSuffix(m.data, testBody) {
			t.Errorf("data %q", m.data)
		}
		if m.conn != got[0].conn {
			t.Errorf("messages on several connections: %q and %q", got[0].conn, m.conn)
		}
	}
	if p := plain.messages(); len(p) != 3 || p[0].tls || strings.Join(p[0].rcpts, ",") != "dave@nomx.test" {
		t.Errorf("implicit MX got %+v", p)
	}
	if len(e.inbox(t)) != 0 {
		t.Error("a DSN was stored for delivered mail")
	}
}

// A 4xx is retried after the backoff; a 5xx then fails the recipient for
// good, and the sender finds an RFC 3464 DSN in the INBOX. The recipient
// accepted in the same transaction is delivered once.
func TestRetryThenBounce(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.5")
	mta := startMTA(t, "127.0.0.5", port, noTLS)
	e.dns.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.5")
	var tries atomic.Int32
	mta.set(behaviour{rcpt: func(to string) error {
		if to != "nobody@remote.test" {
			return nil
		}
		if tries.Add(1) == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}})
	m := e.enqueue(t, testBody, "bob@remote.test", "nobody@remote.test")
	e.start(t, Options{Port: port, RetryFirst: 300 * time.Millisecond})
	eventually(t, "the first attempt", func() bool {
		q, ok := e.queued(t, m.ID)
		return ok && q.Recipients[1].Attempts == 1
	})
	q, _ := e.queued(t, m.ID)
	if q.Recipients[0].State != store.OutboundDelivered || q.Recipients[1].State != store.OutboundPending ||
		!strings.HasPrefix(q.Recipients[1].LastError, "451 4.3.0") || q.Recipients[1].RemoteMTA != "mx.remote.test" {
		t.Errorf("after the first attempt: %+v", q.Recipients)
	}
	if next := q.Recipients[1].NextAttempt.Sub(q.Recipients[1].LastAttempt); next < 250*time.Millisecond || next > time.Second {
		t.Errorf("next attempt after %v, want the 300 ms backoff", next)
	}
	eventually(t, "the message to leave the queue", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	if n := len(mta.messages()); n != 1 {
		t.Errorf("%d deliveries, want 1 (bob once)", n)
	}
	inbox := e.inbox(t)
	if len(inbox) != 1 {
		t.Fatalf("%d messages in the sender's INBOX, want the DSN", len(inbox))
	}
	dsn := inbox[0]
	for _, want := range []string{
		"Content-Type: multipart/report; report-type=delivery-status;",
		"Auto-Submitted: auto-replied",
		"Content-Type: message/delivery-status",
		"Reporting-MTA: dns; mail.example.com",
		"Final-Recipient: rfc822; nobody@remote.test",
		"Action: failed",
		"Status: 5.1.1",
		"Remote-MTA: dns; mx.remote.test",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user",
		"Content-Type: text/rfc822-headers",
		"Subject: hello",
	} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "bob@remote.test>:") || strings.Contains(dsn, "Final-Recipient: rfc822; bob@") {
		t.Errorf("DSN names the delivered recipient:\n%s", dsn)
	}
}

// A receiver that hangs up in the middle of DATA has not taken the
// message: it stays pending and is delivered, once, at the next attempt.
// A receiver whose STARTTLS handshake fails gets the mail without TLS.
func TestHangUpInDataAndBrokenTLS(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.6")
	mta := startMTA(t, "127.0.0.6", port, brokenTLS)
	e.dns.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.6")
	mta.set(behaviour{hangUpInData: true})
	m := e.enqueue(t, testBody, "bob@remote.test")
	e.start(t, Options{Port: port, RetryFirst: 200 * time.Millisecond})
	eventually(t, "the failed attempt", func() bool {
		q, ok := e.queued(t, m.ID)
		return ok && q.Recipients[0].Attempts == 1
	})
	q, _ := e.queued(t, m.ID)
	if q.Recipients[0].State != store.OutboundPending || q.Recipients[0].LastError == "" {
		t.Errorf("after the hang-up: %+v", q.Recipients[0])
	}
	if len(mta.messages()) != 0 {
		t.Fatal("a hung-up transfer counted as delivered by the receiver")
	}
	mta.set(behaviour{})
	eventually(t, "delivery", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	got := mta.messages()
	if len(got) != 1 || got[0].tls {
		t.Errorf("receiver got %+v, want one message without TLS", got)
	}
	if len(e.inbox(t)) != 0 {
		t.Error("a DSN for a delivered message")
	}
}

// Still failing after DelayNotice: one "delayed" DSN; after MaxAge: a
// "failed" one with 4.4.7, and the message leaves the queue.
func TestDelayNoticeAndExpiry(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.7")
	mta := startMTA(t, "127.0.0.7", port, noTLS)
	e.dns.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.7")
	mta.set(behaviour{data: func() error {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
	}})
	m := e.enqueue(t, testBody, "bob@remote.test")
	e.start(t, Options{Port: port, RetryFirst: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		DelayNotice: 300 * time.Millisecond, MaxAge: 1500 * time.Millisecond})
	eventually(t, "expiry", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	inbox := e.inbox(t)
	if len(inbox) != 2 {
		t.Fatalf("%d DSNs, want delayed + failed", len(inbox))
	}
	if !strings.Contains(inbox[0], "Action: delayed") || !strings.Contains(inbox[0], "Will-Retry-Until:") ||
		!strings.Contains(inbox[0], "Status: 4.2.2") {
		t.Errorf("first DSN:\n%s", inbox[0])
	}
	if !strings.Contains(inbox[1], "Action: failed") || !strings.Contains(inbox[1], "Status: 4.4.7") ||
		!strings.Contains(inbox[1], "Diagnostic-Code: smtp; 452 4.2.2 mailbox full") {
		t.Errorf("final DSN:\n%s", inbox[1])
	}
}

// Domains that cannot receive mail bounce at once: no such domain
// (5.1.2), null MX (RFC 7505, 5.1.10).
func TestUnroutableDomainsBounce(t *testing.T) {
	e := newEnv(t)
	e.dns.add(t, "nullmx.test. 60 IN MX 0 .")
	m := e.enqueue(t, testBody, "a@nowhere.test", "b@nullmx.test")
	e.start(t, Options{})
	eventually(t, "the bounce", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	inbox := e.inbox(t)
	if len(inbox) != 1 {
		t.Fatalf("%d DSNs, want 1", len(inbox))
	}
	for _, want := range []string{"Final-Recipient: rfc822; a@nowhere.test", "Status: 5.1.2",
		"Final-Recipient: rfc822; b@nullmx.test", "Status: 5.1.10"} {
		if !strings.Contains(inbox[0], want) {
			t.Errorf("DSN lacks %q:\n%s", want, inbox[0])
		}
	}
}

// With PerDomain 1, many messages for one domain never use two
// connections at once; MessagesPerConn splits them over connections.
func TestPerDomainConcurrency(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.8")
	mta := startMTA(t, "127.0.0.8", port, noTLS)
	e.dns.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.8")
	mta.set(behaviour{data: func() error { time.Sleep(5 * time.Millisecond); return nil }})
	const n = 30
	for range n {
		e.enqueue(t, testBody, "bob@remote.test")
	}
	w := e.start(t, Options{Port: port, PerDomain: 1, MessagesPerConn: 10})
	for range n {
		e.enqueue(t, testBody, "bob@remote.test")
		w.Wake()
	}
	eventually(t, "all deliveries", func() bool { return len(mta.messages()) == 2*n })
	mta.mu.Lock()
	defer mta.mu.Unlock()
	if mta.maxActive != 1 {
		t.Errorf("%d connections at once, want 1", mta.maxActive)
	}
	if mta.conns < 2*n/10 || mta.conns > 2*n {
		t.Errorf("%d connections for %d messages at 10 per connection", mta.conns, 2*n)
	}
	t.Logf("%d messages over %d connections", 2*n, mta.conns)
}

// Stopping the worker cuts a transfer in progress instead of waiting for
// the receiver: Run returns at once and the message stays pending,
// untried, for the next start.
func TestShutdownCutsTransfer(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.13")
	mta := startMTA(t, "127.0.0.13", port, noTLS)
	e.dns.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.13")
	inData := make(chan struct{}, 1)
	mta.set(behaviour{data: func() error {
		inData <- struct{}{}
		time.Sleep(30 * time.Second)
		return nil
	}})
	m := e.enqueue(t, testBody, "bob@remote.test")
	w, err := New(e.st, Options{Port: port, DNSServer: e.dns.addr, Hostname: "mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	select {
	case <-inData:
	case <-time.After(10 * time.Second):
		t.Fatal("no transfer started")
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the cancel")
	}
	t.Logf("Run returned %v after the cancel", time.Since(start).Round(time.Millisecond))
	q, ok := e.queued(t, m.ID)
	if !ok || q.Recipients[0].State != store.OutboundPending || q.Recipients[0].Attempts != 0 {
		t.Errorf("after shutdown: %+v %v", q, ok)
	}
}

// A recipient address that needs SMTPUTF8 (RFC 6531) bounces at once with
// 5.6.7 when the receiver does not offer it; its ASCII neighbour in the
// same message is delivered.
func TestSMTPUTF8Needed(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.14")
	noSMTPUTF8["127.0.0.14:"+strconv.Itoa(port)] = true
	mta := startMTA(t, "127.0.0.14", port, noTLS)
	e.dns.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.14")
	m := e.enqueue(t, testBody, "jörg@remote.test")
	m2 := e.enqueue(t, testBody, "joerg@remote.test")
	e.start(t, Options{Port: port})
	eventually(t, "both finished", func() bool {
		_, ok1 := e.queued(t, m.ID)
		_, ok2 := e.queued(t, m2.ID)
		return !ok1 && !ok2
	})
	if got := mta.messages(); len(got) != 1 || got[0].rcpts[0] != "joerg@remote.test" {
		t.Errorf("receiver got %+v", got)
	}
	inbox := e.inbox(t)
	if len(inbox) != 1 || !strings.Contains(inbox[0], "Status: 5.6.7") || !strings.Contains(inbox[0], "Final-Recipient: rfc822; jörg@remote.test") {
		t.Errorf("DSNs: %q", inbox)
	}
}

// BenchmarkDeliver: b.N queued messages (one recipient each, 1 KiB) to one
// domain whose MX is a go-smtp server on loopback, SQLite store, default
// per-domain limit: from the worker's start until the queue is empty.
func BenchmarkDeliver(b *testing.B) {
	e := newEnv(b)
	port := freeLoopbackPort(b, "127.0.0.15")
	mta := startMTA(b, "127.0.0.15", port, noTLS)
	e.dns.add(b, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.15")
	body := testBody + strings.Repeat("x", 1000) + "\r\n"
	for range b.N {
		if _, err := e.q.Enqueue(context.Background(), strings.NewReader(body), "alice@example.com", "alice@example.com", []string{"bob@remote.test"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	w, err := New(e.st, Options{Port: port, DNSServer: e.dns.addr, Hostname: "mail.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	for {
		all, err := e.q.QueuedMessages(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(all) == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	if n := len(mta.messages()); n != b.N {
		b.Fatalf("%d delivered, want %d", n, b.N)
	}
	mta.mu.Lock()
	b.ReportMetric(float64(mta.conns), "conns")
	mta.mu.Unlock()
}
