package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// Access control lists (RFC 4314, store.ACLs): entries per mailbox and
// identifier, the mailboxes shared with a user, and their life with the
// mailbox and the accounts. A driver without store.ACLs skips these.

func aclsOf(t *testing.T, s store.Store) store.ACLs {
	t.Helper()
	a, ok := s.(store.ACLs)
	if !ok {
		t.Skip("driver does not implement store.ACLs")
	}
	return a
}

// aclString renders entries as "id=rights id=rights".
func aclString(t *testing.T, a store.ACLs, owner, mailbox string) string {
	t.Helper()
	es, err := a.ACL(ctx, owner, mailbox)
	if err != nil {
		t.Fatalf("ACL(%s, %s): %v", owner, mailbox, err)
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Identifier + "=" + e.Rights.Letters()
	}
	return strings.Join(parts, " ")
}

// sharedString renders SharedWith as "owner:mailbox=rights ...".
func sharedString(t *testing.T, a store.ACLs, user string) string {
	t.Helper()
	sh, err := a.SharedWith(ctx, user)
	if err != nil {
		t.Fatalf("SharedWith(%s): %v", user, err)
	}
	parts := make([]string, len(sh))
	for i, m := range sh {
		if m.Info.ID == 0 || m.Info.UIDValidity == 0 || m.Info.UIDNext == 0 {
			t.Errorf("SharedWith(%s): %s:%s has an incomplete MailboxInfo %+v", user, m.Owner, m.Info.Name, m.Info)
		}
		parts[i] = fmt.Sprintf("%s:%s=%s", m.Owner, m.Info.Name, m.Rights.Letters())
	}
	return strings.Join(parts, " ")
}

func mustRights(t *testing.T, s string) store.Rights {
	t.Helper()
	r, err := store.ParseRights(s)
	if err != nil {
		t.Fatalf("ParseRights(%q): %v", s, err)
	}
	return r
}

func testACLSetGet(t *testing.T, s store.Store) {
	a := aclsOf(t, s)
	alice := newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	newAccount(t, s, "carol@example.com")
	if _, err := alice.Create(ctx, "Shared/Team", ""); err != nil {
		t.Fatal(err)
	}
	if got := aclString(t, a, "alice@example.com", "Shared/Team"); got != "" {
		t.Fatalf("new mailbox ACL = %q, want none (the owner's rights are implicit)", got)
	}
	steps := []struct {
		id, rights string
	}{
		{"Bob@Example.com", "lr"},
		{"anyone", "l"},
		{"authenticated", "r"},
		{"-carol@example.com", "w"},
		{"bob@example.com", "lrswite"}, // replaces
		{"carol@example.com", ""},      // an entry with no rights stays
	}
	for _, st := range steps {
		if err := a.SetACL(ctx, "alice@example.com", "Shared/Team", st.id, mustRights(t, st.rights)); err != nil {
			t.Fatalf("SetACL(%s, %s): %v", st.id, st.rights, err)
		}
	}
	want := "-carol@example.com=w anyone=l authenticated=r bob@example.com=lrwstie carol@example.com="
	if _, err := a.ACL(ctx, "alice@example.com", "shared/team"); !errors.Is(err, store.ErrNoSuchMailbox) {
		// Mailbox names other than INBOX are case-sensitive.
		t.Fatalf("ACL of another name: %v, want ErrNoSuchMailbox", err)
	}
	if got := aclString(t, a, "alice@example.com", "Shared/Team"); got != want {
		t.Fatalf("ACL = %q, want %q", got, want)
	}
	// The owner cannot be given an entry; unknown accounts cannot either.
	if err := a.SetACL(ctx, "alice@example.com", "Shared/Team", "alice@example.com", mustRights(t, "l")); !errors.Is(err, store.ErrOwnerRights) {
		t.Errorf("SetACL for the owner: %v, want ErrOwnerRights", err)
	}
	if err := a.SetACL(ctx, "alice@example.com", "Shared/Team", "nobody@example.com", mustRights(t, "l")); !errors.Is(err, store.ErrInvalidIdentifier) {
		t.Errorf("SetACL for an unknown account: %v, want ErrInvalidIdentifier", err)
	}
	if err := a.SetACL(ctx, "alice@example.com", "Nope", "bob@example.com", mustRights(t, "l")); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("SetACL on a missing mailbox: %v, want ErrNoSuchMailbox", err)
	}
	if _, err := a.ACL(ctx, "alice@example.com", "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("ACL of a missing mailbox: %v, want ErrNoSuchMailbox", err)
	}
	if err := a.DeleteACL(ctx, "alice@example.com", "Shared/Team", "-carol@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteACL(ctx, "alice@example.com", "Shared/Team", "nobody@example.com"); err != nil {
		t.Errorf("DeleteACL of an entry that is not there: %v", err)
	}
	want = "anyone=l authenticated=r bob@example.com=lrwstie carol@example.com="
	if got := aclString(t, a, "alice@example.com", "Shared/Team"); got != want {
		t.Fatalf("ACL after DeleteACL = %q, want %q", got, want)
	}
}

