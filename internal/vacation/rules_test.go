package vacation

import (
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func header(t *testing.T, text string) mail.Header {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(text + "\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header
}

func TestDecide(t *testing.T) {
	base := "From: Bob <bob@remote.example>\r\nTo: Alice <alice@example.com>\r\nSubject: hi\r\nMessage-ID: <1@remote.example>"
	cases := []struct {
		name    string
		envFrom string
		header  string
		replied bool
		reply   bool
	}{
		{"plain mail to the user", "bob@remote.example", base, false, true},
		{"null sender (a bounce)", "", base, false, false},
		{"MAILER-DAEMON", "MAILER-DAEMON@remote.example", base, false, false},
		{"owner- list sender", "owner-list@remote.example", base, false, false},
		{"-request list sender", "list-request@remote.example", base, false, false},
		{"Auto-Submitted: auto-replied", "bob@remote.example", base + "\r\nAuto-Submitted: auto-replied", false, false},
		{"Auto-Submitted: no", "bob@remote.example", base + "\r\nAuto-Submitted: no", false, true},
		{"List-Id", "bob@remote.example", base + "\r\nList-Id: <list.remote.example>", false, false},
		{"Precedence: bulk", "bob@remote.example", base + "\r\nPrecedence: bulk", false, false},
		{"Precedence: junk", "bob@remote.example", base + "\r\nPrecedence: junk", false, false},
		{"not addressed to the user (Bcc via a list)", "bob@remote.example",
			"From: bob@remote.example\r\nTo: someone@else.example\r\nSubject: hi", false, false},
		{"in Cc", "bob@remote.example", "From: bob@remote.example\r\nTo: x@else.example\r\nCc: ALICE@example.com\r\nSubject: hi", false, true},
		{"sent by the user", "alice@example.com", base, false, false},
		{"answered within the interval", "bob@remote.example", base, true, false},
	}
	for _, c := range cases {
		d := Decide(Incoming{Account: "alice@example.com", Rcpt: "alice@example.com", EnvFrom: c.envFrom,
			Header: header(t, c.header), Replied: c.replied, Settings: Settings{Enabled: true}})
		if d.Reply != c.reply {
			t.Errorf("%s: reply %v (%s), want %v", c.name, d.Reply, d.Reason, c.reply)
		}
		if d.Reply && d.To != strings.ToLower(c.envFrom) {
			t.Errorf("%s: reply to %q, want the envelope sender", c.name, d.To)
		}
	}
}

func TestActiveWindow(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	for _, c := range []struct {
		s    Settings
		want bool
	}{
		{Settings{}, false},
		{Settings{Enabled: true}, true},
		{Settings{Enabled: true, FromDate: &future}, false},
		{Settings{Enabled: true, FromDate: &past, ToDate: &future}, true},
		{Settings{Enabled: true, ToDate: &past}, false},
		{Settings{Enabled: true, ToDate: &now}, false}, // toDate is exclusive
	} {
		if got := c.s.Active(now); got != c.want {
			t.Errorf("%+v: Active %v, want %v", c.s, got, c.want)
		}
	}
}

func TestComposeHeaders(t *testing.T) {
	text := "I am away until Monday.\nBack soon."
	orig := header(t, "From: bob@remote.example\r\nTo: alice@example.com\r\nSubject: =?utf-8?q?R=C3=A9union?=\r\n"+
		"Message-ID: <2@remote.example>\r\nReferences: <1@remote.example>")
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	b := Compose(Settings{Enabled: true, TextBody: &text}, "alice@example.com", "bob@remote.example", orig, "mail.example.com", now)
	m, err := mail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	dec, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	for k, want := range map[string]string{
		"From": "<alice@example.com>", "To": "<bob@remote.example>", "Auto-Submitted": "auto-replied",
		"In-Reply-To": "<2@remote.example>", "References": "<1@remote.example> <2@remote.example>",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if dec != "Auto: Réunion" {
		t.Errorf("Subject decodes to %q, want %q", dec, "Auto: Réunion")
	}
	if !strings.HasSuffix(h.Get("Message-ID"), "@mail.example.com>") {
		t.Errorf("Message-ID %q", h.Get("Message-ID"))
	}
	if !strings.Contains(string(b), "I am away until Monday.\r\nBack soon.") {
		t.Errorf("body lost its text or CRLF line ends:\n%s", b)
	}
	html := "<p>Away &amp; offline</p>"
	b = Compose(Settings{Enabled: true, HTMLBody: &html}, "alice@example.com", "bob@remote.example", orig, "h", now)
	if !strings.Contains(string(b), "multipart/alternative") || !strings.Contains(string(b), "Away & offline") {
		t.Errorf("HTML-only settings: want multipart/alternative with a text part:\n%s", b)
	}
}
