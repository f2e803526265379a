package jmapserver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// EmailSubmission calls Options.Delivered once per local recipient after
// the copy is stored (the vacation autoresponder's hook), with the
// account, the envelope recipient (an alias stays the alias), the
// envelope sender and the start of the message as stored; a remote
// recipient gets no call.
func TestSubmissionDeliveredHook(t *testing.T) {
	type call struct{ account, rcpt, from, head string }
	var mu sync.Mutex
	var calls []call
	done := make(chan struct{}, 4)
	var q store.Queue
	h := newHarness(t, func(o *Options) {
		q, _ = o.Store.(store.Queue)
		o.Queue = q
		o.Delivered = func(ctx context.Context, account, rcpt, envFrom string, head []byte) {
			if ctx.Err() != nil {
				t.Errorf("hook context already done: %v", ctx.Err())
			}
			mu.Lock()
			calls = append(calls, call{account, rcpt, envFrom, string(head)})
			mu.Unlock()
			done <- struct{}{}
		}
	})
	ctx := context.Background()
	if _, err := h.st.CreateAccount(ctx, "carol@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	al, ok := h.st.(store.Aliases)
	if !ok {
		t.Skip("store has no aliases")
	}
	if err := al.AddAlias(ctx, "team@example.com", "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	h.deliver("", "From: alice@example.com\r\nTo: bob@example.com, team@example.com\r\nSubject: away?\r\n\r\nhello\r\n")
	ids := strs(h.one("Email/query", map[string]any{})["ids"])
	rcpts := []any{map[string]any{"email": "bob@example.com"}, map[string]any{"email": "team@example.com"}}
	want := 2
	if q != nil {
		rcpts = append(rcpts, map[string]any{"email": "dave@elsewhere.net"})
	}
	r := h.api([]any{"EmailSubmission/set", map[string]any{"accountId": h.acct, "create": map[string]any{"x": map[string]any{
		"identityId": "I1", "emailId": ids[0], "envelope": map[string]any{"mailFrom": map[string]any{"email": "alice@example.com"},
			"rcptTo": rcpts}}}}, "x"})
	if r[0][1].(map[string]any)["created"] == nil {
		t.Fatalf("submission: %v", r[0][1])
	}
	for i := 0; i < want; i++ {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Delivered called %d times, want %d", i, want)
		}
	}
	select {
	case <-done:
		t.Fatal("Delivered called for a remote recipient")
	case <-time.After(100 * time.Millisecond):
	}
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(calls, func(a, b call) int { return strings.Compare(a.account, b.account) })
	if calls[0].account != "bob@example.com" || calls[0].rcpt != "bob@example.com" ||
		calls[1].account != "carol@example.com" || calls[1].rcpt != "team@example.com" {
		t.Fatalf("calls %+v", calls)
	}
	for _, c := range calls {
		if c.from != "alice@example.com" {
			t.Errorf("envelope sender %q", c.from)
		}
		if !strings.HasPrefix(c.head, "Received: by ") || !strings.Contains(c.head, "\r\nSubject: away?\r\n") {
			t.Errorf("head %q", c.head)
		}
	}
}
