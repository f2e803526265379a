package pop3server

import (
	"crypto/tls"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/testutil/seed"
)

// TestSeedPoplibExample runs the seed tutorial's Python poplib example
// (POP3_SSL, user, pass_, stat, retr, quit) against a POP3S listener.
func TestSeedPoplibExample(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	srvTLS, _ := testTLS(t)
	e := newEnv(t)
	e.deliver(alice, "From: Carol <carol@example.org>\r\nSubject: first\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nold\r\n")
	msg := "From: Dave <dave@example.org>\r\nSubject: Meeting Tomorrow\r\nDate: Tue, 2 Jan 2024 16:08:12 +0200\r\n\r\nSee you at 10.\r\n.hidden dot line\r\n"
	e.deliver(alice, msg)
	l, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(l)
	host, port, _ := net.SplitHostPort(l.Addr().String())
	code, err := seed.Script(seed.POP3, host, port, alice, alicePass)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", code).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib example failed: %v\n%s", err, out)
	}
	want := []string{
		"Messages in inbox: 2, Total size: ",
		"From: Dave <dave@example.org>",
		"Subject: Meeting Tomorrow",
		"Date: Tue, 2 Jan 2024 16:08:12 +0200",
		"Body: See you at 10.\n.hidden dot line",
	}
	for _, w := range want {
		if !strings.Contains(strings.ReplaceAll(string(out), "\r\n", "\n"), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if got := e.inbox(alice); len(got) != 2 {
		t.Errorf("inbox after poplib session: %v", got)
	}
}
