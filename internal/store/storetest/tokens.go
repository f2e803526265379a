package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// testTokens: a store that keeps login tokens (optional) finds a token by
// its hash with its account, kind, data and expiry; not once it expired or
// was deleted; not for an unknown account; DeleteExpiredTokens prunes only
// the expired; SetPasswordHash deletes the account's tokens and no other
// account's; DeleteAccount takes the account's tokens with it.
func testTokens(t *testing.T, s store.Store) {
	tk, ok := s.(store.Tokens)
	if !ok {
		t.Skip("store keeps no tokens")
	}
	ctx := context.Background()
	newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	now := time.Unix(1_800_000_000, 0)
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	create := func(tok, acct, kind string, exp time.Time) {
		t.Helper()
		if err := tk.CreateToken(ctx, store.Token{Hash: hash(tok), Account: acct, Kind: kind, Data: "d-" + tok, Expires: exp}); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok, err)
		}
	}
	live := func(tok string, at time.Time) bool {
		t.Helper()
		got, err := tk.LookupToken(ctx, hash(tok), at)
		if errors.Is(err, store.ErrNoSuchToken) {
			return false
		}
		if err != nil {
			t.Fatalf("LookupToken(%s): %v", tok, err)
		}
		return got.Account != ""
	}
	create("a1", "Alice@Example.com", "jmap", now.Add(time.Hour))
	create("a2", "alice@example.com", "web", now.Add(2*time.Hour))
	create("b1", "bob@example.com", "jmap", now.Add(time.Hour))
	create("old", "bob@example.com", "jmap", now.Add(-time.Second))
	got, err := tk.LookupToken(ctx, hash("a2"), now)
	if err != nil || got.Account != "alice@example.com" || got.Kind != "web" || got.Data != "d-a2" ||
		!got.Expires.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("LookupToken(a2) = %+v, %v", got, err)
	}
	if live("old", now) || live("nothing", now) {
		t.Fatal("an expired or unknown token was found")
	}
	if live("a1", now.Add(time.Hour)) || !live("a1", now.Add(time.Hour-time.Second)) {
		t.Fatal("a token must live until, not through, its expiry")
	}
	if err := tk.CreateToken(ctx, store.Token{Hash: hash("x"), Account: "nobody@example.com", Kind: "jmap", Expires: now.Add(time.Hour)}); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Fatalf("CreateToken(unknown account) = %v", err)
	}
	if n, err := tk.DeleteExpiredTokens(ctx, now); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredTokens = %d, %v; want 1", n, err)
	}
	if !live("a1", now) || !live("b1", now) {
		t.Fatal("pruning took a live token")
	}
	if err := tk.DeleteToken(ctx, hash("a1")); err != nil {
		t.Fatal(err)
	}
	if err := tk.DeleteToken(ctx, hash("a1")); err != nil {
		t.Fatalf("deleting a deleted token: %v", err)
	}
	if live("a1", now) || !live("a2", now) {
		t.Fatal("DeleteToken removed the wrong token")
	}
	if err := s.SetPasswordHash(ctx, "alice@example.com", "{test}new"); err != nil {
		t.Fatal(err)
	}
	if live("a2", now) || !live("b1", now) {
		t.Fatal("SetPasswordHash must delete the account's tokens, and only its")
	}
	// DeleteAccountTokens: every token of the account but the one kept.
	create("a3", "alice@example.com", "web", now.Add(time.Hour))
	create("a4", "alice@example.com", "jmap", now.Add(time.Hour))
	create("a5", "alice@example.com", "web", now.Add(time.Hour))
	if err := tk.DeleteAccountTokens(ctx, "Alice@example.com", hash("a4")); err != nil {
		t.Fatal(err)
	}
	if live("a3", now) || live("a5", now) || !live("a4", now) || !live("b1", now) {
		t.Fatal("DeleteAccountTokens must keep the kept token and other accounts' tokens, and only those")
	}
	if err := tk.DeleteAccountTokens(ctx, "alice@example.com", nil); err != nil || live("a4", now) {
		t.Fatalf("DeleteAccountTokens(keep nil) left a token: %v", err)
	}
	if err := s.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if live("b1", now) {
		t.Fatal("a deleted account's token still works")
	}
}
