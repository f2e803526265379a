//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// countFiles counts regular files in dir (missing dir: 0).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Type().IsRegular() {
			n++
		}
	}
	return n
}

// readSubjects returns the sorted Subject values of the messages in dir.
func readSubjects(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var subj []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
			if l == "" {
				break
			}
			if v, ok := strings.CutPrefix(l, "Subject: "); ok {
				subj = append(subj, v)
			}
		}
	}
	sort.Strings(subj)
	return subj
}

// fetchmailRun is one fetchmail configuration: protocol POP3 or IMAP over
// implicit TLS, keep or not, delivering each message to its own file.
type fetchmailRun struct {
	s          *server
	home, rc   string
	out        string
	bin        string
	user, pass string
}

func newFetchmail(t *testing.T, s *server, protocol, service string, keep bool, user, pass string) *fetchmailRun {
	bin := requireTool(t, "fetchmail")
	home := t.TempDir()
	out := filepath.Join(home, "delivered")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	mda := filepath.Join(home, "mda.sh")
	writeFile(t, mda, "#!/bin/sh\nexec cat > \"$(mktemp "+out+"/msg.XXXXXX)\"\n", 0o700)
	keepWord := "nokeep"
	if keep {
		keepWord = "keep"
	}
	rc := filepath.Join(home, "fetchmailrc")
	writeFile(t, rc, fmt.Sprintf(`set no bouncemail
set no syslog
set postmaster "root"
poll localhost via 127.0.0.1 service %s protocol %s uidl
  user "%s" there with password "%s" is root here
  ssl sslcertck sslcertfile "%s" sslcommonname "localhost"
  %s
  mda "%s"
`, s.port(service), protocol, user, pass, s.certFile(), keepWord, mda), 0o600)
	return &fetchmailRun{s: s, home: home, rc: rc, out: out, bin: bin, user: user, pass: pass}
}

// run runs fetchmail once and returns its exit code (0: fetched mail,
// 1: nothing new, other: failure).
func (f *fetchmailRun) run(t *testing.T) (int, result) {
	t.Helper()
	env := []string{"HOME=" + f.home, "FETCHMAILHOME=" + f.home}
	r := run(t, 2*time.Minute, env, "", f.bin, "--nodetach", "--nosyslog", "-v",
		"-f", f.rc, "-i", filepath.Join(f.home, "fetchids"), "--pidfile", filepath.Join(f.home, "pid"))
	var ee *exec.ExitError
	if r.err == nil {
		return 0, r
	}
	if errors.As(r.err, &ee) {
		return ee.ExitCode(), r
	}
	t.Fatalf("fetchmail: %v\n%s", r.err, r)
	return -1, r
}

func (f *fetchmailRun) expect(t *testing.T, wantCode, wantFiles int, what string) {
	t.Helper()
	code, r := f.run(t)
	if code != wantCode {
		t.Fatalf("%s: fetchmail exit %d, want %d\n%s", what, code, wantCode, r)
	}
	if n := countFiles(t, f.out); n != wantFiles {
		t.Fatalf("%s: %d messages delivered locally, want %d\n%s", what, n, wantFiles, r)
	}
}

func (s *server) sendN(t *testing.T, to, prefix string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		s.mustSend(t, to, message("carol@remote.example", to, fmt.Sprintf("%s %d", prefix, i), "body\n"))
	}
}

func (s *server) pop3Count(t *testing.T, user, pass string) int {
	t.Helper()
	p := s.dialPOP3S(t, user, pass)
	n := p.stat()
	p.quit()
	return n
}

func TestFetchmailPOP3S(t *testing.T) {
	s := startWithUsers(t)
	t.Run("keep", func(t *testing.T) {
		s.sendN(t, alice, "fetchmail keep", 2)
		f := newFetchmail(t, s, "POP3", "pop3s", true, alice, alicePass)
		f.expect(t, 0, 2, "first run")
		f.expect(t, 1, 2, "second run (nothing new)")
		s.sendN(t, alice, "fetchmail keep later", 1)
		f.expect(t, 0, 3, "third run (one new)")
		if n := s.pop3Count(t, alice, alicePass); n != 3 {
			t.Errorf("keep mode left %d messages on the server, want 3", n)
		}
		if got := readSubjects(t, f.out); strings.Join(got, "|") != "fetchmail keep 1|fetchmail keep 2|fetchmail keep later 1" {
			t.Errorf("fetched subjects %q", got)
		}
	})
	t.Run("nokeep", func(t *testing.T) {
		s.sendN(t, bob, "fetchmail nokeep", 2)
		f := newFetchmail(t, s, "POP3", "pop3s", false, bob, bobPass)
		f.expect(t, 0, 2, "first run")
		if n := s.pop3Count(t, bob, bobPass); n != 0 {
			t.Errorf("nokeep left %d messages on the server", n)
		}
		f.expect(t, 1, 2, "second run (nothing new)")
	})
}

