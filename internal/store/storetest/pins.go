package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// collectWait bounds how long a test waits for expunged content nobody
// pins to be collected (drivers collect after a short delay, or a grace
// period the test store sets short).
const collectWait = 15 * time.Second

// holdWait is how long a test watches content that must stay: several
// collection delays of a test store.
const holdWait = 300 * time.Millisecond

// readAll opens blob id and reads it whole, or returns the error.
func readAll(s store.Store, id string) ([]byte, error) {
	b, err := s.OpenBlob(ctx, id)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != b.Size() {
		return nil, fmt.Errorf("read %d octets of a blob of %d", len(data), b.Size())
	}
	return data, nil
}

func details(t testing.TB, mb store.Mailbox, uids ...store.UID) []store.MessageDetail {
	t.Helper()
	d, err := mb.Details(ctx, uids)
	if err != nil {
		t.Fatalf("Details(%v): %v", uids, err)
	}
	return d
}

func highestModSeq(t testing.TB, mb store.Mailbox) store.ModSeq {
	t.Helper()
	hms, err := mb.HighestModSeq(ctx)
	if err != nil {
		t.Fatalf("HighestModSeq: %v", err)
	}
	return hms
}

// checkReadable asserts that message d of a session's view can still be
// fetched: Details has it as it was, and its body reads back whole.
func checkReadable(t testing.TB, s store.Store, mb store.Mailbox, was store.Message, body string) {
	t.Helper()
	d := details(t, mb, was.UID)
	if len(d) != 1 {
		t.Fatalf("Details(%d) = %+v: held content not returned", was.UID, d)
	}
	got := d[0]
	if got.UID != was.UID || got.BlobID != was.BlobID || got.Size != was.Size || !equalFlags(got.Flags, was.Flags) ||
		!got.InternalDate.Equal(was.InternalDate) || len(got.Structure) == 0 {
		t.Errorf("Details(%d) = %+v, was %+v", was.UID, got.Message, was)
	}
	data, err := readAll(s, got.BlobID)
	if err != nil {
		t.Fatalf("reading held UID %d: %v", was.UID, err)
	}
	if string(data) != body {
		t.Fatalf("held UID %d reads %q, want %q", was.UID, data, body)
	}
}

