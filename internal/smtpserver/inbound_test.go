package smtpserver

import (
	"net/smtp"
	"strings"
	"testing"
)

// A message sent with Go's net/smtp (which dot-stuffs) is stored with our
// trace headers in front of exactly the bytes the client meant.
func TestInboundStoresBodyByteExact(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	body := "From: sender@remote.example\r\n" +
		"To: alice@example.com\r\n" +
		"Subject: dots and bytes\r\n" +
		"\r\n" +
		".leading dot\r\n" +
		"..two dots\r\n" +
		".\r\n" + // a lone dot line: must not end the message
		" .space dot\r\n" +
		"8-bit: gr\xc3\xbc\xc3\x9fe \xff\xfe\r\n" +
		strings.Repeat("x", 3000) + "\r\n" +
		"last line\r\n"
	err := smtp.SendMail(ts.addr, nil, "sender@remote.example", []string{"alice@example.com"}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	trace, rest := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if rest != body {
		t.Errorf("stored body differs:\n got %q\nwant %q", rest, body)
	}
	want := "Return-Path: <sender@remote.example>\r\n" +
		"Received: from localhost (client.rdns.test [127.0.0.1])\r\n" +
		"\tby mx.example.test (letterbox) with UTF8SMTP id " // net/smtp always sends SMTPUTF8 when offered
	if !strings.HasPrefix(trace, want) {
		t.Errorf("trace headers:\n got %q\nwant prefix %q", trace, want)
	}
	if !strings.HasSuffix(trace, "\r\n\tfor <alice@example.com>; Fri, 02 Jan 2026 03:04:05 +0000\r\n") {
		t.Errorf("trace headers end: %q", trace)
	}
}

// Replies to RCPT on the MX port (RFC 5321 §3.6.2, §4.2.2).
func TestInboundRecipientReplies(t *testing.T) {
	ts := startServer(t, Options{
		Mode:         ModeSMTP,
		LocalDomains: func() []string { return []string{"Extra.Example."} },
	})
	c := dial(t, ts.addr)
	c.run(`
		S: 220 mx.example.test ESMTP
		C: EHLO client.example
		S: 250 LIMITS
		C: MAIL FROM:<someone@remote.example>
		S: 250 2.0.0
		# unknown user in an account's domain
		C: RCPT TO:<nobody@example.com>
		S: 550 5.1.1
		# unknown user in a configured local domain without accounts
		C: RCPT TO:<x@extra.example>
		S: 550 5.1.1
		# no open relay
		C: RCPT TO:<victim@elsewhere.example>
		S: 550 5.7.1 Relay access denied
		# case does not matter for known accounts
		C: RCPT TO:<Alice@EXAMPLE.com>
		S: 250 2.0.0
		C: RCPT TO:<bob@example.com.>
		S: 250 2.0.0
		C: DATA
		S: 354
		C: Subject: hi
		C:
		C: hello
		C: .
		S: 250 2.0.0
		C: QUIT
		S: 221
	`)
	if got := len(ts.store.messages(t, "alice@example.com")); got != 1 {
		t.Errorf("alice has %d messages", got)
	}
	if got := len(ts.store.messages(t, "bob@example.com")); got != 1 {
		t.Errorf("bob has %d messages", got)
	}
	calls := ts.store.deliverCalls()
	if len(calls) != 1 || len(calls[0]) != 2 {
		t.Errorf("want one Deliver call with two targets (one blob), got %v", calls)
	}
}

// The same account named twice gets one copy; the Received header then
// names it with "for".
func TestDuplicateRecipientOneCopy(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	err := smtp.SendMail(ts.addr, nil, "s@remote.example",
		[]string{"alice@example.com", "ALICE@example.com"}, []byte("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	trace, _ := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if !strings.Contains(trace, "for <alice@example.com>") {
		t.Errorf("trace: %q", trace)
	}
}

// EHLO advertises what go-smtp and we support (RFC 1870, 2920, 3030, 6152,
// 6531, 2034).
func TestEHLOCapabilities(t *testing.T) {
	srvTLS, _ := testTLS(t)
	ts := startServer(t, Options{Mode: ModeSMTP, TLS: srvTLS, MaxMessageSize: 12345})
	c := dial(t, ts.addr)
	c.run("S: 220")
	c.send("EHLO client.example\r\n")
	got := strings.Join(c.reply(), "\n")
	for _, capa := range []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING",
		"STARTTLS", "SMTPUTF8", "SIZE 12345", "LIMITS RCPTMAX=100"} {
		if !strings.Contains(got, "250-"+capa+"\n") && !strings.HasSuffix(got, "250 "+capa) {
			t.Errorf("EHLO lacks %s:\n%s", capa, got)
		}
	}
	for _, capa := range []string{"AUTH", "BINARYMIME", "DSN"} {
		if strings.Contains(got, capa) {
			t.Errorf("EHLO must not offer %s without TLS/support:\n%s", capa, got)
		}
	}
}

// Commands sent in one batch get their replies in order (RFC 2920).
func TestPipelining(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250")
	c.send("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
	c.run(`
		S: 250 2.0.0
		S: 250 2.0.0
		S: 550 5.1.1
		S: 250 2.0.0
		S: 354
	`)
	c.send("Subject: p\r\n\r\npipelined\r\n.\r\nQUIT\r\n")
	c.run("S: 250 2.0.0\nS: 221")
	if len(ts.store.messages(t, "alice@example.com")) != 1 || len(ts.store.messages(t, "bob@example.com")) != 1 {
		t.Error("pipelined message not delivered to both")
	}
}

// Envelope addresses with control characters are refused: a bare CR would
// otherwise end up inside our Return-Path header.
func TestControlCharactersInAddresses(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250")
	c.send("MAIL FROM:<a@b.example\rX-Evil:yes>\r\n")
	c.run("S: 501 5.1.7")
	c.run("C: MAIL FROM:<a@b.example>\nS: 250")
	c.send("RCPT TO:<alice@example.com\r>\r\n")
	c.run("S: 501 5.1.3")
}

// A second MAIL inside a transaction is a sequence error (RFC 5321 §4.1.4),
// and RSET clears the transaction.
func TestNestedMailAndReset(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO c.example
		S: 250
		C: MAIL FROM:<a@remote.example>
		S: 250
		C: MAIL FROM:<b@remote.example>
		S: 503 5.5.1
		C: RSET
		S: 250
		C: MAIL FROM:<b@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: x
		C: .
		S: 250
	`)
	trace, _ := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if !strings.HasPrefix(trace, "Return-Path: <b@remote.example>\r\n") {
		t.Errorf("trace: %q", trace)
	}
}

// The null reverse-path (bounces) is accepted on the MX port.
func TestNullSender(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: HELO c.example
		S: 250
		C: MAIL FROM:<>
		S: 250
		C: RCPT TO:<carol@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: bounce
		C:
		C: .
		S: 250
	`)
	trace, rest := splitTrace(t, ts.onlyMessage(t, "carol@example.com"))
	if !strings.HasPrefix(trace, "Return-Path: <>\r\n") || rest != "Subject: bounce\r\n\r\n" {
		t.Errorf("stored %q + %q", trace, rest)
	}
}

// The 250 after DATA (and each LMTP 250) names the id our Received header
// carries, so a client's log line leads to ours.
func TestReplyNamesMessageID(t *testing.T) {
	for _, mode := range []Mode{ModeSMTP, ModeLMTP} {
		t.Run(mode.String(), func(t *testing.T) {
			ts := startServer(t, Options{Mode: mode})
			c := dial(t, ts.addr)
			hello := "EHLO"
			if mode == ModeLMTP {
				hello = "LHLO"
			}
			replies := c.run("S: 220\nC: " + hello + " c.example\nS: 250\nC: MAIL FROM:<s@r.example>\nS: 250\n" +
				"C: RCPT TO:<alice@example.com>\nS: 250\nC: DATA\nS: 354\nC: x\nC: .\nS: 250 2.0.0")
			last := replies[len(replies)-1][0]
			_, id, ok := strings.Cut(last, "Ok: stored as ")
			if !ok || len(id) != 16 {
				t.Fatalf("reply %q names no id", last)
			}
			trace, _ := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
			if !strings.Contains(trace, " id "+id+"\r\n") {
				t.Errorf("reply id %s not in trace %q", id, trace)
			}
		})
	}
}
