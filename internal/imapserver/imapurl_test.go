package imapserver

import (
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
	if got := badURLText("/a]b\r\n"); got != "/ab" {
		t.Errorf("badURLText = %q", got)
	}
}
