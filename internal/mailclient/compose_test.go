package mailclient

import (
	"strings"
	"testing"
	"time"
)

func TestBuildMessage(t *testing.T) {
	d := Draft{From: "Alice Ünver <alice@example.com>", To: "Bob <bob@example.com>", Cc: "carol@example.com", Bcc: "dave@example.com",
		Subject: "Grüße", Body: "Hallo Bob,\nschöne Grüße\n",
		Attachments: []FileAttachment{{Name: "notes.txt", Data: []byte("plain notes\n")}, {Name: "data.bin", Data: []byte{0, 1, 2, 255}}}}
	b, err := d.Build(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if b.From != "alice@example.com" || strings.Join(b.Rcpts, ",") != "bob@example.com,carol@example.com,dave@example.com" {
		t.Fatalf("envelope %q %q", b.From, b.Rcpts)
	}
	raw := string(b.Raw)
	for _, want := range []string{"Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n", "Message-Id: <" + b.MessageID + ">\r\n", "Mime-Version: 1.0\r\n",
		"Content-Type: multipart/mixed", "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n", "Content-Transfer-Encoding: base64\r\n",
		`filename=data.bin`, "AAEC/w=="} {
		if !strings.Contains(raw, want) {
			t.Errorf("message lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(strings.ToLower(raw), "\nbcc:") || strings.Contains(raw, "dave@") {
		t.Fatalf("Bcc leaked:\n%s", raw)
	}
	r := Render(b.Raw)
	if r.Subject != "Grüße" || r.From != "Alice Ünver <alice@example.com>" || r.Text != "Hallo Bob,\nschöne Grüße\n" || len(r.Attachments) != 2 {
		t.Fatalf("round trip: %+v", r)
	}
	if data, _ := r.AttachmentData(r.Attachments[1]); string(data) != "\x00\x01\x02\xff" {
		t.Fatalf("binary attachment %q", data)
	}
	inner := "Subject: inner\r\n\r\nthe embedded message\r\n"
	em, err := (Draft{From: "a@example.com", To: "b@example.com", Attachments: []FileAttachment{{Name: "fwd.eml", Type: "message/rfc822", Data: []byte(inner)}}}).Build(time.Now())
	if err != nil || !strings.Contains(string(em.Raw), "Content-Transfer-Encoding: 7bit\r\n") || !strings.Contains(string(em.Raw), "\r\n\r\n"+inner) {
		t.Fatalf("message/rfc822 attachment must not be base64 (RFC 2046 §5.2.1): %v\n%s", err, em.Raw)
	}
	if _, err := (Draft{From: "alice@example.com", Subject: "x"}).Build(time.Now()); err == nil || !strings.Contains(err.Error(), "no recipients") {
		t.Fatalf("no recipients: %v", err)
	}
	if _, err := (Draft{To: "bob@example.com"}).Build(time.Now()); err == nil || !strings.Contains(err.Error(), "From") {
		t.Fatalf("no from: %v", err)
	}
	if _, err := (Draft{From: "a@b", To: "not an address <"}).Build(time.Now()); err == nil || !strings.Contains(err.Error(), "To:") {
		t.Fatalf("bad To: %v", err)
	}
}

func TestParseDraft(t *testing.T) {
	d, err := ParseDraft([]byte("From: a@example.com\nTo: b@example.com\nCc: \nSubject: hi there\n\nbody line\n"))
	if err != nil || d.From != "a@example.com" || d.To != "b@example.com" || d.Cc != "" || d.Subject != "hi there" || d.Body != "body line\n" || d.Raw != nil {
		t.Fatalf("%+v %v", d, err)
	}
	d, _ = ParseDraft([]byte("Note: bring snacks\n\nThanks\n"))
	if d.Body != "Note: bring snacks\n\nThanks\n" || d.To != "" {
		t.Fatalf("body with a colon: %+v", d)
	}
	d, _ = ParseDraft([]byte("To: b@example.com\nSubject: no body\n"))
	if d.To != "b@example.com" || d.Subject != "no body" || d.Body != "" {
		t.Fatalf("header only: %+v", d)
	}
	d, _ = ParseDraft([]byte("just a body\nwith two lines\n"))
	if d.Body != "just a body\nwith two lines\n" || d.To != "" {
		t.Fatalf("body only: %+v", d)
	}
	mime := "From: a@example.com\r\nTo: b@example.com\r\nBcc: c@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"
	d, _ = ParseDraft([]byte(mime))
	if d.Raw == nil || d.Bcc != "c@example.com" {
		t.Fatalf("MIME message: %+v", d)
	}
	b, err := d.Build(time.Now())
	if err != nil || !strings.Contains(string(b.Raw), "Message-ID: <") || strings.Contains(string(b.Raw), "\nBcc:") || len(b.Rcpts) != 2 {
		t.Fatalf("finished message: %q %v", b.Raw, err)
	}
}

func TestReplyAndForwardDrafts(t *testing.T) {
	orig := Render([]byte("From: Bob Builder <bob@example.com>\r\nTo: alice@example.com, carol@example.com\r\nCc: Dave <dave@example.com>\r\n" +
		"Subject: Plans\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <m2@example.com>\r\nReferences: <m0@example.com> <m1@example.com>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nLine one\r\n> earlier\r\n\r\nLine three\r\n" +
		"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=pic.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--b--\r\n"))
	r := ReplyDraft(orig, "Alice <alice@example.com>", false)
	if r.To != "Bob Builder <bob@example.com>" || r.Cc != "" || r.Subject != "Re: Plans" {
		t.Fatalf("reply %+v", r)
	}
	if r.InReplyTo != "<m2@example.com>" || r.References != "<m0@example.com> <m1@example.com> <m2@example.com>" {
		t.Fatalf("thread headers %q / %q", r.InReplyTo, r.References)
	}
	want := "\nOn Mon, 2 Jan 2006 15:04:05 +0000, Bob Builder wrote:\n> Line one\n>> earlier\n>\n> Line three\n"
	if r.Body != want {
		t.Fatalf("reply body %q, want %q", r.Body, want)
	}
	all := ReplyDraft(orig, "Alice <alice@example.com>", true)
	if all.Cc != "carol@example.com, Dave <dave@example.com>" {
		t.Fatalf("reply all Cc %q", all.Cc)
	}
	if again := ReplyDraft(Render([]byte("From: x@y\r\nSubject: RE: Plans\r\n\r\nx")), "a@b", false); again.Subject != "RE: Plans" || again.InReplyTo != "" {
		t.Fatalf("re-reply %+v", again)
	}
	f, err := ForwardDraft(orig, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if f.Subject != "Fwd: Plans" || f.InReplyTo != "" || f.References != "<m0@example.com> <m1@example.com> <m2@example.com>" {
		t.Fatalf("forward %+v", f)
	}
	if !strings.Contains(f.Body, "---------- Forwarded message ----------\nFrom: Bob Builder <bob@example.com>\n") || !strings.Contains(f.Body, "> Line one\n") {
		t.Fatalf("forward body %q", f.Body)
	}
	if len(f.Attachments) != 1 || f.Attachments[0].Name != "pic.png" || f.Attachments[0].Type != "image/png" || string(f.Attachments[0].Data) != "\x89PNG" {
		t.Fatalf("forward attachments %+v", f.Attachments)
	}
}
