package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dovecotConf is a throwaway Dovecot 2.3 configuration: everything under one
// temp directory, Maildir storage, a passwd-file user, plaintext login on
// loopback (as letterbox allows there), LMTP on a loopback TCP port.
const dovecotConf = `# letterbox bench: throwaway Dovecot configuration
base_dir = {{.Dir}}/run
state_dir = {{.Dir}}/state
log_path = {{.Dir}}/dovecot.log
info_log_path = {{.Dir}}/dovecot.log
protocols = imap pop3 lmtp
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
postmaster_address = postmaster@example.com
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
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = {{.LMTP}}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service imap {
  process_limit = 64
}
service pop3 {
  process_limit = 64
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol lmtp {
  mail_plugins =
}
`

// startDovecot writes the configuration to a temp directory and runs
// `dovecot -F -c CONFIG` in the foreground.
func startDovecot() (*target, error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr != nil {
			return nil, fmt.Errorf("dovecot not installed (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd)")
		}
		bin = "/usr/sbin/dovecot"
	}
	ws, err := os.MkdirTemp("", "dovecot-bench-")
	if err != nil {
		return nil, err
	}
	// Login and internal processes run unprivileged and must reach base_dir.
	if err := os.Chmod(ws, 0o755); err != nil {
		return nil, err
	}
	v := struct {
		Dir, LoginUser, InternalUser string
		UID, GID                     int
		IMAP, POP3, LMTP             int
	}{Dir: ws}
	if os.Geteuid() == 0 {
		// Dovecot refuses mail access as root: mail belongs to nobody.
		nobody, err := user.Lookup("nobody")
		if err != nil {
			return nil, err
		}
		v.UID, _ = strconv.Atoi(nobody.Uid)
		v.GID, _ = strconv.Atoi(nobody.Gid)
		v.LoginUser, v.InternalUser = "dovenull", "dovecot"
	} else {
		me, err := user.Current()
		if err != nil {
			return nil, err
		}
		v.UID, v.GID = os.Getuid(), os.Getgid()
		v.LoginUser, v.InternalUser = me.Username, me.Username
	}
	pool, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	v.IMAP, v.POP3, v.LMTP = pool[0], pool[1], pool[2]
	for _, d := range []string{"mail", "home"} {
		if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(filepath.Join(ws, d), v.UID, v.GID); err != nil {
			return nil, err
		}
	}
	conf := dovecotConf
	for k, val := range map[string]string{
		"{{.Dir}}": ws, "{{.LoginUser}}": v.LoginUser, "{{.InternalUser}}": v.InternalUser,
		"{{.UID}}": strconv.Itoa(v.UID), "{{.GID}}": strconv.Itoa(v.GID),
		"{{.IMAP}}": strconv.Itoa(v.IMAP), "{{.POP3}}": strconv.Itoa(v.POP3), "{{.LMTP}}": strconv.Itoa(v.LMTP),
	} {
		conf = strings.ReplaceAll(conf, k, val)
	}
	confPath := filepath.Join(ws, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(ws, "passwd"), []byte(benchUser+":{PLAIN}"+benchPass+"\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	out, err := os.Create(filepath.Join(ws, "dovecot.stdout"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		// The master stops its children on SIGTERM.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		out.Close()
	}
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	t := &target{name: "dovecot", lmtpAddr: addr(v.LMTP), imapAddr: addr(v.IMAP), pop3Addr: addr(v.POP3),
		user: benchUser, pass: benchPass, stop: stop, workspace: ws}
	if err := waitPorts(30*time.Second, t.lmtpAddr, t.imapAddr, t.pop3Addr); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(ws, "dovecot.log"))
		o, _ := os.ReadFile(filepath.Join(ws, "dovecot.stdout"))
		return nil, fmt.Errorf("%v\ndovecot output:\n%s%s", err, o, log)
	}
	return t, nil
}
