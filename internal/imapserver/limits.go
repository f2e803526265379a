package imapserver

import (
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
)

// rejectTimeout bounds the refusal sent to a connection over a limit; on
// IMAPS the write runs the TLS handshake first.
const rejectTimeout = 10 * time.Second

// admit counts c against MaxConnsPerIP and MaxConns (internal/connlimit,
// shared with the POP3 and SMTP servers). At a bound the oldest connection
// from the same address that has not logged in is closed to make room
// (connlimit.AcquireSlot); when there is none it sends
// "* BYE [UNAVAILABLE]" in place of the greeting (RFC 3501 §7.1.5 lets the
// server refuse a connection with BYE; RFC 5530 §3 UNAVAILABLE) and reports
// false; the caller then closes the connection.
func (s *Server) admit(c *conn) (slot *connlimit.Slot, ok bool) {
	slot, v := s.limit.AcquireSlot(c.remote, func() {
		s.log.Info("imap: connection closed for a newer one from its address", "remote", c.remote.String())
		c.raw.Close()
	})
	if v == connlimit.Admitted {
		return slot, true
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
