package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// testAccessKeys: URLAUTH mailbox access keys (RFC 4467 §7) are made on
// demand, stable, per mailbox, AccessKeySize random octets; a reset of
// one mailbox or of all drops them; a deleted mailbox's key does not pass
// to a new mailbox of the same name.
func testAccessKeys(t *testing.T, s store.Store) {
	ak, ok := s.(store.AccessKeys)
	if !ok {
		t.Fatalf("%T does not implement store.AccessKeys", s)
	}
	mbs := newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	get := func(account, mailbox string, create bool) []byte {
		t.Helper()
		k, err := ak.MailboxAccessKey(ctx, account, mailbox, create)
		if err != nil {
			t.Fatalf("MailboxAccessKey(%s, %s, %v): %v", account, mailbox, create, err)
		}
		return k
	}
	if k := get("alice@example.com", "INBOX", false); k != nil {
		t.Fatalf("key before any was made: %x", k)
	}
	k1 := get("alice@example.com", "inbox", true)
	if len(k1) != store.AccessKeySize || bytes.Equal(k1, make([]byte, store.AccessKeySize)) {
		t.Fatalf("key %x", k1)
	}
	if k := get("alice@example.com", "INBOX", false); !bytes.Equal(k, k1) {
		t.Fatalf("key read back %x, made %x", k, k1)
	}
	if k := get("alice@example.com", "INBOX", true); !bytes.Equal(k, k1) {
		t.Fatal("create made a second key")
	}
	kSent := get("alice@example.com", "Sent", true)
	kBob := get("bob@example.com", "INBOX", true)
	if bytes.Equal(kSent, k1) || bytes.Equal(kBob, k1) {
		t.Fatal("two mailboxes share a key")
	}
	if _, err := ak.MailboxAccessKey(ctx, "alice@example.com", "Nope", true); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("missing mailbox: %v", err)
	}
	if _, err := ak.MailboxAccessKey(ctx, "nobody@example.com", "INBOX", true); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Errorf("missing account: %v", err)
	}
	if err := ak.ResetAccessKeys(ctx, "alice@example.com", "INBOX"); err != nil {
		t.Fatal(err)
	}
	if k := get("alice@example.com", "INBOX", false); k != nil {
		t.Fatal("key survived its reset")
	}
	if k := get("alice@example.com", "Sent", false); !bytes.Equal(k, kSent) {
		t.Fatal("reset of INBOX touched Sent")
	}
	if k := get("alice@example.com", "INBOX", true); bytes.Equal(k, k1) {
		t.Fatal("new key after reset equals the old one")
	}
	if err := ak.ResetAccessKeys(ctx, "alice@example.com", ""); err != nil {
		t.Fatal(err)
	}
	if get("alice@example.com", "INBOX", false) != nil || get("alice@example.com", "Sent", false) != nil {
		t.Fatal("keys survived the reset of all")
	}
	if k := get("bob@example.com", "INBOX", false); !bytes.Equal(k, kBob) {
		t.Fatal("alice's reset touched bob's key")
	}
	kTmp := get("alice@example.com", "Sent", true)
	if err := mbs.Delete(ctx, "Sent"); err != nil {
		t.Fatal(err)
	}
	if _, err := mbs.Create(ctx, "Sent", ""); err != nil {
		t.Fatal(err)
	}
	if k := get("alice@example.com", "Sent", false); k != nil {
		t.Fatalf("recreated mailbox inherited key %x (was %x)", k, kTmp)
	}
}
