package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/drain"
	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/store"
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	Store store.Store
	Auth  auth.Authenticator
	// TLS enables STARTTLS (RFC 3501 §6.2.1); nil means no STARTTLS.
	// Serve detects listeners that already hand out *tls.Conn (IMAPS).
	TLS      *tls.Config
	Hostname string
	// AllowPlaintextAuth says whether LOGIN/AUTHENTICATE PLAIN may be used
	// on a connection; nil allows it on TLS and on loopback only
	// (RFC 3501 §6.2.3 LOGINDISABLED, RFC 9051 §6.2.3).
	AllowPlaintextAuth func(remote netip.Addr, tlsActive bool) bool
	// MaxMessageSize bounds APPEND (RFC 7889 APPENDLIMIT); default 50 MiB.
	MaxMessageSize int64
	Limits         Limits
	// Metadata bounds and fills METADATA (RFC 5464, metadata.go).
	Metadata MetadataOptions
	Logger   *slog.Logger
	// Metrics gets connections and command durations; nil: none.
	Metrics *metrics.Metrics
}

// Limits bound what one client may make the server do.
type Limits struct {
	// MaxLineLength bounds one command line without its literals; default 64 KiB.
	MaxLineLength int
	// MaxLiteralSize bounds literals other than APPEND's message; default 64 KiB.
	MaxLiteralSize int64
	// LiteralMinus advertises LITERAL- instead of LITERAL+ (RFC 7888 §4,
	// Dovecot's imap_literal_minus): non-synchronizing literals above 4096
	// octets get BAD [TOOBIG]. A server advertises one or the other.
	LiteralMinus bool
	// MaxConnsPerIP bounds concurrent connections from one remote address; default 50.
	MaxConnsPerIP int
	// MaxConns bounds concurrent connections in all, over every listener
	// of the Server; default 1000.
	MaxConns int
	// MaxConnsPerUser bounds concurrent authenticated sessions of one account; default 50.
	MaxConnsPerUser int
	// IdleTimeout closes a connection that sends nothing for this long;
	// default 30 minutes (RFC 3501 §5.4). IDLE waits at least 29 minutes
	// (RFC 2177) unless IdleTimeout is set lower explicitly.
	IdleTimeout time.Duration
	// CommandTimeout bounds how long reading one command and writing one
	// response may take; default 5 minutes. A command's clock starts with
	// its first octet, and each octet received (its lines and literals)
	// extends it by 1/64 KiB of a second, so a large APPEND on a link of at
	// least 64 KiB/s is not cut off while a client trickling a command is.
	// The IMAPS and STARTTLS handshakes and each AUTHENTICATE response are
	// bounded by CommandTimeout alone.
	CommandTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 50 << 20
	}
	if o.Limits.MaxLineLength <= 0 {
		o.Limits.MaxLineLength = 64 << 10
	}
	if o.Limits.MaxLiteralSize <= 0 {
		o.Limits.MaxLiteralSize = 64 << 10
	}
	if o.Limits.MaxConnsPerIP <= 0 {
		o.Limits.MaxConnsPerIP = 50
	}
	if o.Limits.MaxConns <= 0 {
		o.Limits.MaxConns = 1000
	}
	if o.Limits.MaxConnsPerUser <= 0 {
		o.Limits.MaxConnsPerUser = 50
	}
	if o.Limits.IdleTimeout <= 0 {
		o.Limits.IdleTimeout = 30 * time.Minute
	}
	if o.Limits.CommandTimeout <= 0 {
		o.Limits.CommandTimeout = 5 * time.Minute
	}
	o.Metadata.setDefaults()
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.AllowPlaintextAuth == nil {
		o.AllowPlaintextAuth = func(remote netip.Addr, tlsActive bool) bool {
			return tlsActive || remote.IsLoopback()
		}
	}
}

// Server accepts IMAP connections.
type Server struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]bool
	conns     map[*conn]bool
	limit     *connlimit.Counter // connections per IP and in all
	perUser   map[string]int
	closed    bool
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	// quota is the store's quota capability (RFC 9208), nil without one.
	quota store.Quotas
	// acls is the store's ACL capability (RFC 4314, acl.go), nil without
	// one: then there is no ACL command and no shared namespace.
	acls store.ACLs
	// cacheID stands for this Server's store in the process-wide caches
	// keys (msgKey).
	cacheID uint64
	// drain is begun by Shutdown (shutdown.go).
	drain drain.Signal
	// snapshots: the latest picture of recently selected mailboxes,
	// shared by the sessions that SELECT them (snapshot.go).
	snapshots *snapshotCache
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("imapserver: server closed")

// New makes a Server.
func New(opts Options) *Server {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	quota, _ := opts.Store.(store.Quotas)
	acls, _ := opts.Store.(store.ACLs)
	return &Server{
		quota:     quota,
		acls:      acls,
		opts:      opts,
		log:       opts.Logger,
		listeners: map[net.Listener]bool{},
		conns:     map[*conn]bool{},
		limit:     connlimit.New(opts.Limits.MaxConnsPerIP, opts.Limits.MaxConns),
		perUser:   map[string]int{},
		snapshots: newSnapshotCache(snapshotCacheMessages),
		cacheID:   cacheIDs.Add(1),
		ctx:       ctx,
		cancel:    cancel,
	}
}

// Serve accepts connections on l until Close. Connections that are already
// *tls.Conn (an IMAPS listener, RFC 8314) start in TLS.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed || s.drain.Active()
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(nc)
		}()
	}
}

// Close stops the listeners and closes every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.raw.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// track registers c so that Close can close it; false once the server is
// closed.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = true
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// admitUser counts an authenticated session; false when over the limit.
func (s *Server) admitUser(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[name] >= s.opts.Limits.MaxConnsPerUser {
		return false
	}
	s.perUser[name]++
	return true
}

func (s *Server) releaseUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[name]--; s.perUser[name] <= 0 {
		delete(s.perUser, name)
	}
}
