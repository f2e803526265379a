package storetest

import (
	"errors"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

func testAccounts(t *testing.T, s store.Store) {
	acc, err := s.CreateAccount(ctx, "Alice@Example.COM", "hash1")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Name != "alice@example.com" || acc.PasswordHash != "hash1" || acc.ID == 0 {
		t.Fatalf("CreateAccount = %+v", acc)
	}
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); !errors.Is(err, store.ErrAccountExists) {
		t.Fatalf("duplicate CreateAccount: %v, want ErrAccountExists", err)
	}
	if _, err := s.CreateAccount(ctx, "bob@example.com", "hash2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Account(ctx, "ALICE@example.com")
	if err != nil || got.ID != acc.ID || got.Name != acc.Name {
		t.Fatalf("Account = %+v, %v", got, err)
	}
	list, err := s.Accounts(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alice@example.com" || list[1].Name != "bob@example.com" {
		t.Fatalf("Accounts = %+v, %v", list, err)
	}
	if err := s.SetPasswordHash(ctx, "alice@example.com", "hash3"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Account(ctx, "alice@example.com"); got.PasswordHash != "hash3" {
		t.Fatalf("password hash after SetPasswordHash: %q", got.PasswordHash)
	}
	if err := s.SetPasswordHash(ctx, "nobody@example.com", "x"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("SetPasswordHash(unknown) = %v", err)
	}
	if _, err := s.Account(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("Account(unknown) = %v", err)
	}
	if _, err := s.Mailboxes(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("Mailboxes(unknown) = %v", err)
	}

	// Deleting an account removes its mail; the other account's copy of a
	// shared body stays readable.
	res := deliver(t, s, msg(1), store.Target{Account: "alice@example.com"}, store.Target{Account: "bob@example.com"})
	_ = res
	if err := s.DeleteAccount(ctx, "Alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(ctx, "alice@example.com"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("Account after delete = %v", err)
	}
	if err := s.DeleteAccount(ctx, "alice@example.com"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("second DeleteAccount = %v", err)
	}
	bob, _ := s.Mailboxes(ctx, "bob@example.com")
	msgs := messages(t, openMailbox(t, bob, "INBOX"))
	if len(msgs) != 1 || string(readBlob(t, s, msgs[0].BlobID)) != msg(1) {
		t.Fatalf("bob's copy after deleting alice: %+v", msgs)
	}
	// The name can be used again, with fresh mailboxes.
	mbs := newAccount(t, s, "alice@example.com")
	if n := len(messages(t, openMailbox(t, mbs, "INBOX"))); n != 0 {
		t.Fatalf("re-created account has %d messages", n)
	}
}

func testDefaultMailboxes(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	if mbs.Account().Name != "alice@example.com" {
		t.Fatalf("Account() = %+v", mbs.Account())
	}
	list, err := mbs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{store.InboxName: ""}
	for _, d := range store.DefaultMailboxes {
		want[d.Name] = d.SpecialUse
	}
	if len(list) != len(want) {
		t.Fatalf("List = %+v, want %d mailboxes", list, len(want))
	}
	if list[0].Name != store.InboxName {
		t.Errorf("INBOX is not listed first: %+v", list)
	}
	validities := map[uint32]bool{}
	for _, mi := range list {
		su, ok := want[mi.Name]
		if !ok {
			t.Errorf("unexpected mailbox %q", mi.Name)
			continue
		}
		if mi.SpecialUse != su {
			t.Errorf("%s: special-use %q, want %q", mi.Name, mi.SpecialUse, su)
		}
		if !mi.Subscribed {
			t.Errorf("%s: not subscribed", mi.Name)
		}
		if mi.UIDValidity == 0 || mi.UIDNext != 1 || mi.HighestModSeq == 0 {
			t.Errorf("%s: UIDVALIDITY %d UIDNEXT %d HIGHESTMODSEQ %d", mi.Name, mi.UIDValidity, mi.UIDNext, mi.HighestModSeq)
		}
		validities[mi.UIDValidity] = true
	}
	for _, name := range []string{"inbox", "InBoX", ""} {
		mi, err := mbs.Get(ctx, name)
		if err != nil || mi.Name != store.InboxName {
			t.Errorf("Get(%q) = %+v, %v", name, mi, err)
		}
	}
}
