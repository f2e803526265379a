package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

func testExpungeTombstones(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for i := 1; i <= 5; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	inbox := openMailbox(t, mbs, "INBOX")
	start := info(t, inbox)
	storeFlags(t, inbox, []store.UID{4}, store.FlagsAdd, store.FlagSeen)
	gone, err := inbox.Expunge(ctx, []store.UID{5, 2, 3, 42})
	if err != nil {
		t.Fatal(err)
	}
	if !equalUIDs(gone, []store.UID{2, 3, 5}) {
		t.Fatalf("Expunge returned %v", gone)
	}
	after := info(t, inbox)
	if after.HighestModSeq != start.HighestModSeq+4 {
		t.Errorf("HIGHESTMODSEQ %d, want %d (1 flag change + 3 expunges)", after.HighestModSeq, start.HighestModSeq+4)
	}
	if after.UIDNext != start.UIDNext {
		t.Errorf("UIDNEXT moved on expunge: %d -> %d", start.UIDNext, after.UIDNext)
	}
	if got := uidsOf(messages(t, inbox)); !equalUIDs(got, []store.UID{1, 4}) {
		t.Errorf("remaining %v", got)
	}
	ch, err := inbox.Changes(ctx, start.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !equalUIDs(ch.Expunged, []store.UID{2, 3, 5}) || len(ch.Updated) != 1 || ch.Updated[0].UID != 4 ||
		ch.HighestModSeq != after.HighestModSeq || ch.UIDNext != after.UIDNext {
		t.Errorf("Changes(%d) = %+v", start.HighestModSeq, ch)
	}
	// Tombstones carry their own MODSEQ: asking from after the first
	// expunge shows only the later ones.
	ch, _ = inbox.Changes(ctx, start.HighestModSeq+2)
	if !equalUIDs(ch.Expunged, []store.UID{3, 5}) || len(ch.Updated) != 0 {
		t.Errorf("Changes(%d) = %+v", start.HighestModSeq+2, ch)
	}
	ch, _ = inbox.Changes(ctx, 0)
	if !equalUIDs(uidsOf(ch.Updated), []store.UID{1, 4}) || !equalUIDs(ch.Expunged, []store.UID{2, 3, 5}) {
		t.Errorf("Changes(0) = %+v", ch)
	}
	ch, _ = inbox.Changes(ctx, after.HighestModSeq)
	if len(ch.Updated) != 0 || len(ch.Expunged) != 0 {
		t.Errorf("Changes(HIGHESTMODSEQ) = %+v", ch)
	}
	// Expunging nothing changes nothing; UIDs are never reused.
	before := info(t, inbox).HighestModSeq
	if gone, err := inbox.Expunge(ctx, []store.UID{2, 3}); err != nil || len(gone) != 0 {
		t.Errorf("second Expunge = %v, %v", gone, err)
	}
	if info(t, inbox).HighestModSeq != before {
		t.Error("empty expunge moved HIGHESTMODSEQ")
	}
	res := deliver(t, s, msg(6), store.Target{Account: "alice@example.com"})
	if res[0].UID != 6 {
		t.Errorf("delivery after expunge got UID %d, want 6", res[0].UID)
	}
}

func testClaimRecentOnce(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for i := 1; i <= 5; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	const claimers = 8
	got := make([][]store.UID, claimers)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	for i := 0; i < claimers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb, err := mbs.Open(ctx, "INBOX")
			if err != nil {
				errs[i] = err
				return
			}
			got[i], errs[i] = mb.ClaimRecent(ctx)
		}()
	}
	wg.Wait()
	count := map[store.UID]int{}
	winners := 0
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("claimer %d: %v", i, errs[i])
		}
		if len(got[i]) > 0 {
			winners++
		}
		for _, u := range got[i] {
			count[u]++
		}
	}
	for u := store.UID(1); u <= 5; u++ {
		if count[u] != 1 {
			t.Errorf("UID %d claimed %d times", u, count[u])
		}
	}
	if winners != 1 {
		t.Errorf("%d claimers got recent messages, want exactly 1", winners)
	}
	inbox := openMailbox(t, mbs, "INBOX")
	if again, _ := inbox.ClaimRecent(ctx); len(again) != 0 {
		t.Errorf("second claim got %v", again)
	}
	deliver(t, s, msg(6), store.Target{Account: "alice@example.com"})
	if again, _ := inbox.ClaimRecent(ctx); !equalUIDs(again, []store.UID{6}) {
		t.Errorf("claim after new delivery got %v, want [6]", again)
	}
}

