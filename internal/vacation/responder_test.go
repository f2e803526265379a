package vacation_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/vacation"
)

func openStore(t *testing.T, accounts ...string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range accounts {
		if _, err := st.CreateAccount(context.Background(), a, "x"); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// inbox returns the bodies in account's INBOX.
func inbox(t *testing.T, st store.Store, account string) []string {
	t.Helper()
	ctx := context.Background()
	mbs, err := st.Mailboxes(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, store.InboxName)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := st.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		out = append(out, string(data))
	}
	return out
}

const incoming = "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: lunch?\r\nMessage-ID: <m1@example.com>\r\n\r\nhi\r\n"

// TestResponderLocalAndRemote: a local sender gets the reply in its INBOX
// once per interval; a remote sender's reply is queued with the null
// sender; disabled settings and a new Save behave.
func TestResponderLocalAndRemote(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, "alice@example.com", "bob@example.com")
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r := &vacation.Responder{Store: st, Queue: st, Hostname: "mail.example.com", Now: func() time.Time { return now }}

	if r.Delivered(ctx, "alice@example.com", "alice@example.com", "bob@example.com", []byte(incoming)) {
		t.Fatal("replied with vacation off")
	}
	text := "Away until Monday."
	if err := vacation.Save(ctx, st, "alice@example.com", vacation.Settings{Enabled: true, TextBody: &text}); err != nil {
		t.Fatal(err)
	}
	if !r.Delivered(ctx, "alice@example.com", "alice@example.com", "bob@example.com", []byte(incoming)) {
		t.Fatal("no reply to a local sender")
	}
	got := inbox(t, st, "bob@example.com")
	if len(got) != 1 || !strings.Contains(got[0], "Auto-Submitted: auto-replied") || !strings.Contains(got[0], "Away until Monday.") ||
		!strings.HasPrefix(got[0], "Return-Path: <>\r\n") || !strings.Contains(got[0], "Subject: Auto: lunch?") {
		t.Fatalf("bob's INBOX: %q", got)
	}
	// Same sender again within 7 days: nothing; after 8 days: again.
	if r.Delivered(ctx, "alice@example.com", "alice@example.com", "bob@example.com", []byte(incoming)) {
		t.Fatal("replied twice within the interval")
	}
	now = now.Add(8 * 24 * time.Hour)
	if !r.Delivered(ctx, "alice@example.com", "alice@example.com", "BOB@example.com", []byte(incoming)) {
		t.Fatal("no reply after the interval")
	}
	if n := len(inbox(t, st, "bob@example.com")); n != 2 {
		t.Fatalf("bob has %d replies, want 2", n)
	}
	// A new Save forgets who was answered.
	if err := vacation.Save(ctx, st, "alice@example.com", vacation.Settings{Enabled: true, TextBody: &text}); err != nil {
		t.Fatal(err)
	}
	if !r.Delivered(ctx, "alice@example.com", "alice@example.com", "bob@example.com", []byte(incoming)) {
		t.Fatal("no reply after new settings")
	}

	// A remote sender: queued, from the null sender.
	remote := strings.Replace(incoming, "bob@example.com", "carol@remote.example", 1)
	if !r.Delivered(ctx, "alice@example.com", "alice@example.com", "carol@remote.example", []byte(remote)) {
		t.Fatal("no reply to a remote sender")
	}
	q, err := st.QueuedMessages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].From != "" || len(q[0].Recipients) != 1 || q[0].Recipients[0].Address != "carol@remote.example" {
		t.Fatalf("queue: %+v", q)
	}
	// A list message is not answered.
	list := strings.Replace(incoming, "Subject:", "List-Id: <l.example.com>\r\nSubject:", 1)
	now = now.Add(30 * 24 * time.Hour)
	if r.Delivered(ctx, "alice@example.com", "alice@example.com", "bob@example.com", []byte(list)) {
		t.Fatal("answered a list message")
	}
}
