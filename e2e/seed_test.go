//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/seed"
)

// seedScript returns a seed example with only host, port and credentials
// changed.
func seedScript(t *testing.T, example, host string, port string, user, pass string) string {
	t.Helper()
	code, err := seed.Script(example, host, port, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// pythonTLSEnv makes Python's default SSL context trust the server's
// self-signed certificate, so the seed code runs unchanged (it uses
// POP3_SSL/IMAP4_SSL with the default, verifying context).
func (s *server) pythonTLSEnv() []string {
	return []string{"SSL_CERT_FILE=" + s.certFile(), "PYTHONIOENCODING=utf-8"}
}

func TestSeedPOP3(t *testing.T) {
	py := requireTool(t, "python3")
	s := startWithUsers(t)
	s.mustSend(t, alice, message("Carol <carol@remote.example>", alice, "First note", "Not the latest one.\n"))
	s.mustSend(t, alice, message("Dave <dave@remote.example>", alice, "Meeting Tomorrow", "See you at ten.\nBring the slides.\n"))
	script := seedScript(t, seed.POP3, "127.0.0.1", s.port("pop3s"), alice, alicePass)
	r := mustRun(t, time.Minute, s.pythonTLSEnv(), "", py, "-c", script)
	for _, want := range []string{
		"Messages in inbox: 2, Total size: ",
		"From: Dave <dave@remote.example>",
		"Subject: Meeting Tomorrow",
		"Date: Thu, 14 Mar 2024 15:09:26 +0000",
		"Body: See you at ten.",
		"Bring the slides.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("seed POP3 output lacks %q\n%s", want, r)
		}
	}
}

func TestSeedIMAP(t *testing.T) {
	py := requireTool(t, "python3")
	s := startWithUsers(t)
	s.mustSend(t, alice, message("Carol <carol@remote.example>", alice, "First note", "Not the latest one.\n"))
	s.mustSend(t, alice, message("Dave <dave@remote.example>", alice, "Meeting Tomorrow", "See you at ten.\n"))
	script := seedScript(t, seed.IMAP, "127.0.0.1", s.port("imaps"), alice, alicePass)
	r := mustRun(t, time.Minute, s.pythonTLSEnv(), "", py, "-c", script)
	for _, want := range []string{
		"Total messages in INBOX: 2",
		"From: Dave <dave@remote.example>",
		"Subject: Meeting Tomorrow",
		"Date: Thu, 14 Mar 2024 15:09:26 +0000",
		"Body: See you at ten.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("seed IMAP output lacks %q\n%s", want, r)
		}
	}
}

// TestSeedIMAPSubjectSearch is the seed's exercise 3: search by a keyword in
// the subject line.
func TestSeedIMAPSubjectSearch(t *testing.T) {
	py := requireTool(t, "python3")
	s := startWithUsers(t)
	for _, subj := range []string{"Quarterly report Q1", "Lunch on Friday", "Re: quarterly REPORT draft", "Holiday photos"} {
		s.mustSend(t, alice, message("carol@remote.example", alice, subj, "Body of "+subj+".\n"))
	}
	script := seedScript(t, seed.IMAPSearch, "127.0.0.1", s.port("imaps"), alice, alicePass)
	r := mustRun(t, time.Minute, s.pythonTLSEnv(), "", py, "-c", script, "quarterly")
	for _, want := range []string{"Matches: 2", "Subject: Quarterly report Q1", "Subject: Re: quarterly REPORT draft"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("search output lacks %q\n%s", want, r)
		}
	}
	for _, unwanted := range []string{"Lunch", "Holiday"} {
		if strings.Contains(r.stdout, unwanted) {
			t.Errorf("search matched %q\n%s", unwanted, r)
		}
	}
}
