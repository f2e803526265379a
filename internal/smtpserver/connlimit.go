package smtpserver

import (
	"net"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
)

// refuseTimeout bounds the refusal to a connection over a limit; on an
// implicit-TLS port the write runs the TLS handshake first.
const refuseTimeout = 10 * time.Second

// refuse answers a connection over MaxConnsPerIP or MaxConns with 421 in
// place of the greeting (RFC 5321 §3.1 and §4.2.3: "service not available,
// closing transmission channel"; RFC 3463 4.7.0 security/policy) and closes
// it. RFC 2033 LMTP uses the same replies.
func (l *deadlineListener) refuse(c net.Conn, v connlimit.Verdict) {
	defer c.Close()
	reply := "421 4.7.0 Too many connections\r\n"
	if v == connlimit.TooManyFromIP {
		reply = "421 4.7.0 Too many connections from your address\r\n"
	}
	l.log.Warn("connection refused", "remote", connlimit.RemoteIP(c).String(), "reason", v.String())
	c.SetDeadline(time.Now().Add(refuseTimeout))
	c.Write([]byte(reply))
}

// countedConn gives its connection-limit slot back when closed (go-smtp
// closes the connection, or the TLS connection over it, when the session
// ends).
type countedConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
