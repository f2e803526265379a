package smtpserver

import (
	"crypto/tls"
	"net"
	"time"
)

// deadlineListener gives every accepted connection a read deadline that is
// renewed before each read. go-smtp sets its read deadline once per command
// line, so a whole DATA transfer would have to fit in one ReadTimeout; RFC
// 5321 §4.5.3.2.6 instead times out the wait for each data block.
type deadlineListener struct {
	net.Listener
	timeout time.Duration
	tls     *tls.Config // used to rewrap conns from a tls.NewListener
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*tls.Conn); ok {
		// Implicit TLS: put the deadline under the TLS layer, so go-smtp
		// still sees a *tls.Conn. The handshake has not started yet.
		if l.tls == nil {
			return c, nil
		}
		return tls.Server(&deadlineConn{Conn: tc.NetConn(), timeout: l.timeout}, l.tls), nil
	}
	return &deadlineConn{Conn: c, timeout: l.timeout}, nil
}

// deadlineConn renews its read deadline before every Read.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.timeout > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}
