package mailclient

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRender: any bytes render without a panic into valid UTF-8 text that
// ends with a line break, and every attachment's data can be read.
func FuzzRender(f *testing.F) {
	f.Add([]byte("Subject: =?koi8-r?B?8NLJ18XU?=\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n8NLJ18XU\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x<a href=y>z</a>\r\n--b\r\nContent-Disposition: attachment; filename*=UTF-8''%2e%2e\r\n\r\nq\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=\"\"\r\n\r\n--\r\n\r\n"))
	f.Add([]byte("Content-Type: text/html; charset=iso-2022-jp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<pre>=1B$B=\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := Render(raw)
		if !strings.HasSuffix(r.Text, "\n") {
			t.Fatalf("text %q does not end a line", r.Text)
		}
		if !utf8.ValidString(r.Text) || !utf8.ValidString(r.Subject) || !utf8.ValidString(r.From) {
			t.Fatalf("not UTF-8: %q %q %q", r.Text, r.Subject, r.From)
		}
		for _, a := range r.Attachments {
			r.AttachmentData(a)
		}
		ReplyDraft(r, "a@example.com", true)
	})
}

// FuzzHTMLToText: any HTML converts without a panic.
func FuzzHTMLToText(f *testing.F) {
	f.Add("<ul><li><a href='x'>y</a><blockquote><pre>\n\n z</pre>")
	f.Add("<table><tr><td>a<td>b</table><br><img alt=x>&amp;&nbsp;")
	f.Fuzz(func(t *testing.T, s string) {
		out := HTMLToText(s)
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("%q → %q", s, out)
		}
	})
}
