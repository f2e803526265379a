package mailclient

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadAccounts(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": dir, "HOME": "/nonexistent"}
	path := DefaultAccountsPath(func(k string) string { return env[k] })
	if path != filepath.Join(dir, "letterbox", "client.toml") {
		t.Fatalf("path %q", path)
	}
	if p := DefaultAccountsPath(func(k string) string { return map[string]string{"HOME": "/home/a"}[k] }); p != "/home/a/.config/letterbox/client.toml" {
		t.Fatalf("default path %q", p)
	}
	af, err := LoadAccounts(path) // missing: empty
	if err != nil || len(af.Accounts) != 0 {
		t.Fatalf("missing file: %+v %v", af, err)
	}
	os.MkdirAll(filepath.Dir(path), 0o700)
	write := func(s string) { os.WriteFile(path, []byte(s), 0o600) }
	write(`default = "work"
[account.work]
url = "imaps://alice@mail.example.com"
password_command = "pass show mail/alice"
smtp_url = "submissions://mail.example.com"
fingerprint = "sha256:00"
[account.home]
url = "pop3s://me@pop.example.org"
netrc = false
`)
	af, err = LoadAccounts(path)
	if err != nil {
		t.Fatal(err)
	}
	a, ok, err := af.Account("")
	if !ok || err != nil || a.Name != "work" || a.PasswordCommand != "pass show mail/alice" || !a.UseNetrc() {
		t.Fatalf("default account %+v %v %v", a, ok, err)
	}
	if h, _, _ := af.Account("home"); h.UseNetrc() || h.URL != "pop3s://me@pop.example.org" {
		t.Fatalf("home %+v", h)
	}
	if _, _, err := af.Account("nope"); err == nil || !strings.Contains(err.Error(), "accounts: home, work") {
		t.Fatalf("unknown account: %v", err)
	}
	for _, bad := range []struct{ text, want string }{
		{"[account.x]\nurl = \"imaps://h\"\npasword_command = \"x\"\n", "unknown setting account.x.pasword_command"},
		{"default = \"y\"\n[account.x]\nurl = \"imaps://h\"\n", `default = "y", but there is no [account.y]`},
		{"[account.x]\nuser = \"a\"\n", "[account.x] has no url"},
		{"[account\n", "client.toml"},
	} {
		write(bad.text)
		if _, err := LoadAccounts(path); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.text, err, bad.want)
		}
	}
}

func TestPasswordFromCommand(t *testing.T) {
	pw, err := PasswordFromCommand(ctx, `printf 'first secret\nsecond line\n'`, nil)
	if err != nil || pw != "first secret" {
		t.Fatalf("%q %v", pw, err)
	}
	if _, err := PasswordFromCommand(ctx, "exit 3", nil); err == nil || !strings.Contains(err.Error(), `password_command "exit 3" failed`) {
		t.Fatalf("failing command: %v", err)
	}
	if _, err := PasswordFromCommand(ctx, "true", nil); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("empty output: %v", err)
	}
}

func TestNetrc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(path, []byte(`# comment
machine other.example.com login alice password other
machine mail.example.com
  login alice@example.com
  password "with space \"and\" quote"
macdef init
cd /pub
bin

machine nologin.example.com password anyuser
default login bob password fallback
`), 0o600)
	for _, tc := range []struct {
		host, login, want string
		found             bool
	}{
		{"mail.example.com", "alice@example.com", `with space "and" quote`, true},
		{"MAIL.example.com", "alice@example.com", `with space "and" quote`, true},
		{"mail.example.com", "mallory", "", false},
		{"nologin.example.com", "anyone", "anyuser", true},
		{"unknown.example.com", "bob", "fallback", true},
		{"unknown.example.com", "carol", "", false},
	} {
		pw, found, err := NetrcPassword(path, tc.host, tc.login)
		if err != nil || found != tc.found || pw != tc.want {
			t.Errorf("%s/%s: %q %v %v", tc.host, tc.login, pw, found, err)
		}
	}
	if _, found, err := NetrcPassword(filepath.Join(t.TempDir(), "none"), "h", "l"); found || err != nil {
		t.Fatalf("missing file: %v %v", found, err)
	}
	if p := NetrcPath(func(k string) string { return map[string]string{"HOME": "/h"}[k] }); p != "/h/.netrc" {
		t.Fatalf("NetrcPath %q", p)
	}
}

