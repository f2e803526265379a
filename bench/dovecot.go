package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// dovecotProcessLimit lets the concurrent LMTP, IMAP and POP3 clients each
// get a process.
const dovecotProcessLimit = `service imap {
  process_limit = 64
}
service pop3 {
  process_limit = 64
}
`

// startDovecot runs a throwaway Dovecot (Maildir, passwd-file user,
// plaintext login on loopback as letterbox allows there, LMTP on a
// loopback TCP port).
func startDovecot() (*target, error) {
	return startDovecotWith(map[string]string{benchUser: benchPass}, nil, dovecotProcessLimit)
}

// startDovecotWith starts Dovecot for users (name → plaintext password)
// with extra configuration. When hashes is not nil, the passwd-file is
// rewritten once Dovecot runs so that each user's line carries the hash
// hashes[user] (a "{SCHEME}..." string) instead of the plaintext password;
// Dovecot's passwd-file driver reloads the file when it changes.
func startDovecotWith(users, hashes map[string]string, extra string) (*target, error) {
	s, err := dovecottest.Start(dovecottest.Options{
		Users:      users,
		LMTP:       true,
		Config:     extra,
		TempPrefix: "dovecot-bench-",
	})
	if err != nil {
		return nil, err
	}
	t := &target{name: "dovecot", lmtpAddr: s.LMTP, imapAddr: s.IMAP, pop3Addr: s.POP3,
		user: benchUser, pass: benchPass, stop: s.Stop, workspace: s.Dir}
	t.pid = dovecotMaster(s.Dir)
	if hashes != nil {
		var b strings.Builder
		for _, u := range sortedKeys(users) {
			h, ok := hashes[u]
			if !ok {
				s.Stop()
				return nil, fmt.Errorf("no password hash for %s", u)
			}
			b.WriteString(u + ":" + h + "\n")
		}
		// Written beside and renamed, so the auth process never reads half
		// a file.
		tmp := filepath.Join(s.Dir, "passwd.new")
		if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
			s.Stop()
			return nil, err
		}
		if err := os.Rename(tmp, filepath.Join(s.Dir, "passwd")); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return t, nil
}

// dovecotMaster finds the PID of the Dovecot master started with the
// configuration in dir (`dovecot -F -c DIR/dovecot.conf`), or 0.
func dovecotMaster(dir string) int {
	want := filepath.Join(dir, "dovecot.conf")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "dovecot" {
			for _, a := range args {
				if a == want {
					return pid
				}
			}
		}
	}
	return 0
}
