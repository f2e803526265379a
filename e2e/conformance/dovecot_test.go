package conformance

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dovecotConf is a throwaway Dovecot 2.3 configuration: everything under one
// temp directory, Maildir storage with "/" as the hierarchy separator (as
// letterbox uses), the same special-use mailboxes letterbox creates for a new
// account (store.DefaultMailboxes), a passwd-file user with plaintext login
// allowed (loopback only), and no syslog.
const dovecotConf = `# letterbox conformance: throwaway Dovecot configuration
base_dir = {{.Dir}}/run
state_dir = {{.Dir}}/state
log_path = {{.Dir}}/dovecot.log
info_log_path = {{.Dir}}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {{.LoginUser}}
default_internal_user = {{.InternalUser}}
first_valid_uid = {{.UID}}
last_valid_uid = {{.UID}}
first_valid_gid = {{.GID}}
mail_location = maildir:{{.Dir}}/mail/%u
namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox INBOX {
    auto = subscribe
  }
  mailbox Sent {
    auto = subscribe
    special_use = \Sent
  }
  mailbox Drafts {
    auto = subscribe
    special_use = \Drafts
  }
  mailbox Trash {
    auto = subscribe
    special_use = \Trash
  }
  mailbox Junk {
    auto = subscribe
    special_use = \Junk
  }
  mailbox Archive {
    auto = subscribe
    special_use = \Archive
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{.Dir}}/passwd
}
userdb {
  driver = static
  args = uid={{.UID}} gid={{.GID}} home={{.Dir}}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{.IMAP}}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = {{.POP3}}
  }
  inet_listener pop3s {
    port = 0
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

// dovecotBinary finds Dovecot, or skips the test (fails it with CI=true).
func dovecotBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr == nil {
			return "/usr/sbin/dovecot"
		}
		const msg = "dovecot not installed (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd): the conformance tests compare letterbox with it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// startDovecot runs `dovecot -F -c CONFIG` on free loopback ports with one
// user, and stops it when the test ends.
func startDovecot(t *testing.T) endpoint {
	t.Helper()
	bin := dovecotBinary(t)
	// Not t.TempDir: Dovecot's unprivileged login and internal processes
	// must reach base_dir, and t.TempDir's parents are mode 0700.
	ws, err := os.MkdirTemp("", "letterbox-conformance-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(ws) })
	if err := os.Chmod(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	v := map[string]string{"{{.Dir}}": ws}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		// Dovecot refuses mail access as root: mail belongs to nobody.
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ = strconv.Atoi(nobody.Uid)
		gid, _ = strconv.Atoi(nobody.Gid)
		v["{{.LoginUser}}"], v["{{.InternalUser}}"] = "dovenull", "dovecot"
	} else {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		v["{{.LoginUser}}"], v["{{.InternalUser}}"] = me.Username, me.Username
	}
	v["{{.UID}}"], v["{{.GID}}"] = strconv.Itoa(uid), strconv.Itoa(gid)
	imapPort, pop3Port := freePort(t), freePort(t)
	v["{{.IMAP}}"], v["{{.POP3}}"] = strconv.Itoa(imapPort), strconv.Itoa(pop3Port)
	for _, d := range []string{"mail", "home"} {
		p := filepath.Join(ws, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	conf := dovecotConf
	for k, val := range v {
		conf = strings.ReplaceAll(conf, k, val)
	}
	confPath := filepath.Join(ws, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "passwd"), []byte(testUser+":{PLAIN}"+testPass+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	out, err := os.Create(filepath.Join(ws, "dovecot.stdout"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// INTERNALDATE in Maildir keeps no zone: Dovecot answers in local time.
	// UTC makes its answers comparable with the +0000 dates we APPEND.
	cmd.Env = append(os.Environ(), "TZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// The master stops its children on SIGTERM.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		out.Close()
	})
	ep := endpoint{
		name: "dovecot",
		imap: net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort)),
		pop3: net.JoinHostPort("127.0.0.1", strconv.Itoa(pop3Port)),
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range []string{ep.imap, ep.pop3} {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(ws, "dovecot.log"))
				o, _ := os.ReadFile(filepath.Join(ws, "dovecot.stdout"))
				t.Fatalf("dovecot did not listen on %s: %v\n%s%s", a, err, o, log)
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(filepath.Join(ws, "dovecot.log"))
				o, _ := os.ReadFile(filepath.Join(ws, "dovecot.stdout"))
				t.Fatalf("dovecot exited: %v\n%s%s", cmd.ProcessState, o, log)
			default:
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(ws, "dovecot.log"))
			if len(log) > 0 {
				t.Logf("dovecot.log:\n%s", log)
			}
		}
	})
	return ep
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