// waitCollected waits until mailbox mb no longer returns UID uid and, when
// blobGone, the blob can no longer be opened.
func waitCollected(t testing.TB, s store.Store, mb store.Mailbox, uid store.UID, blob string, blobGone bool) {
	t.Helper()
	deadline := time.Now().Add(collectWait)
	for {
		d, derr := mb.Details(ctx, []store.UID{uid})
		_, berr := readAll(s, blob)
		detailsGone := derr == nil && len(d) == 0 || errors.Is(derr, store.ErrNoSuchMailbox)
		if detailsGone && (!blobGone || berr != nil) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("UID %d never collected: Details %v %v, blob readable %v", uid, d, derr, berr == nil)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testHighestModSeq: HighestModSeq is exactly the committed HIGHESTMODSEQ
// after every kind of write, on the writer's handle and on any other.
func testHighestModSeq(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	inbox := openMailbox(t, mbs, "INBOX")
	other := openMailbox(t, mbs, "INBOX") // another session's handle
	archive := openMailbox(t, mbs, "Archive")
	check := func(what string, want ...store.ModSeq) {
		t.Helper()
		for i, mb := range []store.Mailbox{inbox, other, archive}[:len(want)] {
			mi := info(t, mb)
			if mi.HighestModSeq != want[i] {
				t.Fatalf("%s: Info HIGHESTMODSEQ %d, want %d", what, mi.HighestModSeq, want[i])
			}
			if got := highestModSeq(t, mb); got != want[i] {
				t.Errorf("%s: HighestModSeq of handle %d = %d, want %d", what, i, got, want[i])
			}
		}
	}
	check("new", 1, 1, 1)
	deliver(t, s, msg(1), store.Target{Account: "alice@example.com"}, store.Target{Account: "alice@example.com", Mailbox: "Archive"})
	deliver(t, s, msg(2), store.Target{Account: "alice@example.com"})
	check("deliver", 3, 3, 2)
	storeFlags(t, inbox, []store.UID{1, 2}, store.FlagsAdd, store.FlagSeen)
	check("store", 5, 5, 2)
	storeFlags(t, inbox, []store.UID{1, 2}, store.FlagsAdd, store.FlagSeen)
	check("store without change", 5, 5, 2)
	if _, err := inbox.CopyTo(ctx, []store.UID{1, 2}, "Archive"); err != nil {
		t.Fatal(err)
	}
	check("copy", 5, 5, 4)
	if _, err := other.Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	check("expunge", 6, 6, 4)
	if _, err := inbox.MoveTo(ctx, []store.UID{2}, "Archive"); err != nil {
		t.Fatal(err)
	}
	check("move", 7, 7, 5)
	if _, err := archive.MoveTo(ctx, []store.UID{1}, "INBOX"); err != nil {
		t.Fatal(err)
	}
	check("move back", 8, 8, 6)
	if _, err := inbox.ClaimRecent(ctx); err != nil {
		t.Fatal(err)
	}
	check("claim recent", 8, 8, 6)
	if err := mbs.Rename(ctx, "Archive", "Old"); err != nil {
		t.Fatal(err)
	}
	check("rename", 8, 8, 6)
	if err := mbs.Rename(ctx, "INBOX", "Saved"); err != nil {
		t.Fatal(err)
	}
	check("rename INBOX", 9, 9, 6)
	saved := openMailbox(t, mbs, "Saved")
	if got, want := highestModSeq(t, saved), info(t, saved).HighestModSeq; got != want {
		t.Errorf("HighestModSeq of INBOX's new name = %d, Info says %d", got, want)
	}
	// A handle opened on an existing mailbox it never saw written.
	fresh := openMailbox(t, mbs, "Sent")
	if got := highestModSeq(t, fresh); got != 1 {
		t.Errorf("HighestModSeq of an untouched mailbox = %d", got)
	}
	if err := mbs.Delete(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.HighestModSeq(ctx); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("HighestModSeq of a deleted mailbox = %v", err)
	}

	// Concurrent writers: once a write returned, every handle's
	// HighestModSeq is at least what it committed.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := openMailbox(t, mbs, "INBOX")
			watcher := openMailbox(t, mbs, "INBOX")
			for i := 0; i < 10; i++ {
				res, err := s.Deliver(ctx, strings.NewReader(msg(100*g+i)), []store.Target{{Account: "alice@example.com"}})
				if err != nil || res[0].Err != nil {
					t.Errorf("deliver: %v %+v", err, res)
					return
				}
				kw := fmt.Sprintf("$G%d", g)
				sr, err := mine.StoreFlags(ctx, []store.UID{res[0].UID}, store.FlagsAdd, []string{kw}, 0)
				if err != nil || len(sr.Updated) != 1 {
					t.Errorf("store: %v %+v", err, sr)
					return
				}
				if got, err := watcher.HighestModSeq(ctx); err != nil || got < sr.Updated[0].ModSeq {
					t.Errorf("HighestModSeq %d (%v) after a write that committed MODSEQ %d returned", got, err, sr.Updated[0].ModSeq)
				}
			}
		}()
	}
	wg.Wait()
	if got, want := highestModSeq(t, inbox), info(t, inbox).HighestModSeq; got != want {
		t.Errorf("after concurrent writes: HighestModSeq %d, Info %d", got, want)
	}
}

