package smtpserver

import (
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/drain"
	"github.com/letterbox/letterbox/internal/metrics"
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
	conns   *liveConns // for Shutdown's nudges
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
			return tls.Server(l.conns.add(&deadlineConn{Conn: raw, timeout: l.timeout}), l.tls), nil
		}
		return l.conns.add(&deadlineConn{Conn: &countedConn{Conn: c, release: release}, timeout: l.timeout}), nil
	}
}

// deadlineConn renews its read deadline before every Read. While the
// server drains (Shutdown) a read outside DATA fails as a timeout, which
// go-smtp answers with 421 and a close (RFC 5321 §3.8: the client keeps
// the message and tries again later).
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	live    *liveConns
	inData  atomic.Bool // a DATA/BDAT transfer is being received
	closed  sync.Once
	done    func() // ends the connection's metrics count
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.live != nil && c.live.drain.Active() && !c.inData.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	if c.timeout > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Close() error {
	c.closed.Do(func() {
		if c.live != nil {
			c.live.remove(c)
		}
		if c.done != nil {
			c.done()
		}
	})
	return c.Conn.Close()
}

// liveConns is the set of a Server's open connections and its drain
// signal.
type liveConns struct {
	drain    drain.Signal
	metrics  *metrics.Metrics
	protocol string // for the metrics
	mu       sync.Mutex
	set      map[*deadlineConn]struct{}
}

func (l *liveConns) add(c *deadlineConn) *deadlineConn {
	c.live = l
	c.done = l.metrics.Connection(l.protocol)
	l.mu.Lock()
	if l.set == nil {
		l.set = map[*deadlineConn]struct{}{}
	}
	l.set[c] = struct{}{}
	l.mu.Unlock()
	return c
}

func (l *liveConns) remove(c *deadlineConn) {
	l.mu.Lock()
	delete(l.set, c)
	l.mu.Unlock()
}

// nudge wakes the connections blocked reading a command (not those
// receiving a message).
func (l *liveConns) nudge() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for c := range l.set {
		if !c.inData.Load() {
			c.SetReadDeadline(now)
		}
	}
}

// dataConn finds the deadlineConn under a go-smtp connection (plain, or
// under TLS); nil when there is none (implicit TLS without rewrapping).
func dataConn(nc net.Conn) *deadlineConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	dc, _ := nc.(*deadlineConn)
	return dc
}
