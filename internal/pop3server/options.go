package pop3server

import (
	"crypto/tls"
	"log/slog"
	"net/netip"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/store"
)

// Defaults for zero Options fields.
const (
	// DefaultIdleTimeout is the RFC 1939 §3 minimum auto-logout timer.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMaxLineLength bounds a command line including CRLF. RFC 2449 §4
	// allows clients 255 octets; we accept more so long passwords and AUTH
	// initial responses still fit.
	DefaultMaxLineLength = 1024
	// maxSASLLineLength bounds one SASL client response line (RFC 5034 §4
	// sets no limit on continuation lines).
	maxSASLLineLength = 16 * 1024
	// DefaultMaxConnsPerIP bounds simultaneous connections from one IP
	// address, plain and TLS listeners together.
	DefaultMaxConnsPerIP = 20
	// DefaultMaxConns bounds simultaneous connections to one Server.
	DefaultMaxConns = 1000
	// DefaultImplementation is the RFC 2449 §6.9 IMPLEMENTATION text.
	DefaultImplementation = "letterbox"
)

// Options configure a Server. The zero value of every field but Store and
// Auth has a sensible default.
type Options struct {
	Store store.Store
	Auth  auth.Authenticator

	// TLS enables STLS (RFC 2595) on plain listeners. nil: no STLS.
	// Listeners that already hand out *tls.Conn (POP3S) need no TLS here.
	TLS *tls.Config

	// Hostname appears in the greeting.
	Hostname string

	// AllowPlaintextAuth decides whether USER/PASS and AUTH PLAIN may be
	// used on a connection. nil: allowed when TLS is active or the client is
	// on a loopback address.
	AllowPlaintextAuth func(remote netip.Addr, tlsActive bool) bool

	// IdleTimeout closes a connection that sends no command for this long
	// (RFC 1939 §3 asks for at least 10 minutes). 0: DefaultIdleTimeout.
	IdleTimeout time.Duration

	// MaxLineLength bounds a command line including CRLF. Longer lines get
	// -ERR and are skipped. 0: DefaultMaxLineLength.
	MaxLineLength int

	// MaxConnsPerIP bounds simultaneous connections from one remote IP
	// address; a connection over it gets "-ERR [SYS/TEMP] too many
	// connections from your address" (RFC 2449 §8.1.2 SYS/TEMP: try again
	// later) and is closed. 0: DefaultMaxConnsPerIP.
	MaxConnsPerIP int

	// MaxConns bounds simultaneous connections to the Server, every
	// listener counted; over it: "-ERR [SYS/TEMP] too many connections".
	// 0: DefaultMaxConns.
	MaxConns int

	// Locker grants the exclusive maildrop lock. nil: a new in-process
	// Locker per Server. Give several Servers one Locker (NewLocker) when
	// they serve the same store, or a store-level Locker for many nodes.
	Locker Locker

	// Logger receives connection and login events. nil: discard.
	Logger *slog.Logger
	// Metrics gets connections and command durations; nil: none.
	Metrics *metrics.Metrics
}

func (o Options) idleTimeout() time.Duration {
	if o.IdleTimeout > 0 {
		return o.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (o Options) maxLineLength() int {
	if o.MaxLineLength > 0 {
		return o.MaxLineLength
	}
	return DefaultMaxLineLength
}

func (o Options) maxConnsPerIP() int {
	if o.MaxConnsPerIP > 0 {
		return o.MaxConnsPerIP
	}
	return DefaultMaxConnsPerIP
}

func (o Options) maxConns() int {
	if o.MaxConns > 0 {
		return o.MaxConns
	}
	return DefaultMaxConns
}

// plaintextAllowed applies AllowPlaintextAuth or its default (RFC 2595 §2.1:
// plaintext passwords only over TLS, with loopback as the local exception).
func (o Options) plaintextAllowed(remote netip.Addr, tlsActive bool) bool {
	if o.AllowPlaintextAuth != nil {
		return o.AllowPlaintextAuth(remote, tlsActive)
	}
	return tlsActive || remote.IsLoopback()
}