// testPinHoldsExpunged: a session's Pin keeps what it may still FETCH —
// Details and the body — after an expunge by another session, until the
// pin advances past the expunge or is released; then the content is
// collected. Several pins: the lowest holds.
func testPinHoldsExpunged(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	bodies := map[store.UID]string{}
	for i := 1; i <= 3; i++ {
		body := msg(i) + "pin test " + itoa(i) + "\r\n"
		res := deliver(t, s, body, store.Target{Account: "alice@example.com", Flags: []string{"$Mine"}})
		bodies[res[0].UID] = body
	}
	session := openMailbox(t, mbs, "INBOX")
	pinA := session.Pin()
	defer pinA.Release()
	view := messages(t, session) // the session's snapshot
	other := openMailbox(t, mbs, "INBOX")
	pinB := other.Pin()
	defer pinB.Release()
	storeFlags(t, other, []store.UID{1}, store.FlagsAdd, store.FlagSeen)
	view[0].Flags = flagsOf(t, other, 1)

	if _, err := other.Expunge(ctx, []store.UID{1, 2}); err != nil {
		t.Fatal(err)
	}
	expungedAt := highestModSeq(t, other)
	time.Sleep(holdWait)
	for _, m := range view {
		checkReadable(t, s, session, m, bodies[m.UID])
	}
	// Live and held UIDs together, in UID order; unknown UIDs skipped.
	if d := details(t, session, 3, 1, 99, 2); len(d) != 3 || d[0].UID != 1 || d[1].UID != 2 || d[2].UID != 3 {
		t.Errorf("Details(3,1,99,2) = %+v", d)
	}
	// Messages and Changes do not show held content: it is gone.
	if got := uidsOf(messages(t, session)); !equalUIDs(got, []store.UID{3}) {
		t.Errorf("Messages after expunge = %v", got)
	}

	// B announced everything, A only the first expunge: UID 2 stays.
	pinB.Advance(expungedAt)
	pinA.Advance(expungedAt - 1)
	time.Sleep(holdWait)
	checkReadable(t, s, session, view[1], bodies[2])
	pinA.Advance(expungedAt - 2) // never moves back
	time.Sleep(holdWait)
	checkReadable(t, s, session, view[1], bodies[2])
	waitCollected(t, s, session, 1, view[0].BlobID, true)
	pinA.Release()
	waitCollected(t, s, session, 2, view[1].BlobID, true)
	if _, err := readAll(s, view[2].BlobID); err != nil {
		t.Errorf("live message's body gone: %v", err)
	}

	// Without any pin, expunged content goes too.
	pinB.Release()
	if _, err := session.Expunge(ctx, []store.UID{3}); err != nil {
		t.Fatal(err)
	}
	waitCollected(t, s, session, 3, view[2].BlobID, true)

	// Content another message still refers to stays readable after its
	// expunged copy is collected.
	res := deliver(t, s, "Subject: shared\r\n\r\nshared\r\n", store.Target{Account: "alice@example.com"}, store.Target{Account: "alice@example.com", Mailbox: "Archive"})
	shared := details(t, session, res[0].UID)[0]
	if _, err := session.Expunge(ctx, []store.UID{res[0].UID}); err != nil {
		t.Fatal(err)
	}
	waitCollected(t, s, session, res[0].UID, shared.BlobID, false)
	if data, err := readAll(s, shared.BlobID); err != nil || string(data) != "Subject: shared\r\n\r\nshared\r\n" {
		t.Errorf("shared body after one copy was collected: %q, %v", data, err)
	}
}

