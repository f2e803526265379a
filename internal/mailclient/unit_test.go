package mailclient

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Config
		err  string
	}{
		{"imaps://alice@mail.example.com", Config{Protocol: IMAP, Security: ImplicitTLS, Addr: "mail.example.com:993", User: "alice"}, ""},
		{"imap://mail.example.com", Config{Protocol: IMAP, Security: StartTLS, Addr: "mail.example.com:143"}, ""},
		{"imap://127.0.0.1:1143?tls=none", Config{Protocol: IMAP, Security: Plaintext, Addr: "127.0.0.1:1143"}, ""},
		{"pop3s://bob%40example.com:pw@[::1]:9995", Config{Protocol: POP3, Security: ImplicitTLS, Addr: "[::1]:9995", User: "bob@example.com", Password: "pw"}, ""},
		{"pop3://h", Config{Protocol: POP3, Security: StartTLS, Addr: "h:110"}, ""},
		{"POP://h?tls=implicit", Config{Protocol: POP3, Security: ImplicitTLS, Addr: "h:110"}, ""},
		{"pops://h", Config{Protocol: POP3, Security: ImplicitTLS, Addr: "h:995"}, ""},
		{"http://h", Config{}, "unknown scheme"},
		{"mail.example.com", Config{}, "want imaps://"},
		{"imaps://", Config{}, "no host"},
		{"imap://h?tls=maybe", Config{}, "unknown TLS mode"},
		{"imap://h/INBOX", Config{}, "path"},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestFlagLetters(t *testing.T) {
	tests := []struct {
		flags []string
		want  string
	}{
		{nil, ""},
		{[]string{`\Seen`}, "S"},
		{[]string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`, `\Deleted`, `$Forwarded`}, "DFPRST"},
		{[]string{`\seen`, `\SEEN`, `$Junk`, `\Recent`}, "S"},
	}
	for _, tt := range tests {
		if got := FlagLetters(tt.flags); got != tt.want {
			t.Errorf("FlagLetters(%q) = %q, want %q", tt.flags, got, tt.want)
		}
	}
}

func TestLFWriter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\r\nb\r\n", "a\nb\n"},
		{"lone\rcr\r", "lone\rcr\r"},
		{"\r\r\n", "\r\n"},
		{"", ""},
	}
	for _, tt := range tests {
		// Byte by byte, so a CR at a write boundary is handled too.
		var buf bytes.Buffer
		w := &lfWriter{w: bufio.NewWriter(&buf)}
		for i := range len(tt.in) {
			w.Write([]byte{tt.in[i]})
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want || w.n != int64(len(tt.want)) {
			t.Errorf("lfWriter(%q) = %q (n=%d), want %q", tt.in, buf.String(), w.n, tt.want)
		}
	}
}

func TestMaildirUniqueNames(t *testing.T) {
	md, err := openMaildir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 1000 {
		n := md.uniqueName()
		if seen[n] || strings.ContainsAny(n, "/:") {
			t.Fatalf("name %q repeated or has / or :", n)
		}
		seen[n] = true
	}
}

func TestSummaryFromHeader(t *testing.T) {
	var s Summary
	summaryFromHeader(strings.NewReader("Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nFrom: \"Dörte\" <d@example.com>\r\nDate: junk\r\n\r\n"), &s)
	if s.Subject != "Grüße" || s.From != "Dörte <d@example.com>" || !s.Date.IsZero() {
		t.Fatalf("%+v", s)
	}
	var broken Summary
	summaryFromHeader(strings.NewReader("no colon here\r\n\r\n"), &broken) // must not panic
}
