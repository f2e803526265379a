package pop3server

import (
	"net"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
)

// rejectTimeout bounds the refusal sent to a connection over a limit; on
// POP3S the write runs the TLS handshake first.
const rejectTimeout = 10 * time.Second

// admit counts c against MaxConnsPerIP and MaxConns. Over either bound it
// answers with an RFC 2449 §8.1.2 [SYS/TEMP] -ERR in place of the greeting
// (RFC 1939 §4 lets the server refuse with -ERR there) and reports false;
// the caller then closes c.
func (s *Server) admit(c net.Conn) (release func(), ok bool) {
	ip := connlimit.RemoteIP(c)
	release, v := s.limit.Acquire(ip)
	if v == connlimit.Admitted {
		return release, true
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
