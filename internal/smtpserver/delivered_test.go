package smtpserver

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDeliveredHook: after LMTP stores a message, Options.Delivered hears
// of each recipient that got it (not the refused one), with the envelope
// and the message's header: what the vacation autoresponder needs.
func TestDeliveredHook(t *testing.T) {
	type call struct{ account, rcpt, from, head string }
	var mu sync.Mutex
	var calls []call
	done := make(chan struct{}, 4)
	ts := startServer(t, Options{Mode: ModeLMTP, Delivered: func(_ context.Context, account, rcpt, from string, head []byte) {
		mu.Lock()
		calls = append(calls, call{account, rcpt, from, string(head)})
		mu.Unlock()
		done <- struct{}{}
	}})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: LHLO mta.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<Alice@example.com>
		S: 250
		C: RCPT TO:<nobody@example.com>
		S: 550 5.1.1
		C: RCPT TO:<bob@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: away?
		C: To: alice@example.com
		C:
		C: body
		C: .
		S: 250 2.0.0 <Alice@example.com>
		S: 250 2.0.0 <bob@example.com>
		C: QUIT
		S: 221
	`)
	for i := 0; i < 2; i++ {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Delivered called %d times, want 2", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, c := range calls {
		if c.from != "s@remote.example" || !strings.Contains(c.head, "Subject: away?\r\n") || !strings.Contains(c.head, "To: alice@example.com\r\n") {
			t.Errorf("call %+v", c)
		}
		seen[c.account+" "+c.rcpt] = true
	}
	if !seen["alice@example.com Alice@example.com"] || !seen["bob@example.com bob@example.com"] || len(calls) != 2 {
		t.Errorf("calls %+v", calls)
	}
}