func TestFingerprintPinning(t *testing.T) {
	s := startServers(t)
	cert, _, _ := testCert(t) // a different certificate: not the server's
	// Learn the server's fingerprint from the untrusted-certificate error.
	cfg := s.config(IMAP, ImplicitTLS)
	cfg.TLS = nil
	_, err := Dial(ctx, cfg)
	var ue *UntrustedCertError
	if !errors.As(err, &ue) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"is not trusted", "SHA-256 fingerprint is " + ue.Fingerprint, "--fingerprint " + ue.Fingerprint, `fingerprint = "` + ue.Fingerprint + `"`, "--ca FILE"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if !strings.HasPrefix(ue.Fingerprint, "sha256:") || len(ue.Fingerprint) != len("sha256:")+64+31 {
		t.Fatalf("fingerprint %q", ue.Fingerprint)
	}
	// The same error through STARTTLS and STLS, and over pop3s.
	for _, pc := range []struct {
		p   Protocol
		sec Security
	}{{IMAP, StartTLS}, {POP3, StartTLS}, {POP3, ImplicitTLS}} {
		cfg := s.config(pc.p, pc.sec)
		cfg.TLS = nil
		_, err := Dial(ctx, cfg)
		var e2 *UntrustedCertError
		if !errors.As(err, &e2) || e2.Fingerprint != ue.Fingerprint || !strings.Contains(err.Error(), "--fingerprint "+ue.Fingerprint) {
			t.Fatalf("%v %v: %v", pc.p, pc.sec, err)
		}
	}
	for _, form := range []string{ue.Fingerprint, strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(ue.Fingerprint, "sha256:"), ":", ""))} {
		pinned, err := NewTLSConfig("127.0.0.1", TLSOptions{Fingerprint: form})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []Protocol{IMAP, POP3} {
			cfg := s.config(p, ImplicitTLS)
			cfg.TLS = pinned
			c, err := Dial(ctx, cfg)
			if err != nil {
				t.Fatalf("pinned %s %v: %v", form, p, err)
			}
			c.Close()
		}
	}
	// A pin of another certificate is refused, even though the CA file
	// would trust the server.
	wrong := Fingerprint(cert.Server.Certificates[0].Certificate[0])
	mismatch, _ := NewTLSConfig("127.0.0.1", TLSOptions{Fingerprint: wrong, CAFile: s.caFile})
	cfg = s.config(IMAP, StartTLS)
	cfg.TLS = mismatch
	_, err = Dial(ctx, cfg)
	var pe *PinMismatchError
	if !errors.As(err, &pe) || pe.Pinned != wrong || pe.Fingerprint != ue.Fingerprint ||
		!strings.Contains(err.Error(), "does not match the pinned fingerprint") || !strings.Contains(err.Error(), "server sent "+ue.Fingerprint) {
		t.Fatalf("mismatch: %v", err)
	}
	if _, err := ParseFingerprint("sha256:12:34"); err == nil {
		t.Fatal("short fingerprint accepted")
	}
}

func TestFriendlyErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Dial(ctx, Config{Protocol: IMAP, Security: Plaintext, Addr: addr, User: "u", Password: "p"})
	if err == nil || !strings.Contains(err.Error(), "connection to "+addr+" refused: is the server running") {
		t.Fatalf("refused: %v", err)
	}
	s := startServers(t)
	cfg := s.config(IMAP, Plaintext)
	cfg.Password = "wrong"
	if _, err := Dial(ctx, cfg); !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "check the user name and the password") {
		t.Fatalf("auth: %v", err)
	}
	c := s.dial(IMAP, Plaintext)
	if _, err := c.List(ctx, "Nope", 0); !errors.Is(err, ErrNoSuchFolder) || !strings.Contains(err.Error(), `"Nope"`) {
		t.Fatalf("no such folder: %v", err)
	}
	if err := c.Move(ctx, "INBOX", []string{"1"}, "Nope"); err == nil {
		t.Fatal("move to a missing folder succeeded")
	}
	p := s.dial(POP3, Plaintext)
	if _, err := FoldersOf(p); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "POP3 has no folders") {
		t.Fatalf("POP3 folders: %v", err)
	}
}