func TestFetchmailIMAPS(t *testing.T) {
	s := startWithUsers(t)
	t.Run("keep", func(t *testing.T) {
		s.sendN(t, alice, "fetchmail imap keep", 2)
		f := newFetchmail(t, s, "IMAP", "imaps", true, alice, alicePass)
		f.expect(t, 0, 2, "first run")
		f.expect(t, 1, 2, "second run (nothing new)")
		if n := s.pop3Count(t, alice, alicePass); n != 2 {
			t.Errorf("keep mode left %d messages on the server, want 2", n)
		}
	})
	t.Run("nokeep", func(t *testing.T) {
		s.sendN(t, bob, "fetchmail imap nokeep", 3)
		f := newFetchmail(t, s, "IMAP", "imaps", false, bob, bobPass)
		f.expect(t, 0, 3, "first run")
		if n := s.pop3Count(t, bob, bobPass); n != 0 {
			t.Errorf("nokeep left %d messages on the server", n)
		}
		f.expect(t, 1, 3, "second run (nothing new)")
	})
}

// getmailRun is one getmail6 configuration delivering each message to its
// own file through an external MDA (getmail refuses Maildir delivery as
// root, which CI is).
type getmailRun struct {
	bin, dir, rc, out string
}

func newGetmail(t *testing.T, s *server, retriever, service string, keep bool, user, pass string) *getmailRun {
	bin := requireTool(t, "getmail")
	dir := t.TempDir()
	out := filepath.Join(dir, "delivered")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	mda := filepath.Join(dir, "mda.sh")
	writeFile(t, mda, "#!/bin/sh\nexec cat > \"$(mktemp "+out+"/msg.XXXXXX)\"\n", 0o700)
	extra := ""
	if strings.Contains(retriever, "IMAP") {
		extra = "mailboxes = (\"INBOX\",)\n"
	}
	rc := filepath.Join(dir, "getmailrc")
	writeFile(t, rc, fmt.Sprintf(`[retriever]
type = %s
server = 127.0.0.1
port = %s
username = %s
password = %s
ca_certs = %s
ssl_cert_hostname = localhost
%s
[destination]
type = MDA_external
path = %s
allow_root_commands = true

[options]
verbose = 2
read_all = false
delete = %t
`, retriever, s.port(service), user, pass, s.certFile(), extra, mda, !keep), 0o600)
	return &getmailRun{bin: bin, dir: dir, rc: rc, out: out}
}

func (g *getmailRun) expect(t *testing.T, wantDelivered int, what string) {
	t.Helper()
	r := run(t, 2*time.Minute, []string{"HOME=" + g.dir}, "", g.bin, "--getmaildir", g.dir, "--rcfile", g.rc)
	if r.err != nil {
		t.Fatalf("%s: getmail: %v\n%s", what, r.err, r)
	}
	if n := countFiles(t, g.out); n != wantDelivered {
		t.Fatalf("%s: %d messages delivered locally, want %d\n%s", what, n, wantDelivered, r)
	}
}

func TestGetmailPOP3S(t *testing.T) {
	s := startWithUsers(t)
	t.Run("keep", func(t *testing.T) {
		s.sendN(t, alice, "getmail keep", 2)
		g := newGetmail(t, s, "SimplePOP3SSLRetriever", "pop3s", true, alice, alicePass)
		g.expect(t, 2, "first run")
		g.expect(t, 2, "second run (nothing new)")
		s.sendN(t, alice, "getmail keep later", 1)
		g.expect(t, 3, "third run (one new)")
		if n := s.pop3Count(t, alice, alicePass); n != 3 {
			t.Errorf("keep left %d messages on the server, want 3", n)
		}
	})
	t.Run("nokeep", func(t *testing.T) {
		s.sendN(t, bob, "getmail nokeep", 2)
		g := newGetmail(t, s, "SimplePOP3SSLRetriever", "pop3s", false, bob, bobPass)
		g.expect(t, 2, "first run")
		if n := s.pop3Count(t, bob, bobPass); n != 0 {
			t.Errorf("delete=true left %d messages on the server", n)
		}
		g.expect(t, 2, "second run (nothing new)")
	})
}

func TestGetmailIMAPS(t *testing.T) {
	s := startWithUsers(t)
	t.Run("keep", func(t *testing.T) {
		s.sendN(t, alice, "getmail imap keep", 2)
		g := newGetmail(t, s, "SimpleIMAPSSLRetriever", "imaps", true, alice, alicePass)
		g.expect(t, 2, "first run")
		g.expect(t, 2, "second run (nothing new)")
		s.sendN(t, alice, "getmail imap later", 1)
		g.expect(t, 3, "third run (one new)")
	})
	t.Run("nokeep", func(t *testing.T) {
		s.sendN(t, bob, "getmail imap nokeep", 2)
		g := newGetmail(t, s, "SimpleIMAPSSLRetriever", "imaps", false, bob, bobPass)
		g.expect(t, 2, "first run")
		if n := s.pop3Count(t, bob, bobPass); n != 0 {
			t.Errorf("delete=true left %d messages on the server", n)
		}
		g.expect(t, 2, "second run (nothing new)")
	})
}
