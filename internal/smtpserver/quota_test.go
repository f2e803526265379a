package smtpserver

import (
	"context"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// TestSMTPOverQuotaRecipient: SMTP answers DATA once, so a full account is
// refused at RCPT (452 4.2.2, temporary): by its message count, or by the
// SIZE that MAIL announced against its storage; the other recipients get
// the message and the transaction its 250.
func TestSMTPOverQuotaRecipient(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	q := ts.store.Store.(store.Quotas)
	ctx := context.Background()
	if err := q.SetQuota(ctx, "bob@example.com", 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := q.SetQuota(ctx, "carol@example.com", 10000, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.Store.Deliver(ctx, strings.NewReader("Subject: first\r\n\r\nx\r\n"), []store.Target{{Account: "bob@example.com"}}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	c.run(`
		S: 220 mx.example.test ESMTP
		C: EHLO client.example
		S: 250 LIMITS
		C: MAIL FROM:<someone@remote.example> SIZE=20000
		S: 250 2.0.0
		C: RCPT TO:<alice@example.com>
		S: 250 2.0.0
		C: RCPT TO:<bob@example.com>
		S: 452 4.2.2 Quota exceeded (mailbox for user is full)
		C: RCPT TO:<carol@example.com>
		S: 452 4.2.2 Quota exceeded (mailbox for user is full)
		C: DATA
		S: 354
		C: Subject: hi
		C:
		C: hello
		C: .
		S: 250 2.0.0
		C: MAIL FROM:<someone@remote.example> SIZE=100
		S: 250 2.0.0
		C: RCPT TO:<carol@example.com>
		S: 250 2.0.0
		C: DATA
		S: 354
		C: Subject: small
		C:
		C: hello
		C: .
		S: 250 2.0.0
		C: QUIT
		S: 221
	`)
	for account, want := range map[string]int{"alice@example.com": 1, "bob@example.com": 1, "carol@example.com": 1} {
		if got := len(ts.store.messages(t, account)); got != want {
			t.Errorf("%s has %d messages, want %d", account, got, want)
		}
	}
}

// The spy passes the real store's quota through, as the drivers offer it.
func (s *spyStore) Quota(ctx context.Context, account string) (store.Quota, error) {
	return s.Store.(store.Quotas).Quota(ctx, account)
}

func (s *spyStore) SetQuota(ctx context.Context, account string, storage, messages int64) error {
	return s.Store.(store.Quotas).SetQuota(ctx, account, storage, messages)
}