func testACLSharedWith(t *testing.T, s store.Store) {
	a := aclsOf(t, s)
	alice := newAccount(t, s, "alice@example.com")
	bob := newAccount(t, s, "bob@example.com")
	newAccount(t, s, "carol@example.com")
	for _, n := range []string{"A", "B", "C"} {
		if _, err := alice.Create(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.Create(ctx, "Bobs", ""); err != nil {
		t.Fatal(err)
	}
	set := func(owner, mailbox, id, rights string) {
		t.Helper()
		if err := a.SetACL(ctx, owner, mailbox, id, mustRights(t, rights)); err != nil {
			t.Fatalf("SetACL(%s %s %s %s): %v", owner, mailbox, id, rights, err)
		}
	}
	set("alice@example.com", "A", "bob@example.com", "lr")
	set("alice@example.com", "B", "anyone", "lrs")
	set("alice@example.com", "B", "-bob@example.com", "s")
	set("alice@example.com", "C", "carol@example.com", "lrwi")
	set("alice@example.com", "INBOX", "authenticated", "l")
	set("alice@example.com", "INBOX", "-bob@example.com", "l")
	set("bob@example.com", "Bobs", "anyone", "lr")

	if got, want := sharedString(t, a, "bob@example.com"), "alice@example.com:A=lr alice@example.com:B=lr"; got != want {
		t.Errorf("SharedWith(bob) = %q, want %q (own mailboxes left out, negative rights applied)", got, want)
	}
	if got, want := sharedString(t, a, "carol@example.com"),
		"alice@example.com:B=lrs alice@example.com:C=lrwi alice@example.com:INBOX=l bob@example.com:Bobs=lr"; got != want {
		t.Errorf("SharedWith(carol) = %q, want %q", got, want)
	}
	// A change is seen by the next call.
	set("alice@example.com", "A", "bob@example.com", "")
	if got, want := sharedString(t, a, "bob@example.com"), "alice@example.com:B=lr"; got != want {
		t.Errorf("SharedWith(bob) after removing his rights = %q, want %q", got, want)
	}
}

func testACLFollowsMailbox(t *testing.T, s store.Store) {
	a := aclsOf(t, s)
	alice := newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	newAccount(t, s, "carol@example.com")
	for _, n := range []string{"Old", "Gone"} {
		if _, err := alice.Create(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"bob@example.com", "carol@example.com", "anyone"} {
			if err := a.SetACL(ctx, "alice@example.com", n, id, mustRights(t, "lr")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// RENAME keeps the ACL with the mailbox.
	if err := alice.Rename(ctx, "Old", "New"); err != nil {
		t.Fatal(err)
	}
	if got, want := aclString(t, a, "alice@example.com", "New"), "anyone=lr bob@example.com=lr carol@example.com=lr"; got != want {
		t.Errorf("ACL after rename = %q, want %q", got, want)
	}
	// DELETE takes it away: a new mailbox of that name starts empty.
	if err := alice.Delete(ctx, "Gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Create(ctx, "Gone", ""); err != nil {
		t.Fatal(err)
	}
	if got := aclString(t, a, "alice@example.com", "Gone"); got != "" {
		t.Errorf("ACL of a re-created mailbox = %q, want none", got)
	}
	// Deleting a grantee's account removes its entries; a new account of
	// the same name gets nothing.
	if err := s.DeleteAccount(ctx, "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, want := aclString(t, a, "alice@example.com", "New"), "anyone=lr bob@example.com=lr"; got != want {
		t.Errorf("ACL after deleting carol = %q, want %q", got, want)
	}
	newAccount(t, s, "carol@example.com")
	if got, want := sharedString(t, a, "carol@example.com"), "alice@example.com:New=lr"; got != want {
		t.Errorf("SharedWith(new carol) = %q, want %q (only anyone's entry)", got, want)
	}
	// Deleting the owner removes everything it shared.
	if err := s.DeleteAccount(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := sharedString(t, a, "bob@example.com"); got != "" {
		t.Errorf("SharedWith(bob) after deleting alice = %q, want nothing", got)
	}
}
