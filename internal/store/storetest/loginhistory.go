package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// testLoginHistory: a store that keeps a login history (optional) returns
// the last success per account and remote, keeps the later of two times,
// forgets what is older than asked, knows nothing of unknown accounts, and
// drops an account's history with the account.
func testLoginHistory(t *testing.T, s store.Store) {
	h, ok := s.(store.LoginHistory)
	if !ok {
		t.Skip("store keeps no login history")
	}
	ctx := context.Background()
	newAccount(t, s, "alice@example.com")
	newAccount(t, s, "bob@example.com")
	t0 := time.Unix(1_700_000_000, 0)
	const nat, home = "198.51.100.7/32", "2001:db8:1::/64"
	record := func(acct, remote string, at time.Time) {
		t.Helper()
		if err := h.RecordLogin(ctx, acct, remote, at, at.Add(-30*24*time.Hour)); err != nil {
			t.Fatalf("RecordLogin(%s, %s): %v", acct, remote, err)
		}
	}
	last := func(acct, remote string) time.Time {
		t.Helper()
		at, err := h.LastLogin(ctx, acct, remote)
		if err != nil {
			t.Fatalf("LastLogin(%s, %s): %v", acct, remote, err)
		}
		return at
	}
	if at := last("alice@example.com", nat); !at.IsZero() {
		t.Fatalf("never logged in: %v", at)
	}
	record("Alice@Example.com", nat, t0)
	record("alice@example.com", home, t0.Add(time.Hour))
	record("alice@example.com", nat, t0.Add(-time.Hour)) // older: keeps t0
	if at := last("alice@example.com", nat); !at.Equal(t0) {
		t.Errorf("alice from the NAT: %v, want %v", at, t0)
	}
	if at := last("bob@example.com", nat); !at.IsZero() {
		t.Errorf("bob, never from the NAT: %v", at)
	}
	record("nobody@example.com", nat, t0) // no account: nothing, no error
	if at := last("nobody@example.com", nat); !at.IsZero() {
		t.Errorf("unknown account: %v", at)
	}
	// Forgetting: a record from bob 31 days after t0 forgets alice's t0.
	record("bob@example.com", nat, t0.Add(31*24*time.Hour))
	if at := last("alice@example.com", nat); !at.IsZero() {
		t.Errorf("alice's 31-day-old record kept: %v", at)
	}
	if at := last("alice@example.com", home); !at.IsZero() {
		t.Errorf("alice's home record (30 days 23 h old) kept: %v", at)
	}
	if err := s.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	newAccount(t, s, "bob@example.com")
	if at := last("bob@example.com", nat); !at.IsZero() {
		t.Errorf("a new bob inherited the old one's history: %v", at)
	}
}
