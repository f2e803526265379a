package pop3server

import (
	"net"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
)

// rejectTimeout bounds the refusal sent to a connection over a limit; on
// POP3S the write runs the TLS handshake first.
const rejectTimeout = 10 * time.Second

// admit counts c against MaxConnsPerIP and MaxConns. At a bound the oldest
// connection from the same address that has not logged in is closed to
// make room (connlimit.AcquireSlot); when there is none it
// answers with an RFC 2449 §8.1.2 [SYS/TEMP] -ERR in place of the greeting
// (RFC 1939 §4 lets the server refuse with -ERR there) and reports false;
// the caller then closes c.
func (s *Server) admit(c net.Conn) (slot *connlimit.Slot, ok bool) {
	ip := connlimit.RemoteIP(c)
	slot, v := s.limit.AcquireSlot(ip, func() {
		s.log.Info("pop3: connection closed for a newer one from its address", "remote", ip.String())
		c.Close()
	})
	if v == connlimit.Admitted {
		return slot, true
	}
	msg := "-ERR [SYS/TEMP] too many connections\r\n"
	if v == connlimit.TooManyFromIP {
		msg = "-ERR [SYS/TEMP] too many connections from your address\r\n"
	}
	s.log.Warn("pop3: connection refused", "remote", ip.String(), "reason", v.String())
	c.SetDeadline(time.Now().Add(rejectTimeout))
	c.Write([]byte(msg))
	return nil, false
}
