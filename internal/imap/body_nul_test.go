package imap

import (
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/mime"
)

// No string of ENVELOPE or BODYSTRUCTURE carries a NUL (RFC 3501 §4.3): a
// NUL from a header is written as U+FFFD, as Dovecot does.
func TestBodyStringsHoldNoNUL(t *testing.T) {
	env := render(false, func(w *Writer) {
		w.Envelope(&mime.Envelope{Subject: "a\x00b", From: []mime.Address{{Name: "x\x00y", Mailbox: "a", Host: "b"}}})
	})
	bs := render(false, func(w *Writer) {
		w.BodyStructure(&mime.Part{Type: "text", Subtype: "plain", Params: []mime.Param{{Name: "name", Value: "q\x00r"}}, Description: "d\x00"}, true)
	})
	for _, out := range []string{env, bs} {
		if strings.IndexByte(out, 0) >= 0 {
			t.Errorf("NUL written: %q", out)
		}
	}
	if !strings.Contains(env, "{5}\r\na\uFFFDb") || !strings.Contains(env, "{5}\r\nx\uFFFDy") {
		t.Errorf("ENVELOPE %q", env)
	}
	if !strings.Contains(bs, "{5}\r\nq\uFFFDr") || !strings.Contains(bs, "{4}\r\nd\uFFFD") {
		t.Errorf("BODYSTRUCTURE %q", bs)
	}
}