// fakeSMTP answers EHLO with the given extensions and then refuses
// everything: enough to see what Submit says of a server that lacks one.
func fakeSMTP(t *testing.T, exts ...string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				conn.Write([]byte("220 fake ESMTP\r\n"))
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.ToUpper(strings.Fields(line + " x")[0]) {
					case "EHLO":
						out := "250-fake\r\n"
						for _, e := range exts {
							out += "250-" + e + "\r\n"
						}
						conn.Write([]byte(out + "250 8BITMIME\r\n"))
					case "QUIT":
						conn.Write([]byte("221 bye\r\n"))
						return
					default:
						conn.Write([]byte("502 no\r\n"))
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestSubmitMissingCapability(t *testing.T) {
	for _, tc := range []struct {
		sec  Security
		exts []string
		want string
	}{
		{StartTLS, nil, "does not offer STARTTLS"},
		{Plaintext, nil, "does not offer AUTH"},
		{Plaintext, []string{"AUTH LOGIN CRAM-MD5"}, "does not offer AUTH PLAIN (it offers LOGIN CRAM-MD5)"},
	} {
		addr := fakeSMTP(t, tc.exts...)
		err := Submit(context.Background(), SMTPConfig{Addr: addr, Security: tc.sec, User: "u", Password: "p"}, "a@b", []string{"c@d"}, []byte("x"))
		if !errors.Is(err, ErrMissingCapability) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.sec, tc.exts, err, tc.want)
		}
	}
	if _, err := ParseSMTPURL("smtp+foo://x"); err == nil {
		t.Fatal("bad scheme accepted")
	}
	c, err := ParseSMTPURL("submissions://mail.example.com")
	if err != nil || c.Addr != "mail.example.com:465" || c.Security != ImplicitTLS {
		t.Fatalf("%+v %v", c, err)
	}
	c, _ = ParseSMTPURL(DefaultSMTPURL("mail.example.com"))
	if c.Addr != "mail.example.com:587" || c.Security != StartTLS {
		t.Fatalf("default %+v", c)
	}
}

func TestProgressLines(t *testing.T) {
	var b strings.Builder
	now := time.Unix(1000, 0)
	p := NewProgress(&b, false, "unread")
	p.Now = func() time.Time { return now }
	p.SetTotal(3, 3*1024*1024)
	now = now.Add(2 * time.Second)
	p.Add(1024 * 1024)
	now = now.Add(500 * time.Millisecond)
	p.Add(1024 * 1024) // within a second: no line
	now = now.Add(500 * time.Millisecond)
	p.Add(1024 * 1024)
	p.Finish() // the same figures: not repeated
	want := "unread: 1/3 messages, 1.0 MB of 3.0 MB, 512.0 KB/s, ETA 4s\n" +
		"unread: 3/3 messages, 3.0 MB of 3.0 MB, 1.0 MB/s, done in 3s\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	var tty strings.Builder
	q := NewProgress(&tty, true, "save")
	q.SetTotal(1, 10)
	q.Add(10)
	q.Finish()
	if !strings.HasPrefix(tty.String(), "\r\x1b[Ksave: 1/1 messages, 10 B of 10 B") || !strings.HasSuffix(tty.String(), "\n") {
		t.Fatalf("tty %q", tty.String())
	}
}

// fakeLine is a server that greets and then answers each command line
// with answer(line).
func fakeLine(t *testing.T, greeting string, answer func(line string) string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				conn.Write([]byte(greeting))
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					conn.Write([]byte(answer(strings.TrimRight(line, "\r\n"))))
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestStartTLSMissing(t *testing.T) {
	imapAddr := fakeLine(t, "* OK [CAPABILITY IMAP4rev1] fake\r\n", func(line string) string {
		tag, _, _ := strings.Cut(line, " ")
		return tag + " BAD STARTTLS not supported\r\n"
	})
	_, err := Dial(ctx, Config{Protocol: IMAP, Security: StartTLS, Addr: imapAddr, User: "u", Password: "p", Timeout: 3 * time.Second})
	if !errors.Is(err, ErrMissingCapability) || !strings.Contains(err.Error(), "does not offer STARTTLS (RFC 3501 §6.2.1), needed to protect the login: use imaps://") {
		t.Fatalf("IMAP: %v", err)
	}
	popAddr := fakeLine(t, "+OK fake\r\n", func(line string) string {
		if line == "CAPA" {
			return "+OK\r\nUSER\r\n.\r\n"
		}
		return "-ERR no\r\n"
	})
	_, err = Dial(ctx, Config{Protocol: POP3, Security: StartTLS, Addr: popAddr, User: "u", Password: "p", Timeout: 3 * time.Second})
	if !errors.Is(err, ErrMissingCapability) || !strings.Contains(err.Error(), "does not offer STLS") {
		t.Fatalf("POP3: %v", err)
	}
}
