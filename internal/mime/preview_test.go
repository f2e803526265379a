package mime

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func previewOf(t *testing.T, msg string) string {
	t.Helper()
	b := []byte(strings.ReplaceAll(msg, "\n", "\r\n"))
	root := ParseBytes(b)
	p, err := Preview(bytes.NewReader(b), root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPreview(t *testing.T) {
	cases := []struct{ name, msg, want string }{
		{"plain", "Subject: x\n\nHello   there,\n\n  how are\tyou?\n", "Hello there, how are you?"},
		{"qp latin1", "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me=\n br=FBl=E9e\n", "Café crème brûlée"},
		{"base64", "Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n", "hello world"},
		{"html only", "Content-Type: text/html\n\n<html><head><title>T</title><style>p{}</style></head><body><p>Hi &amp; bye</p><!-- c --><p>two</p></body></html>\n", "Hi & bye two"},
		{"plain before html", "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<b>html</b>\n--b\nContent-Type: text/plain\n\nplain text\n--b--\n", "plain text"},
		{"attachment skipped", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nattached\n--b\nContent-Type: text/plain\n\nbody\n--b--\n", "body"},
		{"no text", "Content-Type: image/png\n\nxxxx\n", ""},
	}
	for _, c := range cases {
		if got := previewOf(t, c.msg); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	long := previewOf(t, "\n"+strings.Repeat("éa ", 400))
	if n := len([]rune(long)); n != PreviewMax || strings.HasSuffix(long, " ") {
		t.Errorf("long preview: %d characters, %q at the end", n, long[len(long)-4:])
	}
}

// TestPreviewPlainStopsEarlySameResult: reading plain text only until its
// preview is complete gives the preview of the whole (bounded) text, for
// texts around the chunk sizes, with multi-octet characters cut at chunk
// ends, long white space runs and control characters, whatever the reader
// returns per call.
func TestPreviewPlainStopsEarlySameResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	pieces := []string{"a", "word", "é", "€", "𝄞", " ", "  ", "\t", "\r\n", "\x00", "\xff", "Ωμέγα", strings.Repeat(" ", 300), strings.Repeat("x", 90)}
	const limit = 8 << 10
	for i := range 3000 {
		var b strings.Builder
		size := rng.IntN(3 * limit / 2)
		if i%3 == 0 {
			size = previewFirstRead + rng.IntN(8) - 4 // a character cut at the first chunk's end
		}
		for b.Len() < size {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		if i < 64 {
			// The preview's last characters right at the first chunk's
			// end: padding, then k characters of c, then more text.
			c := []string{"x", "é", "€", "𝄞"}[i%4]
			k := PreviewMax - 8 + i/4
			pad := max(0, previewFirstRead-k*len(c))
			text = strings.Repeat(" ", pad) + strings.Repeat(c, k) + "yz" + text
		}
		want, _ := collapse(text[:min(len(text), limit)], PreviewMax)
		readers := []func() io.Reader{
			func() io.Reader { return strings.NewReader(text) },
			func() io.Reader { return iotest.OneByteReader(strings.NewReader(text)) },
			func() io.Reader { return iotest.HalfReader(strings.NewReader(text)) },
		}
		for k, r := range readers {
			if got := previewPlain(r(), limit); got != want {
				t.Fatalf("text %d (%d octets), reader %d: got %q, want %q", i, len(text), k, got, want)
			}
		}
	}
}
