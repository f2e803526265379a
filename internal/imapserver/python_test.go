package imapserver_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/testutil/seed"
)

// TestPythonImaplibSeed runs the seed tutorial's imaplib example and its
// exercise 3 (a subject keyword search), changed only in host, port and
// credentials, against the server over implicit TLS.
func TestPythonImaplibSeed(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	h := newHarness(t)
	h.deliver("INBOX", "From: Carol <carol@example.org>\r\nSubject: other\r\n\r\nnothing\r\n")
	h.deliver("INBOX", msg1)
	host, port, _ := net.SplitHostPort(h.serveTLS())
	run := func(example string, args ...string) string {
		t.Helper()
		script, err := seed.Script(example, host, port, testUser, testPass)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, append([]string{"-c", script}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		return string(out)
	}
	out := run(seed.IMAP)
	for _, want := range []string{
		"Total messages in INBOX: 2",
		"From: Bob <bob@example.org>",
		"Subject: Hello there",
		"Body: Hi Alice,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("seed example output lacks %q:\n%s", want, out)
		}
	}
	out = run(seed.IMAPSearch, "hello")
	if !strings.Contains(out, "Matches: 1") || !strings.Contains(out, "Subject: Hello there") || strings.Contains(out, "Subject: other") {
		t.Errorf("subject search output:\n%s", out)
	}
}
