package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// result of one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// letterbox runs the command in-process with stdin and extra environment
// (LETTERBOX_TEST_CHEAP_HASH=1 always, so hashing is cheap).
func letterbox(t *testing.T, stdin string, environ map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		ctx:    context.Background(),
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string {
			if k == cheapHashEnv {
				return "1"
			}
			return environ[k]
		},
	}
	code := run(e, args)
	return result{code, out.String(), errb.String()}
}

func (r result) want(t *testing.T, code int, stdoutRe string) {
	t.Helper()
	if r.code != code || !regexp.MustCompile(stdoutRe).MatchString(r.stdout) {
		t.Fatalf("exit %d (want %d), stdout %q (want /%s/), stderr %q", r.code, code, r.stdout, stdoutRe, r.stderr)
	}
}

func accountHash(t *testing.T, dir, name string) string {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.PasswordHash
}

func TestUserVerbs(t *testing.T) {
	dir := t.TempDir()
	data := "--data=" + dir

	letterbox(t, "", nil, "user", "list", data).want(t, 0, `^$`)
	letterbox(t, "s3cret\n", nil, "user", "add", data, "Alice@Example.COM").want(t, 0, `account alice@example.com created`)
	// Flags after the name, and a password without a final newline.
	letterbox(t, "bobpw", nil, "user", "add", "bob@example.org", "--data", dir).want(t, 0, `account bob@example.org created`)
	letterbox(t, "", nil, "user", "list", data).want(t, 0, `^alice@example.com\nbob@example.org\n$`)

	h := accountHash(t, dir, "alice@example.com")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q: want argon2id with cheap test parameters", h)
	}
	if ok, err := auth.VerifyPassword(h, "s3cret"); !ok || err != nil {
		t.Fatalf("stored hash does not verify the password: %v %v", ok, err)
	}
	if ok, _ := auth.VerifyPassword(accountHash(t, dir, "bob@example.org"), "bobpw"); !ok {
		t.Fatal("bob's password (no trailing newline) not stored")
	}

	r := letterbox(t, "other\n", nil, "user", "add", data, "alice@example.com")
	r.want(t, 1, `^$`)
	if !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("stderr %q", r.stderr)
	}

	letterbox(t, "n3w\r\n", nil, "user", "passwd", data, "ALICE@example.com").want(t, 0, `password of alice@example.com changed`)
	h2 := accountHash(t, dir, "alice@example.com")
	if ok, _ := auth.VerifyPassword(h2, "n3w"); !ok {
		t.Fatal("new password does not verify")
	}
	if ok, _ := auth.VerifyPassword(h2, "s3cret"); ok {
		t.Fatal("old password still verifies")
	}

	letterbox(t, "", nil, "user", "del", data, "bob@example.org").want(t, 0, `account bob@example.org deleted`)
	letterbox(t, "", nil, "user", "list", data).want(t, 0, `^alice@example.com\n$`)
	letterbox(t, "", nil, "user", "del", data, "bob@example.org").want(t, 1, `^$`)
	letterbox(t, "x\n", nil, "user", "passwd", data, "nobody@example.org").want(t, 1, `^$`)
}

