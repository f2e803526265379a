package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/search"
	"github.com/letterbox/letterbox/internal/store"
)

// TestTextSignatures: a delivery stores the body's search signature once
// per content; TextSignatures reads it with the blob ID (expunged but
// pinned messages too); it goes with the blob.
func TestTextSignatures(t *testing.T) {
	s := openTest(t, Options{CollectDelay: time.Millisecond})
	ctx := context.Background()
	body := "Subject: signed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nthe zanz=\r\nibar report\r\n"
	for range 2 {
		if _, err := s.Deliver(ctx, strings.NewReader(body), alice); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: other\r\n\r\nnothing here\r\n"), alice); err != nil {
		t.Fatal(err)
	}
	session := inbox(t, s)
	pin := session.Pin()
	ts, ok := session.(store.TextSignatures)
	if !ok {
		t.Fatal("the mailbox handle does not implement store.TextSignatures")
	}
	sigs, err := ts.TextSignatures(ctx, []store.UID{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 3 || sigs[0].UID != 1 || sigs[2].UID != 3 || sigs[0].BlobID != sigs[1].BlobID || sigs[0].BlobID == sigs[2].BlobID {
		t.Fatalf("TextSignatures = %+v", sigs)
	}
	q := search.NewQuery("ZANZIBAR")
	if !search.Valid(sigs[0].Sig) || !q.MayContainBody(sigs[0].Sig) || q.MayContainBody(sigs[2].Sig) {
		t.Fatalf("signatures do not tell the messages apart: %v / %v", q.MayContainBody(sigs[0].Sig), q.MayContainBody(sigs[2].Sig))
	}
	var n int
	s.reader.QueryRow("SELECT COUNT(*) FROM blob_textsigs").Scan(&n)
	if n != 2 {
		t.Errorf("%d signature rows for 2 contents", n)
	}
	if _, err := inbox(t, s).Expunge(ctx, []store.UID{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if sigs, err := ts.TextSignatures(ctx, []store.UID{1, 2, 3}); err != nil || len(sigs) != 3 || sigs[0].Sig == nil {
		t.Fatalf("TextSignatures of pinned expunged messages = %+v, %v", sigs, err)
	}
	pin.Release()
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.reader.QueryRow("SELECT COUNT(*) FROM blob_textsigs").Scan(&n)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d signature rows left after collection", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sigs, err := ts.TextSignatures(ctx, []store.UID{1, 2, 3}); err != nil || len(sigs) != 0 {
		t.Fatalf("TextSignatures after collection = %+v, %v", sigs, err)
	}
}

// TestPutTextSignatures: a reader's signature replaces the stored one; a
// blob that does not exist gets none.
func TestPutTextSignatures(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: x\r\n\r\nbody\r\n"), alice); err != nil {
		t.Fatal(err)
	}
	ts := inbox(t, s).(store.TextSignatures)
	sigs, err := ts.TextSignatures(ctx, []store.UID{1})
	if err != nil || len(sigs) != 1 {
		t.Fatalf("TextSignatures = %+v, %v", sigs, err)
	}
	newSig := []byte{9, 0}
	if err := s.PutTextSignatures(ctx, map[string][]byte{sigs[0].BlobID: newSig, "no-such-blob": {9, 0}}); err != nil {
		t.Fatal(err)
	}
	after, err := ts.TextSignatures(ctx, []store.UID{1})
	if err != nil || len(after) != 1 || string(after[0].Sig) != string(newSig) {
		t.Fatalf("after PutTextSignatures: %+v, %v", after, err)
	}
	var n int
	s.reader.QueryRow("SELECT COUNT(*) FROM blob_textsigs").Scan(&n)
	if n != 1 {
		t.Errorf("%d signature rows, want 1", n)
	}
}
