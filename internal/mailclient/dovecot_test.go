package mailclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The same client against Dovecot: a throwaway Dovecot 2.3 under a temp
// directory, on loopback ports, passwd-file auth, Maildir storage, TLS
// with a test certificate (imaps, pop3s, STARTTLS and STLS).

const dovecotConf = `# letterbox mailclient test: throwaway Dovecot configuration
base_dir = {{Dir}}/run
state_dir = {{Dir}}/state
log_path = {{Dir}}/dovecot.log
info_log_path = {{Dir}}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{{Dir}}/cert.pem
ssl_key = <{{Dir}}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {{LoginUser}}
default_internal_user = {{InternalUser}}
first_valid_uid = {{UID}}
last_valid_uid = {{UID}}
first_valid_gid = {{GID}}
mail_location = maildir:{{Dir}}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{Dir}}/passwd
}
userdb {
  driver = static
  args = uid={{UID}} gid={{GID}} home={{Dir}}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{IMAP}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{IMAPS}}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = {{POP3}}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = {{POP3S}}
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`

// dovecotServer is a running Dovecot with one user.
type dovecotServer struct {
	t                        *testing.T
	dir                      string
	imap, imaps, pop3, pop3s string
	clientTLS                *tls.Config
}

func startDovecot(t *testing.T) *dovecotServer {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("dovecot not installed (CI=true): apt-get install dovecot-imapd dovecot-pop3d")
			}
			t.Skip("dovecot not installed")
		}
		bin = "/usr/sbin/dovecot"
	}
	dir, err := os.MkdirTemp("", "mailclient-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Login and internal processes run unprivileged and must reach base_dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"{{Dir}}": dir}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		// Dovecot refuses to access mail as root: mail belongs to nobody.
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ = strconv.Atoi(nobody.Uid)
		gid, _ = strconv.Atoi(nobody.Gid)
		vars["{{LoginUser}}"], vars["{{InternalUser}}"] = "dovenull", "dovecot"
	} else {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		vars["{{LoginUser}}"], vars["{{InternalUser}}"] = me.Username, me.Username
	}
	vars["{{UID}}"], vars["{{GID}}"] = strconv.Itoa(uid), strconv.Itoa(gid)
	d := &dovecotServer{t: t, dir: dir}
	for _, p := range []struct {
		key  string
		addr *string
	}{{"{{IMAP}}", &d.imap}, {"{{IMAPS}}", &d.imaps}, {"{{POP3}}", &d.pop3}, {"{{POP3S}}", &d.pop3s}} {
		port := freePort(t)
		vars[p.key] = strconv.Itoa(port)
		*p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	for _, sub := range []string{"mail", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, sub), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	writeDovecotCert(t, dir)
	d.clientTLS, err = NewTLSConfig("127.0.0.1", TLSOptions{CAFile: filepath.Join(dir, "cert.pem")})
	if err != nil {
		t.Fatal(err)
	}
	conf := dovecotConf
	for k, v := range vars {
		conf = strings.ReplaceAll(conf, k, v)
	}
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(testUser+":{PLAIN}"+testPass+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "dovecot.stdout"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // the master stops its children
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		out.Close()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			o, _ := os.ReadFile(filepath.Join(dir, "dovecot.stdout"))
			t.Logf("dovecot output:\n%s%s", o, log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range []string{d.imap, d.imaps, d.pop3, d.pop3s} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				o, _ := os.ReadFile(filepath.Join(dir, "dovecot.stdout"))
				t.Fatalf("dovecot exited:\n%s", o)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dovecot does not listen on %s: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return d
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeDovecotCert writes cert.pem and key.pem for 127.0.0.1 into dir.
func writeDovecotCert(t *testing.T, dir string) {
	t.Helper()
	serverTLS, caFile, _ := testCert(t)
	certPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverTLS.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (d *dovecotServer) config(p Protocol, sec Security) Config {
	c := Config{Protocol: p, Security: sec, User: testUser, Password: testPass, TLS: d.clientTLS}
	switch {
	case p == IMAP && sec == ImplicitTLS:
		c.Addr = d.imaps
	case p == IMAP:
		c.Addr = d.imap
	case sec == ImplicitTLS:
		c.Addr = d.pop3s
	default:
		c.Addr = d.pop3
	}
	return c
}

func (d *dovecotServer) dial(p Protocol, sec Security) Client {
	d.t.Helper()
	c, err := Dial(ctx, d.config(p, sec))
	if err != nil {
		d.t.Fatalf("dial dovecot %v %v: %v", p, sec, err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c
}

// admin is an independent IMAP session (go-imap's client directly) that
// seeds and changes Dovecot's mailboxes behind the client's back.
func (d *dovecotServer) admin() *imapclient.Client {
	d.t.Helper()
	c, err := imapclient.DialInsecure(d.imap, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c
}

func appendMsg(t *testing.T, c *imapclient.Client, mailbox, msg string, flags ...imap.Flag) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestDovecot(t *testing.T) {
	d := startDovecot(t)
	admin := d.admin()
	appendMsg(t, admin, "INBOX", testMessage("Bob <bob@example.com>", "Meeting tomorrow", "see you"))
	appendMsg(t, admin, "INBOX", testMessage("carol@example.org", "=?UTF-8?Q?Caf=C3=A9_meeting?=", "coffee"), imap.FlagSeen)
	appendMsg(t, admin, "INBOX", testMessage("bob@example.com", "lunch", "food"))
	if err := admin.Create("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	t.Run("connect", func(t *testing.T) {
		for _, p := range []Protocol{IMAP, POP3} {
			for _, sec := range []Security{Plaintext, StartTLS, ImplicitTLS} {
				c := d.dial(p, sec)
				got, err := c.List(ctx, "", 0)
				if err != nil || len(got) != 3 {
					t.Fatalf("%v %v: list %+v, %v", p, sec, got, err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("%v %v: close: %v", p, sec, err)
				}
			}
		}
		cfg := d.config(IMAP, ImplicitTLS)
		cfg.TLS = nil
		if c, err := Dial(ctx, cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
			if c != nil {
				c.Close()
			}
			t.Fatalf("untrusted certificate accepted: %v", err)
		}
	})

	for _, p := range []Protocol{IMAP, POP3} {
		t.Run(p.String()+"/list-read-search", func(t *testing.T) {
			c := d.dial(p, StartTLS)
			all, err := c.List(ctx, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := subjects(all), []string{"Meeting tomorrow", "Café meeting", "lunch"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("subjects %q, want %q", got, want)
			}
			if all[0].From != "Bob <bob@example.com>" || all[0].Date.Year() != 2006 {
				t.Fatalf("summary %+v", all[0])
			}
			if last, err := c.List(ctx, "", 1); err != nil || !reflect.DeepEqual(subjects(last), []string{"lunch"}) {
				t.Fatalf("limit 1: %q, %v", subjects(last), err)
			}
			raw, err := c.Fetch(ctx, "", all[2].ID, false)
			if err != nil || !strings.Contains(string(raw), "Subject: lunch\r\n") {
				t.Fatalf("fetch: %q, %v", raw, err)
			}
			got, err := c.Search(ctx, "", Query{Subject: "MEETING", From: "bob"})
			if err != nil || !reflect.DeepEqual(subjects(got), []string{"Meeting tomorrow"}) {
				t.Fatalf("search: %q, %v", subjects(got), err)
			}
			got, err = c.Search(ctx, "", Query{Subject: "café"})
			if err != nil || !reflect.DeepEqual(subjects(got), []string{"Café meeting"}) {
				t.Fatalf("search café: %q, %v", subjects(got), err)
			}
			if p == POP3 {
				if err := c.Move(ctx, "", []string{"1"}, "Archive"); !errors.Is(err, ErrUnsupported) {
					t.Fatalf("POP3 move: %v", err)
				}
			}
		})
	}

	t.Run("pop3/unread-and-sync", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		c := d.dial(POP3, Plaintext)
		var got []string
		n, err := c.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(m Message) error { got = append(got, m.Subject); return nil })
		if err != nil || n != 3 {
			t.Fatalf("unread: %d %q %v", n, got, err)
		}
		if n, err := c.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(Message) error { return nil }); err != nil || n != 0 {
			t.Fatalf("second unread: %d, %v", n, err)
		}
		dir := t.TempDir()
		if rep := syncOnce(t, c, "", dir); rep != (SyncReport{Fetched: 3}) {
			t.Fatalf("pop3 sync %+v", rep)
		}
		if rep := syncOnce(t, c, "", dir); rep != (SyncReport{Kept: 3}) {
			t.Fatalf("second pop3 sync %+v", rep)
		}
		if got := maildirFiles(t, dir); len(got) != 3 {
			t.Fatalf("maildir %q", got)
		}
	})

	t.Run("imap/unread-flag-move-delete-mailboxes", func(t *testing.T) {
		c := d.dial(IMAP, ImplicitTLS)
		var got []string
		n, err := c.FetchUnread(ctx, "", UnreadOptions{}, func(m Message) error { got = append(got, m.Subject); return nil })
		if err != nil || n != 2 || !reflect.DeepEqual(got, []string{"Meeting tomorrow", "lunch"}) {
			t.Fatalf("unread: %d %q %v", n, got, err)
		}
		if n, _ := c.FetchUnread(ctx, "", UnreadOptions{}, func(Message) error { return nil }); n != 0 {
			t.Fatalf("second unread fetched %d", n)
		}
		all, err := c.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Flag(ctx, "", []string{all[0].ID}, []string{`\Flagged`}); err != nil {
			t.Fatal(err)
		}
		if err := c.Unflag(ctx, "", []string{all[0].ID}, []string{`\Seen`}); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Search(ctx, "", Query{Unseen: true}); !reflect.DeepEqual(subjects(got), []string{"Meeting tomorrow"}) {
			t.Fatalf("unseen after unflag: %q", subjects(got))
		}
		if err := c.Flag(ctx, "", []string{"999"}, []string{`\Seen`}); err == nil {
			t.Fatal("flag of a missing UID succeeded")
		}
		if err := c.Move(ctx, "", []string{all[1].ID}, "Archive"); err != nil {
			t.Fatal(err)
		}
		boxes, err := c.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, b := range boxes {
			counts[b.Name] = b.Messages
		}
		if boxes[0].Name != "INBOX" || counts["INBOX"] != 2 || counts["Archive"] != 1 {
			t.Fatalf("mailboxes %+v", boxes)
		}
		if err := c.Delete(ctx, "", []string{all[2].ID}); err != nil {
			t.Fatal(err)
		}
		if left, _ := c.List(ctx, "", 0); !reflect.DeepEqual(subjects(left), []string{"Meeting tomorrow"}) {
			t.Fatalf("after move and delete: %q", subjects(left))
		}
	})

	t.Run("imap/sync", func(t *testing.T) {
		c := d.dial(IMAP, StartTLS)
		dir := t.TempDir()
		appendMsg(t, admin, "Archive", testMessage("bob@example.com", "answered one", "x"), imap.FlagAnswered, imap.FlagSeen)
		// Archive: "Café meeting" (\Seen) and "answered one" (\Answered \Seen).
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Fetched: 2}) {
			t.Fatalf("first sync %+v", rep)
		}
		want := []string{"cur/=?UTF-8?Q?Caf=C3=A9_meeting?=:2,S", "cur/answered one:2,RS"}
		if got := maildirFiles(t, dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("maildir %q, want %q", got, want)
		}
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Kept: 2}) {
			t.Fatalf("second sync %+v", rep)
		}
		appendMsg(t, admin, "Archive", testMessage("bob@example.com", "brand new", "y"))
		if _, err := admin.Select("Archive", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := admin.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Fetched: 1, Updated: 1, Kept: 1}) {
			t.Fatalf("sync after a delivery and a flag change %+v", rep)
		}
		want = []string{"cur/=?UTF-8?Q?Caf=C3=A9_meeting?=:2,FS", "cur/answered one:2,RS", "new/brand new"}
		if got := maildirFiles(t, dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("maildir %q, want %q", got, want)
		}
		if err := admin.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := admin.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Removed: 1, Kept: 2}) {
			t.Fatalf("sync after an expunge %+v", rep)
		}
	})

	// Last: Dovecot slows down logins from an address after a failure.
	t.Run("wrong password", func(t *testing.T) {
		for _, p := range []Protocol{IMAP, POP3} {
			cfg := d.config(p, Plaintext)
			cfg.Password = "wrong"
			if c, err := Dial(ctx, cfg); err == nil || !strings.Contains(err.Error(), "login as") {
				if c != nil {
					c.Close()
				}
				t.Fatalf("%v: wrong password: %v", p, err)
			}
		}
	})
}
