package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// verbatimBody asks Deliver to store the bytes as read (store.Verbatim).
type verbatimBody struct{ *strings.Reader }

func (verbatimBody) Verbatim() bool { return true }

// testDeliverVerbatim: a body marked Verbatim (APPEND of a literal8,
// RFC 3516 §4.4) is stored byte for byte, bare LF and NUL included, while
// an ordinary body with the same text is normalised to CRLF.
func testDeliverVerbatim(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	inbox := openMailbox(t, mbs, "INBOX")
	raw := "Subject: bin\n\nline one\nline\x00two\r\nend\n"
	res, err := s.Deliver(context.Background(), verbatimBody{strings.NewReader(raw)}, []store.Target{{Account: "alice@example.com"}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Deliver verbatim: %v %+v", err, res)
	}
	deliver(t, s, raw, store.Target{Account: "alice@example.com"})
	msgs := messages(t, inbox)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	if got := string(readBlob(t, s, msgs[0].BlobID)); got != raw {
		t.Errorf("verbatim body stored as %q, want %q", got, raw)
	}
	if msgs[0].Size != int64(len(raw)) {
		t.Errorf("verbatim size %d, want %d", msgs[0].Size, len(raw))
	}
	want := strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	if got := string(readBlob(t, s, msgs[1].BlobID)); got != want {
		t.Errorf("ordinary body stored as %q, want %q", got, want)
	}
}
