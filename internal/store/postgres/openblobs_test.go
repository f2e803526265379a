package postgres

import (
	"io"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/storetest"
)

// TestOpenBlobsMatchesOpenBlob: OpenBlobs opens, in one query, the bodies
// stored in one chunk, each reading exactly as OpenBlob's (Read and
// ReadAt); a body of several chunks, an unknown ID and an invalid one are
// left out.
func TestOpenBlobsMatchesOpenBlob(t *testing.T) {
	s := openStore(t, freshSchema(t))
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	bodies := []string{
		"Subject: small\r\n\r\nhello\r\n",
		"Subject: medium\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 3000),
		"Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 20000), // over one 256 KiB chunk
	}
	for _, b := range bodies {
		res, err := s.Deliver(ctx, strings.NewReader(b), []store.Target{{Account: "alice@example.com"}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("Deliver: %v %+v", err, res)
		}
	}
	msgs := storetest.InboxMessages(t, s, "alice@example.com")
	if len(msgs) != len(bodies) {
		t.Fatalf("%d messages in INBOX, want %d", len(msgs), len(bodies))
	}
	ids := []string{"not-a-blob-id", strings.Repeat("ab", 32)}
	for _, m := range msgs {
		ids = append(ids, m.BlobID, m.BlobID) // repeats are fine
	}
	got, err := s.OpenBlobs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("OpenBlobs opened %d bodies, want the 2 of one chunk", len(got))
	}
	if _, ok := got[msgs[2].BlobID]; ok {
		t.Error("a body of several chunks was opened in the batch")
	}
	for i, m := range msgs[:2] {
		b, ok := got[m.BlobID]
		if !ok {
			t.Fatalf("body %d not opened", i)
		}
		if b.Size() != int64(len(bodies[i])) {
			t.Errorf("body %d: Size %d, want %d", i, b.Size(), len(bodies[i]))
		}
		all, err := io.ReadAll(b)
		if err != nil || string(all) != bodies[i] {
			t.Errorf("body %d: Read gave %d bytes, %v", i, len(all), err)
		}
		part := make([]byte, 10)
		if n, err := b.ReadAt(part, 3); n != 10 || err != nil || string(part) != bodies[i][3:13] {
			t.Errorf("body %d: ReadAt = %d %q %v", i, n, part, err)
		}
		b.Close()
		if _, err := b.ReadAt(part, 0); err == nil {
			t.Errorf("body %d: ReadAt after Close succeeded", i)
		}
	}
}
