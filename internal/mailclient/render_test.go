package mailclient

import (
	"strings"
	"testing"
)

func TestRenderMultipart(t *testing.T) {
	raw := "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\r\n" +
		"To: \"Doe, John\" <john@example.com>, alice@example.com\r\n" +
		"Cc: =?UTF-8?B?0JjQstCw0L0=?= <ivan@example.com>\r\n" +
		"Subject: =?UTF-8?Q?Rapport_=C3=A9t=C3=A9?=\r\n" +
		"Date: Tue, 3 Jan 2006 10:00:00 +0100\r\n" +
		"Message-ID: <orig@example.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n" +
		"--b2\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nL'=E9t=E9 est l=E0.\r\n" +
		"--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>ignored html</p>\r\n--b2--\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename*=UTF-8''..%2F..%2Fr%C3%A9sum%C3%A9.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
		"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n" +
		"--b1--\r\n"
	r := Render([]byte(raw))
	if r.From != "André <andre@example.com>" || r.To != `"Doe, John" <john@example.com>, alice@example.com` || r.Cc != "Иван <ivan@example.com>" {
		t.Fatalf("addresses %q / %q / %q", r.From, r.To, r.Cc)
	}
	if r.Subject != "Rapport été" || r.MessageID != "orig@example.com" || r.Date.Day() != 3 {
		t.Fatalf("subject %q id %q date %v", r.Subject, r.MessageID, r.Date)
	}
	if r.Text != "L'été est là.\n" || r.FromHTML {
		t.Fatalf("text %q (html %v)", r.Text, r.FromHTML)
	}
	if len(r.Attachments) != 2 {
		t.Fatalf("attachments %+v", r.Attachments)
	}
	a := r.Attachments[0]
	if a.Index != 1 || a.Name != "../../résumé.pdf" || a.Type != "application/pdf" || a.Size != 9 {
		t.Fatalf("attachment 1 %+v", a)
	}
	if data, err := r.AttachmentData(a); err != nil || string(data) != "%PDF-1.4\n" {
		t.Fatalf("attachment data %q %v", data, err)
	}
	if b := r.Attachments[1]; b.Type != "message/rfc822" || b.Name != "" {
		t.Fatalf("attachment 2 %+v", b)
	}
	if _, err := r.Attachment(3); err == nil || !strings.Contains(err.Error(), "has 2") {
		t.Fatalf("attachment 3: %v", err)
	}
}

func TestRenderBrokenAndHostile(t *testing.T) {
	for _, raw := range []string{"", "no header at all", "Subject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nabc\r\n",
		"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\ncaf\xe9\r\n"} {
		r := Render([]byte(raw))
		if r == nil || !strings.HasSuffix(r.Text, "\n") {
			t.Fatalf("Render(%q) = %+v", raw, r)
		}
	}
	r := Render([]byte("Content-Type: text/plain; charset=x-no-such-charset\r\n\r\ncaf\xe9\r\n"))
	if r.Text != "café\n" {
		t.Fatalf("unknown charset: %q", r.Text)
	}
	if got := Terminal("a\x1b[2Jb\u202ec\td\n"); got != "a?[2Jb?c\td\n" {
		t.Fatalf("Terminal: %q", got)
	}
}

func TestRenderHTMLMetaCharset(t *testing.T) {
	// "Привет" in Windows-1251, the charset named only by the <meta> tag.
	raw := "Content-Type: text/html\r\n\r\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head>" +
		"<body><p>\xcf\xf0\xe8\xe2\xe5\xf2</p></body></html>\r\n"
	r := Render([]byte(raw))
	if r.Text != "Привет\n" || !r.FromHTML {
		t.Fatalf("%q html=%v", r.Text, r.FromHTML)
	}
}
