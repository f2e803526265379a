package storetest

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// testImporter: the store.Importer capability keeps a source mailbox's
// UIDVALIDITY and UIDs, never lowers UIDNEXT and never reuses a UID.
func testImporter(t *testing.T, s store.Store) {
	imp, ok := s.(store.Importer)
	if !ok {
		t.Skip("driver has no store.Importer")
	}
	mbs := newAccount(t, s, "imp@example.com")
	const acct = "imp@example.com"
	if _, err := mbs.Create(ctx, "Old", ""); err != nil {
		t.Fatal(err)
	}

	// UIDVALIDITY: settable while the mailbox never held a message.
	if err := imp.SetUIDValidity(ctx, acct, "Old", 0); !errors.Is(err, store.ErrInvalidUIDValidity) {
		t.Fatalf("SetUIDValidity(0) = %v, want ErrInvalidUIDValidity", err)
	}
	if err := imp.SetUIDValidity(ctx, acct, "Old", 1234567); err != nil {
		t.Fatalf("SetUIDValidity: %v", err)
	}
	if err := imp.SetUIDValidity(ctx, acct, "Nope", 1234567); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("SetUIDValidity(missing mailbox) = %v", err)
	}
	mb := openMailbox(t, mbs, "Old")
	if mi := info(t, mb); mi.UIDValidity != 1234567 || mi.UIDNext != 1 {
		t.Fatalf("after SetUIDValidity: %+v", mi)
	}

	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.FixedZone("", 2*3600))
	batch := func(bodies ...string) []store.BatchMessage {
		out := make([]store.BatchMessage, len(bodies))
		for i, b := range bodies {
			out[i] = store.BatchMessage{Body: strings.NewReader(b), Flags: []string{store.FlagSeen, "$Label1"}, InternalDate: date}
		}
		return out
	}
	res, err := imp.ImportBatch(ctx, acct, "Old", batch("Subject: a\r\n\r\na\r\n", "Subject: b\r\n\r\nb\r\n"), []store.UID{5, 9})
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	if res.UIDValidity != 1234567 || len(res.UIDs) != 2 || res.UIDs[0] != 5 || res.UIDs[1] != 9 {
		t.Fatalf("ImportBatch result %+v", res)
	}
	msgs := messages(t, mb)
	if got := uidsOf(msgs); len(got) != 2 || got[0] != 5 || got[1] != 9 {
		t.Fatalf("UIDs after import: %v", got)
	}
	if !msgs[0].InternalDate.Equal(date) || strings.Join(msgs[0].Flags, " ") != `$Label1 \Seen` {
		t.Fatalf("imported message: %+v", msgs[0])
	}
	if mi := info(t, mb); mi.UIDNext != 10 {
		t.Fatalf("UIDNEXT after import = %d, want 10", mi.UIDNext)
	}

	// Now the mailbox has held messages: UIDVALIDITY stays.
	if err := imp.SetUIDValidity(ctx, acct, "Old", 7); !errors.Is(err, store.ErrMailboxUsed) {
		t.Fatalf("SetUIDValidity on a used mailbox = %v, want ErrMailboxUsed", err)
	}

	// A UID below UIDNEXT, a used one, or a non-ascending list: refused,
	// nothing stored.
	for _, uids := range [][]store.UID{{9}, {8}, {12, 11}, {0}} {
		n := len(uids)
		bodies := make([]string, n)
		for i := range bodies {
			bodies[i] = "Subject: x\r\n\r\nx\r\n"
		}
		if _, err := imp.ImportBatch(ctx, acct, "Old", batch(bodies...), uids); !errors.Is(err, store.ErrUIDNotAvailable) {
			t.Fatalf("ImportBatch(%v) = %v, want ErrUIDNotAvailable", uids, err)
		}
	}
	// One batch whose second UID collides: all or none.
	if _, err := imp.ImportBatch(ctx, acct, "Old", batch("Subject: c\r\n\r\nc\r\n", "Subject: d\r\n\r\nd\r\n"), []store.UID{20, 20}); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Fatalf("ImportBatch with a repeated UID = %v", err)
	}
	if got := uidsOf(messages(t, mb)); len(got) != 2 {
		t.Fatalf("a refused batch stored something: %v", got)
	}
	if mi := info(t, mb); mi.UIDNext != 10 {
		t.Fatalf("a refused batch moved UIDNEXT to %d", mi.UIDNext)
	}

	// UIDNEXT: raised, never lowered; a raise takes a MODSEQ.
	hms := info(t, mb).HighestModSeq
	if err := imp.RaiseUIDNext(ctx, acct, "Old", 15); err != nil {
		t.Fatal(err)
	}
	mi := info(t, mb)
	if mi.UIDNext != 15 || mi.HighestModSeq <= hms {
		t.Fatalf("after RaiseUIDNext(15): %+v (HIGHESTMODSEQ was %d)", mi, hms)
	}
	if err := imp.RaiseUIDNext(ctx, acct, "Old", 3); err != nil {
		t.Fatal(err)
	}
	if mi := info(t, mb); mi.UIDNext != 15 {
		t.Fatalf("RaiseUIDNext(3) lowered UIDNEXT to %d", mi.UIDNext)
	}
	// Ordinary deliveries continue above.
	r := deliver(t, s, "Subject: e\r\n\r\ne\r\n", store.Target{Account: acct, Mailbox: "Old"})
	if r[0].UID != 15 || r[0].UIDValidity != 1234567 {
		t.Fatalf("delivery after import: %+v", r[0])
	}
	// An expunged UID is not handed out again.
	if _, err := mb.Expunge(ctx, []store.UID{15}); err != nil {
		t.Fatal(err)
	}
	if _, err := imp.ImportBatch(ctx, acct, "Old", batch("Subject: f\r\n\r\nf\r\n"), []store.UID{15}); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Fatalf("ImportBatch of an expunged UID = %v", err)
	}

	// A mailbox created later gets a UIDVALIDITY above the imported one
	// (when that was in the future of the store's counter).
	if err := imp.SetUIDValidity(ctx, acct, "Sent", 4000000000); err != nil {
		t.Fatal(err)
	}
	nm, err := mbs.Create(ctx, "New", "")
	if err != nil {
		t.Fatal(err)
	}
	if nm.UIDValidity <= 4000000000 {
		t.Fatalf("mailbox created after an import of UIDVALIDITY 4000000000 got %d", nm.UIDValidity)
	}

	// uids nil: new UIDs from UIDNEXT, bodies read concurrently; a body
	// that fails to read stores nothing of its batch.
	many := make([]string, 20)
	for i := range many {
		many[i] = "Subject: many " + strings.Repeat("x", i) + "\r\n\r\nm\r\n"
	}
	res, err = imp.ImportBatch(ctx, acct, "Old", batch(many...), nil)
	if err != nil {
		t.Fatalf("ImportBatch(new UIDs): %v", err)
	}
	if len(res.UIDs) != 20 || res.UIDs[0] != 16 || res.UIDs[19] != 35 {
		t.Fatalf("ImportBatch(new UIDs) gave %v, want 16..35", res.UIDs)
	}
	bad := batch(many...)
	bad[13].Body = io.MultiReader(strings.NewReader("Subject: half"), errReader{})
	if _, err := imp.ImportBatch(ctx, acct, "Old", bad, nil); err == nil {
		t.Fatal("ImportBatch with a failing body succeeded")
	}
	if n := len(messages(t, mb)); n != 22 {
		t.Fatalf("after a failed batch: %d messages, want 22", n)
	}

	// The body reads back as given.
	d, err := mb.Details(ctx, []store.UID{9})
	if err != nil || len(d) != 1 {
		t.Fatalf("Details: %v %v", d, err)
	}
	if got := string(readBlob(t, s, d[0].BlobID)); got != "Subject: b\r\n\r\nb\r\n" {
		t.Fatalf("body %q", got)
	}
}
