package storetest

import (
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// testTombstoneObjects: an expunged or moved-away message's tombstone
// keeps its email and thread IDs (store.TombstoneObjects); live and
// unknown UIDs have none.
func testTombstoneObjects(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	to := store.Target{Account: "alice@example.com"}
	u1 := deliver(t, s, threadMsg("<t1@x>", "", "", "one"), to)[0].UID
	u2 := deliver(t, s, threadMsg("<t2@x>", "<t1@x>", "", "two"), to)[0].UID
	u3 := deliver(t, s, threadMsg("<t3@x>", "", "", "three"), to)[0].UID
	inbox := openMailbox(t, mbs, "INBOX")
	to1, ok := inbox.(store.TombstoneObjects)
	if !ok {
		t.Skip("the driver's Mailbox has no TombstoneObjects")
	}
	d1, d2 := detail(t, inbox, u1), detail(t, inbox, u2)
	if _, err := inbox.Expunge(ctx, []store.UID{u1}); err != nil {
		t.Fatal(err)
	}
	res, err := inbox.MoveTo(ctx, []store.UID{u2}, "Archive")
	if err != nil || len(res.DestUIDs) != 1 {
		t.Fatalf("MoveTo: %v %v", res, err)
	}
	got, err := to1.TombstoneObjects(ctx, []store.UID{u1, u2, u3, 999})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[u1] != (store.TombstoneObject{EmailID: d1.EmailID, ThreadID: d1.ThreadID}) ||
		got[u2] != (store.TombstoneObject{EmailID: d2.EmailID, ThreadID: d2.ThreadID}) {
		t.Fatalf("TombstoneObjects = %+v; want %s/%s for %d and %s/%s for %d, nothing for live %d and unknown 999",
			got, d1.EmailID, d1.ThreadID, u1, d2.EmailID, d2.ThreadID, u2, u3)
	}
	// The moved copy kept the ID its tombstone names (RFC 8474 §5.1).
	arch := openMailbox(t, mbs, "Archive")
	if d := detail(t, arch, res.DestUIDs[0]); d.EmailID != got[u2].EmailID {
		t.Fatalf("moved copy %s, tombstone %s", d.EmailID, got[u2].EmailID)
	}
	// Expunging the mailbox's last messages or deleting another mailbox
	// leaves these alone.
	if got, err := to1.TombstoneObjects(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no UIDs: %v %v", got, err)
	}
}
