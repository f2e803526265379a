package smtpserver

import (
	"context"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/msgauth"
	"github.com/letterbox/letterbox/internal/testutil/dnstest"
)

// checker answers from a loopback miekg/dns server with the records given.
func checker(t *testing.T, records ...string) *msgauth.Checker {
	t.Helper()
	return &msgauth.Checker{Hostname: testHostname, Resolver: dnstest.Resolver(t, records...)}
}

// Port 25 with checks: a message whose From domain's DMARC policy rejects
// it (SPF fails from this address, no signature) gets 550 5.7.1; one
// that passes is stored with our Authentication-Results field, and a
// field forged with our name is gone.
func TestInboundAuthenticationResults(t *testing.T) {
	c := checker(t,
		`good.test. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`_dmarc.good.test. 60 IN TXT "v=DMARC1; p=reject"`,
		`bank.test. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`_dmarc.bank.test. 60 IN TXT "v=DMARC1; p=reject"`,
	)
	ms := newSpyStore(t, 0)
	ts := startServer(t, Options{Mode: ModeSMTP, Store: ms, AuthCheck: c, DMARCReject: true})
	conn := dial(t, ts.addr)
	conn.run(`
		S: 220
		C: EHLO client.good.test
		S: 250
		C: MAIL FROM:<ceo@bank.test>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: From: ceo@bank.test
		C: Subject: wire money
		C:
		C: now
		C: .
		S: 550 5.7.1
		C: MAIL FROM:<news@good.test>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: Authentication-Results: ` + testHostname + `; dmarc=pass header.from=bank.test
		C: From: news@good.test
		C: Subject: fine
		C:
		C: hello
		C: .
		S: 250
	`)
	mbs, _ := ms.Mailboxes(context.Background(), "alice@example.com")
	mb, _ := mbs.Open(context.Background(), "INBOX")
	msgs, _ := mb.Messages(context.Background())
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	got := string(readAll(t, ms, msgs[0].BlobID))
	head, _, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.HasPrefix(got, "Return-Path: <news@good.test>\r\nAuthentication-Results: "+testHostname+";") ||
		!strings.Contains(head, "spf=pass smtp.mailfrom=news@good.test") || !strings.Contains(head, "dmarc=pass header.from=good.test") ||
		strings.Contains(head, "bank.test") {
		t.Errorf("stored header:\n%s", head)
	}
	if !strings.HasSuffix(got, "From: news@good.test\r\nSubject: fine\r\n\r\nhello\r\n") {
		t.Errorf("stored message %q", got)
	}
}
