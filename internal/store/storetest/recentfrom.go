package storetest

import (
	"context"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// testRecentFrom: RecentFrom is at or below every unclaimed UID and above
// every claimed one, and reading it claims nothing (EXAMINE, RFC 3501
// §6.3.2).
func testRecentFrom(t *testing.T, s store.Store) {
	ctx := context.Background()
	mbs := newAccount(t, s, "alice@example.com")
	inbox := openMailbox(t, mbs, "INBOX")
	uid1 := deliver(t, s, msg(1), store.Target{Account: "alice@example.com"})[0].UID
	from, err := inbox.RecentFrom(ctx)
	if err != nil || from > uid1 {
		t.Fatalf("RecentFrom before any claim = %d, %v; want <= %d", from, err, uid1)
	}
	if again, _ := inbox.RecentFrom(ctx); again != from {
		t.Fatalf("RecentFrom moved from %d to %d without a claim", from, again)
	}
	claimed, err := inbox.ClaimRecent(ctx)
	if err != nil || len(claimed) != 1 || claimed[0] != uid1 {
		t.Fatalf("ClaimRecent after RecentFrom = %v, %v; want [%d]", claimed, err, uid1)
	}
	uid2 := deliver(t, s, msg(2), store.Target{Account: "alice@example.com"})[0].UID
	from, err = inbox.RecentFrom(ctx)
	if err != nil || from <= uid1 || from > uid2 {
		t.Fatalf("RecentFrom after claiming %d = %d, %v; want in (%d, %d]", uid1, from, err, uid1, uid2)
	}
}
