package imapserver

import (
	"strings"
	"testing"
	"time"
)

// TestParseIMAPURL: the RFC 5092 forms CATENATE and URLAUTH use, the
// URLAUTH rump (RFC 4467 §3), and refusals.
func TestParseIMAPURL(t *testing.T) {
	u, err := parseIMAPURL("/Sent%20Items;UIDVALIDITY=42/;UID=7/;SECTION=1.2.MIME/;PARTIAL=10.20")
	if err != nil {
		t.Fatal(err)
	}
	if u.absolute || u.mailbox != "Sent Items" || u.uidValidity != 42 || u.uid != 7 ||
		u.section == nil || len(u.section.Part) != 2 || u.section.Specifier != "MIME" ||
		u.partial == nil || u.partial.Offset != 10 || u.partial.Count != 20 || u.access != "" {
		t.Fatalf("relative: %+v", u)
	}
	raw := "imap://alice%40example.com;AUTH=*@imap.test:143/INBOX/;uid=3/;section=HEADER.FIELDS%20(SUBJECT%20FROM);EXPIRE=2030-01-02T03:04:05Z;URLAUTH=user+bob%40example.com:INTERNAL:0123456789abcdef0123456789abcdef"
	u, err = parseIMAPURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	wantRump := "imap://alice%40example.com;AUTH=*@imap.test:143/INBOX/;uid=3/;section=HEADER.FIELDS%20(SUBJECT%20FROM);EXPIRE=2030-01-02T03:04:05Z;URLAUTH=user+bob%40example.com"
	if !u.absolute || u.user != "alice@example.com" || u.mailbox != "INBOX" || u.uid != 3 ||
		u.section.Specifier != "HEADER.FIELDS" || len(u.section.Fields) != 2 ||
		!u.expire.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		u.access != "user+bob%40example.com" || u.rump != wantRump || u.mech != "INTERNAL" || u.token != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("absolute: %+v", u)
	}
	u, err = parseIMAPURL("imap://a@h/INBOX/;UID=1/;PARTIAL=5;URLAUTH=anonymous")
	if err != nil || u.partial.Offset != 5 || u.partial.Count <= 1<<40 || u.mech != "" || u.rump != "imap://a@h/INBOX/;UID=1/;PARTIAL=5;URLAUTH=anonymous" {
		t.Fatalf("rump without verifier: %+v %v", u, err)
	}
	for _, bad := range []string{
		"", "INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0", "/INBOX/;UID=x", "/;UID=1",
		"/INBOX;UIDVALIDITY=0/;UID=1", "/INBOX/;UID=1/;SECTION=FOO", "/INBOX/;UID=1/;SECTION=1]",
		"/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/x", "imap://h/INBOX/;UID=1", "imap://a@h",
		"imap://a@h/INBOX/;UID=1;URLAUTH=nobody", "imap://a@h/INBOX/;UID=1;URLAUTH=user+",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:INTERNAL:00", "imap://a@h/INBOX/;UID=1;EXPIRE=soon;URLAUTH=authuser",
		"/IN%ZZBOX/;UID=1", "http://a@h/INBOX/;UID=1",
	} {
		if u, err := parseIMAPURL(bad); err == nil {
			t.Errorf("%q parsed: %+v", bad, u)
		}
	}
	// Non-ASCII that changes length when lower-cased must not shift offsets.
	u, err = parseIMAPURL("/\u0130\u0130\u0130x/;UID=4")
	if err != nil || u.mailbox != "\u0130\u0130\u0130x" || u.uid != 4 {
		t.Errorf("non-ASCII mailbox: %+v %v", u, err)
	}
	if got := badURLText("/a]b\r\n"); got != "/ab" {
		t.Errorf("badURLText = %q", got)
	}
}

// FuzzParseIMAPURL: no input panics; a URLAUTH rump is a prefix of the URL
// that ends with its access identifier.
func FuzzParseIMAPURL(f *testing.F) {
	for _, s := range []string{
		"/INBOX;UIDVALIDITY=1/;UID=2/;SECTION=1.2.MIME/;PARTIAL=0.5",
		"imap://a%40b@h/INBOX/;UID=1;EXPIRE=2030-01-02T03:04:05Z;URLAUTH=user+x:INTERNAL:0123456789abcdef0123456789abcdef",
		"/\u0130/;uid=1/;section=HEADER.FIELDS%20(A)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseIMAPURL(s)
		if err != nil || u.access == "" {
			return
		}
		if len(u.rump) > len(s) || s[:len(u.rump)] != u.rump || !strings.HasSuffix(strings.ToLower(u.rump), u.access) {
			t.Fatalf("rump %q of %q (access %q)", u.rump, s, u.access)
		}
	})
}
