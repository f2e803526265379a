//go:build e2e

package e2e

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// curl runs curl with the server's certificate as the only trust anchor.
func (s *server) curl(t *testing.T, user, pass, url string, extra ...string) result {
	t.Helper()
	bin := requireTool(t, "curl")
	args := append([]string{"--silent", "--show-error", "--max-time", "30",
		"--cacert", s.certFile(), "--user", user + ":" + pass}, extra...)
	return run(t, time.Minute, nil, "", bin, append(args, url)...)
}

func TestCurlPOP3S(t *testing.T) {
	requireTool(t, "curl")
	s := startWithUsers(t)
	m1 := message("carol@remote.example", alice, "curl pop one", "first\n")
	m2 := message("carol@remote.example", alice, "curl pop two", "second\n")
	s.mustSend(t, alice, m1)
	s.mustSend(t, alice, m2)
	base := "pop3s://127.0.0.1:" + s.port("pop3s") + "/"

	r := s.curl(t, alice, alicePass, base)
	if r.err != nil {
		t.Fatalf("curl LIST: %v\n%s", r.err, r)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(r.stdout, "\r\n", "\n")), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^1 \d+$`).MatchString(lines[0]) || !regexp.MustCompile(`^2 \d+$`).MatchString(lines[1]) {
		t.Errorf("curl pop3s LIST = %q, want two lines \"n size\"", lines)
	}

	r = s.curl(t, alice, alicePass, base+"2")
	if r.err != nil {
		t.Fatalf("curl RETR 2: %v\n%s", r.err, r)
	}
	if got := stripTrace([]byte(r.stdout)); !bytes.Equal(got, m2) {
		t.Errorf("curl pop3s RETR 2 differs:\n%s", diffBytes(m2, got))
	}

	r = s.curl(t, alice, "wrong password", base)
	if r.err == nil {
		t.Errorf("curl with a wrong password succeeded\n%s", r)
	}
}

func TestCurlIMAPS(t *testing.T) {
	requireTool(t, "curl")
	s := startWithUsers(t)
	m1 := message("carol@remote.example", alice, "curl imap one", "first\n")
	m2 := message("carol@remote.example", alice, "curl imap two", "second\n")
	s.mustSend(t, alice, m1)
	s.mustSend(t, alice, m2)
	base := "imaps://127.0.0.1:" + s.port("imaps") + "/"

	r := s.curl(t, alice, alicePass, base)
	if r.err != nil {
		t.Fatalf("curl imaps LIST: %v\n%s", r.err, r)
	}
	for _, mbox := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if !regexp.MustCompile(`(?m)^\* LIST \([^)]*\) (NIL|"/") "?` + mbox + `"?\r?$`).MatchString(r.stdout) {
			t.Errorf("curl imaps LIST lacks %s:\n%s", mbox, r.stdout)
		}
	}

	r = s.curl(t, alice, alicePass, base+"INBOX;UID=2")
	if r.err != nil {
		t.Fatalf("curl imaps FETCH UID 2: %v\n%s", r.err, r)
	}
	if got := stripTrace([]byte(r.stdout)); !bytes.Equal(got, m2) {
		t.Errorf("curl imaps FETCH differs:\n%s", diffBytes(m2, got))
	}

	r = s.curl(t, alice, alicePass, base+"INBOX", "--request", "SEARCH SUBJECT \"imap one\"")
	if r.err != nil {
		t.Fatalf("curl imaps SEARCH: %v\n%s", r.err, r)
	}
	if !regexp.MustCompile(`(?m)^\* SEARCH 1\r?$`).MatchString(r.stdout) {
		t.Errorf("curl imaps SEARCH = %q, want \"* SEARCH 1\"", r.stdout)
	}
}

// TestCurlSTARTTLS reaches the cleartext ports and upgrades with STARTTLS
// (IMAP, RFC 3501 §6.2.1) and STLS (POP3, RFC 2595) before logging in.
func TestCurlSTARTTLS(t *testing.T) {
	requireTool(t, "curl")
	s := startWithUsers(t)
	m := message("carol@remote.example", alice, "over starttls", "upgraded\n")
	s.mustSend(t, alice, m)

	r := s.curl(t, alice, alicePass, "imap://127.0.0.1:"+s.port("imap")+"/INBOX;UID=1", "--ssl-reqd")
	if r.err != nil {
		t.Fatalf("curl imap:// --ssl-reqd: %v\n%s", r.err, r)
	}
	if got := stripTrace([]byte(r.stdout)); !bytes.Equal(got, m) {
		t.Errorf("IMAP after STARTTLS differs:\n%s", diffBytes(m, got))
	}
	r = s.curl(t, alice, alicePass, "pop3://127.0.0.1:"+s.port("pop3")+"/1", "--ssl-reqd")
	if r.err != nil {
		t.Fatalf("curl pop3:// --ssl-reqd: %v\n%s", r.err, r)
	}
	if got := stripTrace([]byte(r.stdout)); !bytes.Equal(got, m) {
		t.Errorf("POP3 after STLS differs:\n%s", diffBytes(m, got))
	}
}