// testPinHoldsMovedAndDeleted: MOVE, RENAME of INBOX and mailbox or account
// DELETE are expunges too: the source's sessions keep what they may fetch.
func testPinHoldsMovedAndDeleted(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	if _, err := mbs.Create(ctx, "Tmp", ""); err != nil {
		t.Fatal(err)
	}
	body := func(i int) string { return msg(i) + "moved and deleted\r\n" }
	for i := 1; i <= 2; i++ {
		deliver(t, s, body(i), store.Target{Account: "alice@example.com"})
	}
	deliver(t, s, body(3), store.Target{Account: "alice@example.com", Mailbox: "Tmp"})

	// MOVE: the source session still fetches the moved message.
	inbox := openMailbox(t, mbs, "INBOX")
	pin := inbox.Pin()
	view := messages(t, inbox)
	if _, err := openMailbox(t, mbs, "INBOX").MoveTo(ctx, []store.UID{1}, "Archive"); err != nil {
		t.Fatal(err)
	}
	checkReadable(t, s, inbox, view[0], body(1))

	// RENAME INBOX moves everything out of INBOX.
	if err := mbs.Rename(ctx, "INBOX", "Saved"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(holdWait)
	checkReadable(t, s, inbox, view[0], body(1))
	checkReadable(t, s, inbox, view[1], body(2))
	if n := len(messages(t, inbox)); n != 0 {
		t.Errorf("INBOX has %d messages after rename", n)
	}
	pin.Release()
	waitCollected(t, s, inbox, 2, view[1].BlobID, false)
	if data, err := readAll(s, view[1].BlobID); err != nil || string(data) != body(2) {
		t.Errorf("renamed INBOX's message body: %q, %v", data, err)
	}

	// DELETE of a mailbox: its body stays readable while a pin holds it
	// (the front end closes the mailbox's sessions, but one may be in the
	// middle of a FETCH).
	tmp := openMailbox(t, mbs, "Tmp")
	tmpPin := tmp.Pin()
	tmpView := messages(t, tmp)
	if err := mbs.Delete(ctx, "Tmp"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(holdWait)
	if data, err := readAll(s, tmpView[0].BlobID); err != nil || string(data) != body(3) {
		t.Errorf("pinned body of a deleted mailbox: %q, %v", data, err)
	}
	tmpPin.Release()
	waitCollected(t, s, tmp, tmpView[0].UID, tmpView[0].BlobID, true)

	// DELETE of the account: the same.
	bob := newAccount(t, s, "bob@example.com")
	deliver(t, s, body(4), store.Target{Account: "bob@example.com"})
	bobInbox := openMailbox(t, bob, "INBOX")
	bobPin := bobInbox.Pin()
	bobView := messages(t, bobInbox)
	if err := s.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(holdWait)
	if data, err := readAll(s, bobView[0].BlobID); err != nil || string(data) != body(4) {
		t.Errorf("pinned body of a deleted account: %q, %v", data, err)
	}
	bobPin.Release()
	waitCollected(t, s, bobInbox, bobView[0].UID, bobView[0].BlobID, true)
}

// testRedeliverWhileCollecting: bodies are content-addressed, so removing
// the content of an expunged message must never race with a new delivery
// (or copy) of the same bytes. Both orders — expunge then redeliver,
// redeliver then expunge — run concurrently for many rounds while pins
// move (each move may start a collection); every message must stay
// readable whole.
func testRedeliverWhileCollecting(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	const workers, rounds = 4, 25
	bodies := []string{
		"Subject: same bytes\r\n\r\nsame\r\n",
		"Subject: same bytes 2\r\n\r\n" + strings.Repeat("0123456789abcdef", 17000) + "\r\n", // several chunks
	}
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() { // pins moving: collections keep starting
		defer churn.Done()
		mb := openMailbox(t, mbs, "INBOX")
		for {
			select {
			case <-stop:
				return
			default:
			}
			p := mb.Pin()
			if hms, err := mb.HighestModSeq(ctx); err == nil {
				p.Advance(hms)
			}
			time.Sleep(time.Millisecond)
			p.Release()
		}
	}()
	errc := make(chan error, workers*rounds*4)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			mb := openMailbox(t, mbs, "INBOX")
			check := func(uid store.UID, body string) bool {
				d, err := mb.Details(ctx, []store.UID{uid})
				if err != nil || len(d) != 1 {
					errc <- fmt.Errorf("Details(%d) = %v, %v", uid, d, err)
					return false
				}
				data, err := readAll(s, d[0].BlobID)
				if err != nil || string(data) != body {
					errc <- fmt.Errorf("UID %d: read %d octets, %v", uid, len(data), err)
					return false
				}
				return true
			}
			deliverOne := func(body string) (store.UID, bool) {
				res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
				if err != nil || res[0].Err != nil {
					errc <- fmt.Errorf("Deliver: %v %+v", err, res)
					return 0, false
				}
				return res[0].UID, check(res[0].UID, body)
			}
			for i := 0; i < rounds; i++ {
				body := bodies[r.IntN(len(bodies))]
				first, ok := deliverOne(body)
				if !ok {
					return
				}
				if r.IntN(2) == 0 {
					// Expunge, then the same bytes again.
					if _, err := mb.Expunge(ctx, []store.UID{first}); err != nil {
						errc <- err
						return
					}
					if r.IntN(2) == 0 {
						time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
					}
					second, ok := deliverOne(body)
					if !ok {
						return
					}
					if r.IntN(2) == 0 {
						if _, err := mb.Expunge(ctx, []store.UID{second}); err != nil {
							errc <- err
							return
						}
					}
				} else {
					// The same bytes again (by delivery or copy), then
					// expunge the first.
					var second store.UID
					if r.IntN(2) == 0 {
						if second, ok = deliverOne(body); !ok {
							return
						}
					} else {
						res, err := mb.CopyTo(ctx, []store.UID{first}, "INBOX")
						if err != nil || len(res.DestUIDs) != 1 {
							errc <- fmt.Errorf("CopyTo: %+v, %v", res, err)
							return
						}
						second = res.DestUIDs[0]
					}
					if _, err := mb.Expunge(ctx, []store.UID{first}); err != nil {
						errc <- err
						return
					}
					if !check(second, body) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// After every collection is done, the live messages still read whole.
	time.Sleep(holdWait)
	inbox := openMailbox(t, mbs, "INBOX")
	live := messages(t, inbox)
	for _, m := range live {
		data, err := readAll(s, m.BlobID)
		if err != nil || (string(data) != bodies[0] && string(data) != bodies[1]) {
			t.Errorf("UID %d after the storm: %d octets, %v", m.UID, len(data), err)
		}
	}
	// And once every copy is expunged, the bodies go.
	if _, err := inbox.Expunge(ctx, uidsOf(live)); err != nil {
		t.Fatal(err)
	}
	for _, m := range live {
		waitCollected(t, s, inbox, m.UID, m.BlobID, true)
	}
	if len(live) > 0 {
		// Content that came back after being collected is whole.
		res := deliver(t, s, bodies[1], store.Target{Account: "alice@example.com"})
		d := details(t, inbox, res[0].UID)
		if data, err := readAll(s, d[0].BlobID); err != nil || !bytes.Equal(data, []byte(bodies[1])) {
			t.Errorf("redelivered after collection: %d octets, %v", len(data), err)
		}
	}
}
