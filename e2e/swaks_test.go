//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// swaks runs swaks against the server and returns its transcript.
func swaks(t *testing.T, args ...string) result {
	t.Helper()
	bin := requireTool(t, "swaks")
	return run(t, time.Minute, nil, "", bin, append([]string{"--server", "127.0.0.1", "--timeout", "30"}, args...)...)
}

// inboxSubjects lists INBOX subjects of a user over IMAPS.
func (s *server) inboxSubjects(t *testing.T, user, pass string) []string {
	t.Helper()
	c := s.dialIMAPS(t, user, pass)
	var subj []string
	for _, m := range fetchAll(t, c, "INBOX") {
		subj = append(subj, m.subj)
	}
	c.Logout().Wait()
	return subj
}

func wantSubjects(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s INBOX subjects = %q, want %q", who, got, want)
	}
}

func TestSwaksSMTPMultipleRecipients(t *testing.T) {
	requireTool(t, "swaks")
	s := startWithUsers(t)
	r := swaks(t, "--port", s.port("smtp"), "--from", "carol@remote.example",
		"--to", alice+","+bob, "--header", "Subject: for both of you")
	if r.err != nil {
		t.Fatalf("swaks: %v\n%s", r.err, r)
	}
	if !strings.Contains(r.stdout, "<-  250") {
		t.Errorf("no 250 in transcript\n%s", r)
	}
	wantSubjects(t, "alice", s.inboxSubjects(t, alice, alicePass), "for both of you")
	wantSubjects(t, "bob", s.inboxSubjects(t, bob, bobPass), "for both of you")
}

func TestSwaksSMTPUnknownRecipient(t *testing.T) {
	requireTool(t, "swaks")
	s := startWithUsers(t)
	r := swaks(t, "--port", s.port("smtp"), "--from", "carol@remote.example",
		"--to", "nobody@example.com", "--header", "Subject: lost")
	if r.err == nil {
		t.Fatalf("swaks succeeded for an unknown recipient\n%s", r)
	}
	if !strings.Contains(r.stdout, "<** 550") {
		t.Errorf("unknown recipient did not get 550\n%s", r)
	}
	// No open relay: a remote recipient without AUTH is refused too.
	r = swaks(t, "--port", s.port("smtp"), "--from", "carol@remote.example",
		"--to", "someone@elsewhere.example", "--header", "Subject: relay me")
	if r.err == nil || !strings.Contains(r.stdout, "<** 5") {
		t.Errorf("relay to a remote domain was not refused with 5xx\n%s", r)
	}
	wantSubjects(t, "alice", s.inboxSubjects(t, alice, alicePass))
}

func TestSwaksLMTP(t *testing.T) {
	requireTool(t, "swaks")
	s := startWithUsers(t)
	r := swaks(t, "--protocol", "LMTP", "--port", s.port("lmtp"), "--from", "carol@remote.example",
		"--to", alice+","+bob, "--header", "Subject: lmtp delivery")
	if r.err != nil {
		t.Fatalf("swaks LMTP: %v\n%s", r.err, r)
	}
	// LMTP answers DATA once per recipient (RFC 2033 §4.2).
	after := r.stdout[strings.LastIndex(r.stdout, " -> .")+1:]
	if n := strings.Count(after, "<-  250"); n < 2 {
		t.Errorf("want one 250 per recipient after DATA, got %d\n%s", n, r)
	}
	wantSubjects(t, "alice", s.inboxSubjects(t, alice, alicePass), "lmtp delivery")
	wantSubjects(t, "bob", s.inboxSubjects(t, bob, bobPass), "lmtp delivery")

	// An unknown recipient is refused at RCPT; the known one still gets it.
	r = swaks(t, "--protocol", "LMTP", "--port", s.port("lmtp"), "--from", "carol@remote.example",
		"--to", "nobody@example.com", "--header", "Subject: nobody")
	if r.err == nil || !strings.Contains(r.stdout, "<** 550") {
		t.Errorf("LMTP unknown recipient did not get 550\n%s", r)
	}
}

func TestSwaksSubmissionSTARTTLSAuth(t *testing.T) {
	requireTool(t, "swaks")
	s := startWithUsers(t)
	// AUTH before STARTTLS must not succeed on the submission port.
	r := swaks(t, "--port", s.port("submission"), "--from", alice, "--to", bob,
		"--auth", "PLAIN", "--auth-user", alice, "--auth-password", alicePass, "--header", "Subject: cleartext")
	if r.err == nil {
		t.Errorf("AUTH without STARTTLS succeeded on submission\n%s", r)
	}
	r = swaks(t, "--port", s.port("submission"), "--tls", "--from", alice, "--to", bob,
		"--auth", "PLAIN", "--auth-user", alice, "--auth-password", alicePass, "--header", "Subject: submitted with starttls")
	if r.err != nil {
		t.Fatalf("swaks submission STARTTLS AUTH: %v\n%s", r.err, r)
	}
	if !strings.Contains(r.stdout, "<~  235") {
		t.Errorf("no 235 after AUTH inside TLS\n%s", r)
	}
	r = swaks(t, "--port", s.port("submission"), "--tls", "--from", alice, "--to", bob,
		"--auth", "PLAIN", "--auth-user", alice, "--auth-password", "wrong password", "--header", "Subject: bad password")
	if r.err == nil || !strings.Contains(r.stdout, "<~* 535") {
		t.Errorf("wrong password was not refused with 535\n%s", r)
	}
	// Implicit TLS on the submissions port (RFC 8314).
	r = swaks(t, "--port", s.port("submissions"), "--tls-on-connect", "--from", alice, "--to", bob,
		"--auth", "PLAIN", "--auth-user", alice, "--auth-password", alicePass, "--header", "Subject: submitted over implicit tls")
	if r.err != nil {
		t.Fatalf("swaks submissions: %v\n%s", r.err, r)
	}
	wantSubjects(t, "bob", s.inboxSubjects(t, bob, bobPass), "submitted with starttls", "submitted over implicit tls")
}

// TestSwaksByteExact sends a file with swaks and compares it with POP3 RETR
// and IMAP BODY[] (apart from the trace header fields the server adds).
func TestSwaksByteExact(t *testing.T) {
	requireTool(t, "swaks")
	s := startWithUsers(t)
	msg := message("carol@remote.example", alice, "exact via swaks", "line one\n.leading dot\n..two dots\ntrailing space \n\ttab\nlast")
	// swaks ends the data with CRLF "." CRLF after the file's last byte, so
	// the file leaves out the final CRLF for the wire to carry msg exactly;
	// swaks dot-stuffs the lines that start with ".".
	file := filepath.Join(t.TempDir(), "msg.eml")
	writeFile(t, file, strings.TrimSuffix(string(msg), "\r\n"), 0o600)
	r := swaks(t, "--port", s.port("smtp"), "--from", "carol@remote.example", "--to", alice, "--data", "@"+file)
	if r.err != nil {
		t.Fatalf("swaks: %v\n%s", r.err, r)
	}
	s.checkStoredExactly(t, alice, alicePass, [][]byte{msg})
}