func TestUserVerbErrors(t *testing.T) {
	data := "--data=" + t.TempDir()
	tests := []struct {
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"pw\n", []string{"user", "add", data, "alice"}, 2, "not a mail address"},
		{"pw\n", []string{"user", "add", data, "al ice@example.com"}, 2, "contains"},
		{"pw\n", []string{"user", "add", data, "alice@-bad.example"}, 2, "bad domain"},
		{"\n", []string{"user", "add", data, "alice@example.com"}, 1, "empty password"},
		{"", []string{"user", "add", data, "alice@example.com"}, 1, "empty password"},
		{"pw\n", []string{"user", "add", data}, 2, "want 1 argument"},
		{"pw\n", []string{"user", "add", data, "a@example.com", "b@example.com"}, 2, "want 1 argument"},
		{"", []string{"user", "list", data, "extra"}, 2, "want 0 argument"},
		{"", []string{"user"}, 2, "missing subcommand"},
		{"", []string{"user", "rename"}, 2, "unknown command"},
		{"", []string{"frobnicate"}, 2, "unknown command"},
		{"", []string{}, 2, "usage"},
		{"", []string{"user", "list", "--bogus"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		r := letterbox(t, tc.stdin, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("letterbox %q: exit %d (want %d), stderr %q (want %q)", tc.args, r.code, tc.code, r.stderr, tc.stderr)
		}
	}
}

// Every verb finds the data directory the same way: --data, then
// $LETTERBOX_DATA, then the config's data_dir, then ./letterbox-data.
func TestDataDirResolution(t *testing.T) {
	envDir := t.TempDir()
	environ := map[string]string{"LETTERBOX_DATA": envDir}
	letterbox(t, "pw\n", environ, "user", "add", "env@example.com").want(t, 0, `created`)
	letterbox(t, "", environ, "user", "list").want(t, 0, `^env@example.com\n$`)
	// --data wins over the environment, also before the verb.
	flagDir := t.TempDir()
	letterbox(t, "", environ, "--data", flagDir, "user", "list").want(t, 0, `^$`)

	// A config file in the data directory is found and validated.
	if err := os.WriteFile(filepath.Join(envDir, "letterbox.toml"), []byte("[log]\nlevel = \"loud\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := letterbox(t, "", environ, "user", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "log.level") {
		t.Fatalf("bad config not reported: %+v", r)
	}
	// --config with data_dir, no --data and no environment: data_dir is used.
	cfgDir := t.TempDir()
	cfgFile := filepath.Join(cfgDir, "lb.toml")
	if err := os.WriteFile(cfgFile, []byte("data_dir = \""+envDir+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	letterbox(t, "", nil, "user", "list", "--config", cfgFile).want(t, 0, `^env@example.com\n$`)
	letterbox(t, "", nil, "config", "check", "--config", cfgFile).want(t, 0, `lb.toml: ok; data in `+regexp.QuoteMeta(envDir))
}

func TestConfigDefaultsAndVersion(t *testing.T) {
	r := letterbox(t, "", nil, "config", "defaults")
	if r.code != 0 || r.stdout != config.DefaultsTOML() {
		t.Fatalf("config defaults: exit %d, stdout differs from DefaultsTOML: %q", r.code, r.stderr)
	}
	letterbox(t, "", nil, "version").want(t, 0, `^letterbox \S+ \(go`)
	letterbox(t, "", nil, "--help").want(t, 0, `user add NAME`)
}

// syncBuffer is a bytes.Buffer safe to read while serve writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve starts, listens where the config says (ephemeral ports here),
// prints the addresses and how to add a user, speaks each protocol, and
// stops on cancel.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	letterbox(t, "pw\n", nil, "user", "add", "--data", dir, "alice@example.com").want(t, 0, `created`)
	cfg := `
hostname = "mail.example.com"
[listen]
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
lmtp = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
jmap = "127.0.0.1:0"
[auth]
failure_delay = "1ms"
max_failure_delay = "1ms"
`
	if err := os.WriteFile(filepath.Join(dir, "letterbox.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(&env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string {
				if k == cheapHashEnv {
					return "1"
				}
				return ""
			}}, []string{"serve", "--data", dir})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "add a user with: letterbox user add --data "+dir+" alice@example.com") {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s%s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	addrs := map[string]string{}
	for _, m := range regexp.MustCompile(`listening: (\S+) +(\S+)`).FindAllStringSubmatch(out.String(), -1) {
		addrs[m[1]] = m[2]
	}
	for _, k := range []string{"smtp", "submission", "submissions", "lmtp", "pop3", "pop3s", "imap", "imaps", "jmap"} {
		if addrs[k] == "" {
			t.Fatalf("no %s listener in banner %q", k, out.String())
		}
	}
	if !strings.Contains(out.String(), "SHA-256 fingerprint") {
		t.Fatalf("banner lacks the certificate fingerprint: %q", out.String())
	}

	expectLine := func(r *bufio.Reader, prefix string) string {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Fatalf("got %q, %v; want %q...", line, err, prefix)
		}
		return line
	}
	dial := func(key string) (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.DialTimeout("tcp", addrs[key], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if strings.HasSuffix(key, "s") && key != "smtps" {
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.com"})
			if err := tc.Handshake(); err != nil {
				t.Fatalf("%s: TLS handshake: %v", key, err)
			}
			if got := tc.ConnectionState().PeerCertificates[0].DNSNames; got[0] != "mail.example.com" {
				t.Fatalf("%s: certificate names %v", key, got)
			}
			c = tc
		}
		return c, bufio.NewReader(c)
	}

	// SMTP delivers to alice, LMTP too; POP3S (the seed's path) reads both.
	for _, key := range []string{"smtp", "lmtp"} {
		c, r := dial(key)
		expectLine(r, "220 ")
		hello := "EHLO"
		if key == "lmtp" {
			hello = "LHLO"
		}
		for _, step := range []struct{ send, want string }{
			{hello + " client.example\r\n", "250"},
			{"MAIL FROM:<bob@remote.example>\r\n", "250 "},
			{"RCPT TO:<alice@example.com>\r\n", "250 "},
			{"DATA\r\n", "354 "},
			{"Subject: via " + key + "\r\n\r\nbody\r\n.\r\n", "250 "},
			{"QUIT\r\n", "221 "},
		} {
			c.Write([]byte(step.send))
			line := expectLine(r, step.want[:3])
			for strings.HasPrefix(line, step.want[:3]+"-") {
				line = expectLine(r, step.want[:3])
			}
		}
		c.Close()
	}
	c, r := dial("pop3s")
	expectLine(r, "+OK")
	for _, step := range []struct{ send, want string }{
		{"USER alice@example.com\r\n", "+OK"},
		{"PASS pw\r\n", "+OK"},
		{"STAT\r\n", "+OK 2 "},
		{"QUIT\r\n", "+OK"},
	} {
		c.Write([]byte(step.send))
		expectLine(r, step.want)
	}
	c.Close()
	// Plain POP3 on loopback: allowed by default (allow_plaintext_auth = "loopback").
	c, r = dial("pop3")
	expectLine(r, "+OK")
	c.Write([]byte("USER alice@example.com\r\nPASS wrong\r\n"))
	expectLine(r, "+OK")
	expectLine(r, "-ERR")
	c.Close()
	// IMAPS: log in and see both messages; plain IMAP greets.
	c, r = dial("imaps")
	expectLine(r, "* OK")
	c.Write([]byte("a LOGIN alice@example.com pw\r\n"))
	for line := expectLine(r, ""); !strings.HasPrefix(line, "a "); line = expectLine(r, "") {
	}
	c.Write([]byte("b STATUS INBOX (MESSAGES)\r\n"))
	if line := expectLine(r, "* STATUS "); !strings.Contains(line, "(MESSAGES 2)") {
		t.Fatalf("STATUS: %q", line)
	}
	expectLine(r, "b OK")
	c.Close()
	c, r = dial("imap")
	expectLine(r, "* OK")
	c.Close()
	// Submission over implicit TLS greets.
	c, r = dial("submissions")
	expectLine(r, "220 ")
	c.Close()
	c, r = dial("submission")
	expectLine(r, "220 ")
	c.Close()

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d; stderr %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	if !strings.Contains(errb.String(), "stopped") {
		t.Fatalf("no shutdown log: %s", errb.String())
	}
}

func TestServeListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := "[listen]\nsmtp = \"127.0.0.1:0\"\nsubmission = \"\"\nsubmissions = \"\"\nlmtp = \"\"\npop3 = \"" + busy.Addr().String() + "\"\npop3s = \"\"\nimap = \"\"\nimaps = \"\"\njmap = \"\"\n"
	if err := os.WriteFile(filepath.Join(dir, "letterbox.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := letterbox(t, "", nil, "serve", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "listen.pop3") {
		t.Fatalf("exit %d, stderr %q; want an error naming listen.pop3", r.code, r.stderr)
	}
}
