package jmapserver

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// With an outbound queue, EmailSubmission queues the recipients of other
// domains (without Bcc, waking the worker), delivers to local ones and to
// aliases, and still refuses an unknown user of a local domain.
func TestEmailSubmissionQueuesRemote(t *testing.T) {
	woken := 0
	var q store.Queue
	h := newHarness(t, func(o *Options) {
		q, _ = o.Store.(store.Queue)
		o.Queue, o.Queued = q, func() { woken++ }
		o.LocalDomains = func() []string { return []string{"example.org"} }
	})
	if q == nil {
		t.Skip("store has no outbound queue")
	}
	if al, ok := h.st.(store.Aliases); ok {
		if err := al.AddAlias(context.Background(), "team@example.com", "bob@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	h.deliver("", "From: alice@example.com\r\nTo: carol@elsewhere.net, team@example.com\r\nBcc: secret@elsewhere.net\r\nSubject: out\r\n\r\nhello\r\n")
	ids := strs(h.one("Email/query", map[string]any{})["ids"])
	send := func(rcpts ...string) map[string]any {
		var to []any
		for _, r := range rcpts {
			to = append(to, map[string]any{"email": r})
		}
		r := h.api([]any{"EmailSubmission/set", map[string]any{"accountId": h.acct, "create": map[string]any{"x": map[string]any{
			"identityId": "I1", "emailId": ids[0], "envelope": map[string]any{"mailFrom": map[string]any{"email": "alice@example.com"},
				"rcptTo": to}}}}, "x"})
		return r[0][1].(map[string]any)
	}
	res := send("carol@elsewhere.net", "team@example.com")
	if res["created"] == nil {
		t.Fatalf("submission: %v", res)
	}
	msgs, err := q.QueuedMessages(context.Background())
	if err != nil || len(msgs) != 1 || woken != 1 {
		t.Fatalf("queue %v, %v; worker woken %d times", msgs, err, woken)
	}
	var rcpts []string
	for _, r := range msgs[0].Recipients {
		rcpts = append(rcpts, r.Address)
	}
	if !slices.Equal(rcpts, []string{"carol@elsewhere.net"}) || msgs[0].From != "alice@example.com" {
		t.Fatalf("queued %+v", msgs[0])
	}
	body, err := h.st.OpenBlob(context.Background(), msgs[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4096)
	n, _ := body.Read(b)
	body.Close()
	if strings.Contains(string(b[:n]), "secret@") {
		t.Fatalf("queued copy keeps Bcc:\n%s", b[:n])
	}
	bob, _ := h.st.Mailboxes(context.Background(), "bob@example.com")
	if st, _ := bob.Status(context.Background(), "INBOX"); st.Messages != 1 {
		t.Fatalf("alias team@ did not reach bob: %d messages", st.Messages)
	}
	nc := send("nobody@example.org")["notCreated"].(map[string]any)["x"].(map[string]any)
	if nc["type"] != "invalidRecipients" {
		t.Fatalf("unknown local user: %v", nc)
	}
}
