package outbound

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-msgauth/dkim"
)

// eightBitMsg is a MIME message with 8-bit text at the top of a
// multipart (itself labelled 8bit), an ASCII part, an 8-bit binary
// attachment, and an embedded message with an 8-bit part.
var eightBitMsg = "From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Date: Fri, 04 Dec 2026 14:00:00 +0000\r\nMessage-ID: <8@example.com>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"Grüße aus Köln, = equals sign,\r\ntrailing space \r\n" + "a very long line " + strings.Repeat("ä", 60) + "\r\n" +
	"--b1\r\nContent-Type: text/plain\r\n\r\nplain ascii\r\n" +
	"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\x80binary\r\n" +
	"--b1\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nD\xe9j\xe0 vu\r\n" +
	"--b1--\r\n"

// parts decodes every leaf of a message (go-message, an independent
// parser) into its type and decoded body.
func leafParts(t *testing.T, data []byte) []string {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(data))
	if err != nil && !gomessage.IsUnknownCharset(err) {
		t.Fatal(err)
	}
	var out []string
	var walk func(e *gomessage.Entity)
	walk = func(e *gomessage.Entity) {
		mt, _, _ := e.Header.ContentType()
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil && !gomessage.IsUnknownCharset(err) {
					t.Fatal(err)
				}
				walk(p)
			}
		}
		if mt == "message/rfc822" {
			inner, err := gomessage.Read(e.Body)
			if err != nil && !gomessage.IsUnknownCharset(err) {
				t.Fatal(err)
			}
			walk(inner)
			return
		}
		e.Header.Del("Content-Transfer-Encoding")
		b, _ := io.ReadAll(e.Body)
		out = append(out, mt+": "+string(b))
	}
	walk(e)
	return out
}

// RFC 6152 §3: 8-bit body parts become quoted-printable (text) or base64
// (other types), container labels become 7bit, and every part decodes to
// what it was; 7-bit and non-MIME messages are left alone.
func TestDowngrade8bit(t *testing.T) {
	out, changed := downgrade8bit([]byte(eightBitMsg))
	if !changed {
		t.Fatal("not converted")
	}
	head, body, _ := bytes.Cut(out, []byte("\r\n\r\n"))
	if bytes.IndexFunc(body, func(r rune) bool { return r >= 0x80 }) >= 0 || bytes.ContainsFunc(body, func(r rune) bool { return r == 0xfffd }) {
		t.Errorf("8-bit bytes left in the body:\n%s", body)
	}
	for _, line := range strings.Split(string(out), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d octets", len(line))
		}
	}
	for _, want := range []string{"Content-Transfer-Encoding: 7bit\r\n\r\npreamble", // the multipart
		"charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus K=C3=B6ln, =3D equals sign,\r\ntrailing space=20\r\n",
		"Content-Type: text/plain\r\n\r\nplain ascii\r\n",
		"application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n//6AYmluYXJ5\r\n--b1\r\n",
		"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
		"charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nD=E9j=E0 vu\r\n--b1--"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("converted message lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(string(head), "Content-Transfer-Encoding") != 1 {
		t.Errorf("top header:\n%s", head)
	}
	before, after := leafParts(t, []byte(eightBitMsg)), leafParts(t, out)
	if strings.Join(before, "\x00") != strings.Join(after, "\x00") {
		t.Errorf("decoded parts differ:\nbefore %q\nafter  %q", before, after)
	}
	if len(before) != 4 {
		t.Errorf("parts %q", before)
	}

	single := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nnaïve\r\n"
	if out, _ := downgrade8bit([]byte(single)); string(out) != "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=C3=AFve\r\n" {
		t.Errorf("single part: %q", out)
	}
	bin := "MIME-Version: 1.0\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n"
	if out, _ := downgrade8bit([]byte(bin)); string(out) != "MIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n" {
		t.Errorf("single binary part: %q", out)
	}
	for _, same := range []string{testBody, "Subject: not MIME\r\n\r\nnaïve\r\n"} {
		if out, changed := downgrade8bit([]byte(same)); changed || string(out) != same {
			t.Errorf("%q changed to %q", same, out)
		}
	}
}

// End to end: a receiver without 8BITMIME gets the converted message, and
// the DKIM signatures (made after the conversion) verify on what it got; a
// receiver with 8BITMIME gets the original bytes.
func TestEightBitDowngradeDelivery(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.3.5", "127.0.3.6")
	no8BITMIME[net.JoinHostPort("127.0.3.5", strconv.Itoa(port))] = true
	old := startMTAServer(t, "127.0.3.5", port, nil, "", nil)
	modern := startMTAServer(t, "127.0.3.6", port, nil, "", nil)
	e.dns.add(t, "old.test. 60 IN MX 10 mx.old.test.", "mx.old.test. 60 IN A 127.0.3.5",
		"modern.test. 60 IN MX 10 mx.modern.test.", "mx.modern.test. 60 IN A 127.0.3.6")
	keys, txt, _ := dkimFixture(t)
	signer := DKIMSigner(map[string][]DKIMKey{"example.com": keys})
	a := e.enqueue(t, eightBitMsg, "bob@old.test")
	b := e.enqueue(t, eightBitMsg, "bob@modern.test")
	e.start(t, Options{Port: port, Signer: signer})
	eventually(t, "both delivered", func() bool {
		_, qa := e.queued(t, a.ID)
		_, qb := e.queued(t, b.ID)
		return !qa && !qb
	})
	lookup := func(name string) ([]string, error) { return []string{txt[name+"."]}, nil }
	got := old.messages()[0].data
	if strings.ContainsFunc(got, func(r rune) bool { return r >= 0x80 }) {
		t.Errorf("8-bit data sent to a server without 8BITMIME:\n%s", got)
	}
	if !strings.Contains(got, "Content-Transfer-Encoding: quoted-printable") {
		t.Errorf("not converted:\n%s", got)
	}
	verifs, err := dkim.VerifyWithOptions(strings.NewReader(got), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(verifs) != 2 {
		t.Fatalf("verify: %v %v", verifs, err)
	}
	for _, v := range verifs {
		if v.Err != nil {
			t.Errorf("signature on the converted message: %v", v.Err)
		}
	}
	if m := modern.messages()[0].data; !strings.HasSuffix(m, eightBitMsg) {
		t.Errorf("a server with 8BITMIME got a changed message:\n%s", m)
	}
}
