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

// testRecentMarks: Unclaimed (store.RecentMarks, optional) names exactly
// the mailboxes with a message no session has claimed: not an empty one,
// a delivery marks, a claim unmarks, RecentFrom agrees.
func testRecentMarks(t *testing.T, s store.Store) {
	ctx := context.Background()
	mbs := newAccount(t, s, "alice@example.com")
	rm, ok := mbs.(store.RecentMarks)
	if !ok {
		t.Skip("driver does not implement store.RecentMarks")
	}
	if _, err := mbs.Create(ctx, "Other", ""); err != nil {
		t.Fatal(err)
	}
	inboxInfo, err := mbs.Get(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	otherInfo, err := mbs.Get(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, inbox, other bool) {
		t.Helper()
		got, err := rm.Unclaimed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[inboxInfo.ID] != inbox || got[otherInfo.ID] != other || len(got) != btoi(inbox)+btoi(other) {
			t.Fatalf("%s: Unclaimed = %v; want INBOX %v, Other %v", when, got, inbox, other)
		}
	}
	check("empty", false, false)
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com"})
	check("after a delivery to INBOX", true, false)
	inbox := openMailbox(t, mbs, "INBOX")
	if _, err := inbox.RecentFrom(ctx); err != nil {
		t.Fatal(err)
	}
	check("after RecentFrom (claims nothing)", true, false)
	if _, err := inbox.ClaimRecent(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the claim", false, false)
	deliver(t, s, msg(2), store.Target{Account: "alice@example.com", Mailbox: "Other"})
	check("after a delivery to Other", false, true)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
