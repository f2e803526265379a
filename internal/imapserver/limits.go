package imapserver

import (
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
)

// rejectTimeout bounds the refusal sent to a connection over a limit; on
// IMAPS the write runs the TLS handshake first.
const rejectTimeout = 10 * time.Second

// admit counts c against MaxConnsPerIP and MaxConns (internal/connlimit,
// shared with the POP3 and SMTP servers). Over either bound it sends
// "* BYE [UNAVAILABLE]" in place of the greeting (RFC 3501 §7.1.5 lets the
// server refuse a connection with BYE; RFC 5530 §3 UNAVAILABLE) and reports
// false; the caller then closes the connection.
func (s *Server) admit(c *conn) (release func(), ok bool) {
	release, v := s.limit.Acquire(c.remote)
	if v == connlimit.Admitted {
		return release, true
	}
	text := "too many connections"
	if v == connlimit.TooManyFromIP {
		text = "too many connections from your address"
	}
	s.log.Warn("imap: connection refused", "remote", c.remote.String(), "reason", v.String())
	c.nc.SetDeadline(time.Now().Add(rejectTimeout))
	c.w.WriteStatus("", "BYE", "UNAVAILABLE", text)
	c.w.Flush()
	return nil, false
}
