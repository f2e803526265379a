package smtpserver

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
)

// deadlineListener gives every accepted connection a read deadline that is
// renewed before each read. go-smtp sets its read deadline once per command
// line, so a whole DATA transfer would have to fit in one ReadTimeout; RFC
// 5321 §4.5.3.2.6 instead times out the wait for each data block.
type deadlineListener struct {
	net.Listener
	timeout time.Duration
	tls     *tls.Config // used to rewrap conns from a tls.NewListener
	limit   *connlimit.Counter
	log     *slog.Logger
}

// Accept returns the next connection within the connection limits; one
// over a limit is refused (see refuse) and never reaches go-smtp, which
// has no hook before its greeting.
func (l *deadlineListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, isTLS := c.(*tls.Conn)
		if isTLS && l.tls == nil {
			// Implicit TLS without the config to rewrap: go-smtp must see
			// the *tls.Conn itself, so neither deadline nor count applies.
			return c, nil
		}
		release, v := l.limit.Acquire(connlimit.RemoteIP(c))
		if v != connlimit.Admitted {
			go l.refuse(c, v)
			continue
		}
		if isTLS {
			// Implicit TLS: put the deadline and the count under the TLS
			// layer, so go-smtp still sees a *tls.Conn. The handshake has
			// not started yet.
			raw := &countedConn{Conn: tc.NetConn(), release: release}
			return tls.Server(&deadlineConn{Conn: raw, timeout: l.timeout}, l.tls), nil
		}
		return &deadlineConn{Conn: &countedConn{Conn: c, release: release}, timeout: l.timeout}, nil
	}
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
