package mime

import (
	"bytes"
	"strings"
	"testing"
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
