package main

import (
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
	s, err := dovecottest.Start(dovecottest.Options{
		Users:      map[string]string{benchUser: benchPass},
		LMTP:       true,
		Config:     dovecotProcessLimit,
		TempPrefix: "dovecot-bench-",
	})
	if err != nil {
		return nil, err
	}
	return &target{name: "dovecot", lmtpAddr: s.LMTP, imapAddr: s.IMAP, pop3Addr: s.POP3,
		user: benchUser, pass: benchPass, stop: s.Stop, workspace: s.Dir}, nil
}
