package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// Aliases: an exact alias wins over the domain's catch-all, an account's
// own address or an existing alias cannot be taken, an unknown account is
// refused, and aliases go with their account.
func testAliases(t *testing.T, s store.Store) {
	al, ok := s.(store.Aliases)
	if !ok {
		t.Skip("store has no aliases")
	}
	newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	for _, c := range []struct {
		addr, account string
		err           error
	}{
		{"Sales@Example.COM.", "alice@example.com", nil},
		{"@example.com", "bob@example.com", nil},
		{"sales@example.com", "bob@example.com", store.ErrAliasExists},
		{"alice@example.com", "bob@example.com", store.ErrAliasExists},
		{"x@example.org", "nobody@example.com", store.ErrNoSuchAccount},
		{"no-at-sign", "alice@example.com", store.ErrInvalidAlias},
	} {
		if err := al.AddAlias(ctx, c.addr, c.account); !errors.Is(err, c.err) {
			t.Fatalf("AddAlias(%q, %q) = %v, want %v", c.addr, c.account, err, c.err)
		}
	}
	for addr, want := range map[string]string{
		"sales@example.com":    "alice@example.com",
		"anything@example.com": "bob@example.com",
		"sales@example.org":    "",
	} {
		if got, err := al.ResolveAlias(ctx, addr); err != nil || got != want {
			t.Fatalf("ResolveAlias(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	list, err := al.Aliases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Alias{{Address: "@example.com", Account: "bob@example.com"}, {Address: "sales@example.com", Account: "alice@example.com"}}; !slices.Equal(list, want) {
		t.Fatalf("Aliases = %v, want %v", list, want)
	}
	if err := al.DeleteAlias(ctx, "SALES@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := al.DeleteAlias(ctx, "sales@example.com"); !errors.Is(err, store.ErrNoSuchAlias) {
		t.Fatalf("second DeleteAlias = %v", err)
	}
	if err := s.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, err := al.ResolveAlias(ctx, "anything@example.com"); err != nil || got != "" {
		t.Fatalf("catch-all of a deleted account resolves to %q, %v", got, err)
	}
}
