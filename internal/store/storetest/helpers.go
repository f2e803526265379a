package storetest

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

var ctx = context.Background()

func newAccount(t testing.TB, s store.Store, name string) store.Mailboxes {
	t.Helper()
	if _, err := s.CreateAccount(ctx, name, "{test}"+name); err != nil {
		t.Fatalf("CreateAccount(%q): %v", name, err)
	}
	mbs, err := s.Mailboxes(ctx, name)
	if err != nil {
		t.Fatalf("Mailboxes(%q): %v", name, err)
	}
	return mbs
}

// deliver delivers body to targets and fails the test on any error.
func deliver(t testing.TB, s store.Store, body string, targets ...store.Target) []store.DeliveryResult {
	t.Helper()
	res, err := s.Deliver(ctx, strings.NewReader(body), targets)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if len(res) != len(targets) {
		t.Fatalf("Deliver: %d results for %d targets", len(res), len(targets))
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Deliver target %d (%+v): %v", i, targets[i], r.Err)
		}
	}
	return res
}

func openMailbox(t testing.TB, mbs store.Mailboxes, name string) store.Mailbox {
	t.Helper()
	mb, err := mbs.Open(ctx, name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	return mb
}

func info(t testing.TB, mb store.Mailbox) store.MailboxInfo {
	t.Helper()
	mi, err := mb.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return mi
}

func messages(t testing.TB, mb store.Mailbox) []store.Message {
	t.Helper()
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	return msgs
}

func uidsOf(msgs []store.Message) []store.UID {
	out := make([]store.UID, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}

func readBlob(t testing.TB, s store.Store, id string) []byte {
	t.Helper()
	b, err := s.OpenBlob(ctx, id)
	if err != nil {
		t.Fatalf("OpenBlob(%s): %v", id, err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("reading blob: %v", err)
	}
	if b.Size() != int64(len(data)) {
		t.Fatalf("blob Size() = %d, read %d bytes", b.Size(), len(data))
	}
	return data
}

func storeFlags(t testing.TB, mb store.Mailbox, uids []store.UID, op store.FlagOp, flags ...string) store.StoreResult {
	t.Helper()
	res, err := mb.StoreFlags(ctx, uids, op, flags, 0)
	if err != nil {
		t.Fatalf("StoreFlags: %v", err)
	}
	return res
}

func flagsOf(t testing.TB, mb store.Mailbox, uid store.UID) []string {
	t.Helper()
	for _, m := range messages(t, mb) {
		if m.UID == uid {
			return m.Flags
		}
	}
	t.Fatalf("no message with UID %d", uid)
	return nil
}

func equalUIDs(a, b []store.UID) bool { return slices.Equal(a, b) }

func msg(i int) string {
	return "From: a@example.com\r\nTo: b@example.com\r\nSubject: message " + itoa(i) + "\r\n\r\nbody " + itoa(i) + "\r\n"
}

func itoa(i int) string { return strconv.Itoa(i) }

// InboxMessages returns the messages of account's INBOX in UID order,
// failing t on any error: for drivers' and front ends' own tests.
func InboxMessages(t testing.TB, s store.Store, account string) []store.Message {
	t.Helper()
	mbs, err := s.Mailboxes(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	return messages(t, openMailbox(t, mbs, store.InboxName))
}
