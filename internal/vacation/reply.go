package vacation

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Compose writes the reply (RFC 3834 §3 and §5; RFC 5230 §4.3-4.4): from
// the address the mail was sent to, to the envelope sender, with
// "Auto-Submitted: auto-replied", In-Reply-To and References of the
// original, and the subject of the settings or "Auto: " and the original's.
// With an HTML body the reply is multipart/alternative.
func Compose(s Settings, from, to string, orig mail.Header, hostname string, now time.Time) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	subject := ""
	if s.Subject != nil && *s.Subject != "" {
		subject = *s.Subject
	} else {
		dec := new(mime.WordDecoder)
		os, err := dec.DecodeHeader(orig.Get("Subject"))
		if err != nil {
			os = orig.Get("Subject")
		}
		subject = "Auto: " + os
	}
	hdr("From", (&mail.Address{Address: from}).String())
	hdr("To", (&mail.Address{Address: to}).String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+randomID()+"@"+hostname+">")
	if id := strings.TrimSpace(orig.Get("Message-ID")); id != "" {
		hdr("In-Reply-To", id)
		refs := strings.Join(strings.Fields(orig.Get("References")), " ")
		if refs != "" {
			refs += " "
		}
		hdr("References", refs+id)
	}
	hdr("Auto-Submitted", "auto-replied")
	hdr("MIME-Version", "1.0")
	text := ""
	if s.TextBody != nil {
		text = *s.TextBody
	} else if s.HTMLBody != nil {
		text = stripTags(*s.HTMLBody)
	}
	if s.HTMLBody == nil {
		writePart(&b, "text/plain; charset=utf-8", text)
		return b.Bytes()
	}
	boundary := "vacation-" + randomID()
	hdr("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	b.WriteString("--" + boundary + "\r\n")
	writePart(&b, "text/plain; charset=utf-8", text)
	b.WriteString("\r\n--" + boundary + "\r\n")
	writePart(&b, "text/html; charset=utf-8", *s.HTMLBody)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

// writePart writes a Content-Type, quoted-printable transfer encoding and
// the body with CRLF line ends.
func writePart(b *bytes.Buffer, ctype, body string) {
	b.WriteString("Content-Type: " + ctype + "\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")))
	qp.Close()
	b.WriteString("\r\n")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func randomID() string {
	var r [12]byte
	rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// stripTags is the text of an HTML body for the plain part when only HTML
// was given: tags dropped, the common entities decoded.
func stripTags(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&nbsp;", " ", "&amp;", "&").Replace(b.String())
}