func testCopyMove(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for i := 1; i <= 4; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	deliver(t, s, msg(100), store.Target{Account: "alice@example.com", Mailbox: "Archive"})
	inbox := openMailbox(t, mbs, "INBOX")
	archive := openMailbox(t, mbs, "Archive")
	storeFlags(t, inbox, []store.UID{2}, store.FlagsAdd, store.FlagFlagged, "$Work")
	src := messages(t, inbox)
	arch0 := info(t, archive)

	_, err := inbox.CopyTo(ctx, []store.UID{4, 2, 9}, "archive")
	if !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("CopyTo(\"archive\") = %v: names other than INBOX are case-sensitive", err)
	}
	res, err := inbox.CopyTo(ctx, []store.UID{4, 2, 9}, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	if res.UIDValidity != arch0.UIDValidity || !equalUIDs(res.SourceUIDs, []store.UID{2, 4}) || !equalUIDs(res.DestUIDs, []store.UID{2, 3}) {
		t.Fatalf("CopyTo = %+v", res)
	}
	arch := messages(t, archive)
	if len(arch) != 3 || !equalFlags(arch[1].Flags, src[1].Flags) || !arch[1].InternalDate.Equal(src[1].InternalDate) ||
		arch[1].BlobID != src[1].BlobID || arch[1].Size != src[1].Size {
		t.Errorf("copy does not keep flags/date/body: %+v vs %+v", arch[1], src[1])
	}
	if info(t, archive).HighestModSeq != arch0.HighestModSeq+2 {
		t.Errorf("dest HIGHESTMODSEQ rose by %d, want 2", info(t, archive).HighestModSeq-arch0.HighestModSeq)
	}
	if len(messages(t, inbox)) != 4 {
		t.Error("CopyTo removed source messages")
	}

	inbox0 := info(t, inbox)
	res, err = inbox.MoveTo(ctx, []store.UID{1, 3}, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	if !equalUIDs(res.SourceUIDs, []store.UID{1, 3}) || !equalUIDs(res.DestUIDs, []store.UID{1, 2}) {
		t.Fatalf("MoveTo = %+v", res)
	}
	if got := uidsOf(messages(t, inbox)); !equalUIDs(got, []store.UID{2, 4}) {
		t.Errorf("after move INBOX has %v", got)
	}
	ch, _ := inbox.Changes(ctx, inbox0.HighestModSeq)
	if !equalUIDs(ch.Expunged, []store.UID{1, 3}) {
		t.Errorf("move left tombstones %v", ch.Expunged)
	}
	sent := messages(t, openMailbox(t, mbs, "Sent"))
	if len(sent) != 2 || string(readBlob(t, s, sent[0].BlobID)) != msg(1) {
		t.Errorf("Sent after move: %+v", sent)
	}
	if _, err := inbox.MoveTo(ctx, []store.UID{2}, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("MoveTo(unknown) = %v", err)
	}
	if got := uidsOf(messages(t, inbox)); !equalUIDs(got, []store.UID{2, 4}) {
		t.Errorf("failed move changed INBOX: %v", got)
	}
	// Copying into the same mailbox appends new UIDs.
	res, err = inbox.CopyTo(ctx, []store.UID{2}, "INBOX")
	if err != nil || !equalUIDs(res.DestUIDs, []store.UID{5}) {
		t.Errorf("CopyTo(self) = %+v, %v", res, err)
	}
	// Empty sets are fine.
	if res, err := inbox.MoveTo(ctx, []store.UID{99}, "Sent"); err != nil || len(res.DestUIDs) != 0 {
		t.Errorf("MoveTo(nothing) = %+v, %v", res, err)
	}
}

func testDeletedMailboxHandle(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	if _, err := mbs.Create(ctx, "Tmp", ""); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com", Mailbox: "Tmp"})
	mb := openMailbox(t, mbs, "Tmp")
	if err := mbs.Delete(ctx, "Tmp"); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Info(ctx); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Info = %v", err)
	}
	if _, err := mb.Messages(ctx); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Messages = %v", err)
	}
	if _, err := mb.StoreFlags(ctx, []store.UID{1}, store.FlagsAdd, []string{store.FlagSeen}, 0); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("StoreFlags = %v", err)
	}
	if _, err := mb.Expunge(ctx, []store.UID{1}); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("Expunge = %v", err)
	}
	if _, err := mb.CopyTo(ctx, []store.UID{1}, "INBOX"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("CopyTo = %v", err)
	}
}
