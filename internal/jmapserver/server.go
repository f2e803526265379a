package jmapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/store"
)

// Options configure a Server.
type Options struct {
	Store store.Store
	Auth  auth.Authenticator
	// TLS serves HTTPS. A connection whose first octet is not a TLS
	// handshake is served as plain HTTP on the same port; passwords are
	// accepted on it only where AllowPlaintextAuth allows.
	TLS *tls.Config
	// AllowPlaintextAuth says whether a password (HTTP Basic or the login
	// endpoint) may be checked for remote on a connection without TLS.
	// Nil: only over TLS.
	AllowPlaintextAuth func(remote netip.Addr, tlsActive bool) bool
	// MaxMessageSize bounds Email/import, uploads of messages and
	// EmailSubmission; 0: Limits.MaxSizeUpload.
	MaxMessageSize int64
	Limits         Limits
	// TokenTTL is how long a bearer token from the login endpoint lives.
	// Zero: 24h.
	TokenTTL time.Duration
	// PingMin bounds the EventSource ping interval from below (RFC 8620
	// §7.3). Zero: 5s.
	PingMin time.Duration
	Logger  *slog.Logger
	// Queue (nil: none) takes EmailSubmission's remote recipients, as
	// SMTP submission's; Queued wakes the delivery worker after an
	// enqueue. LocalDomains are the domains delivered here besides those
	// of accounts and aliases: an unknown user there is refused, not
	// queued.
	Queue        store.Queue
	Queued       func()
	LocalDomains func() []string
	// Metrics gets method-call durations; nil: none.
	Metrics *metrics.Metrics
	// Web, when set, serves every GET no JMAP route claims (the web mail
	// page, internal/webmail); it reaches mail only through /jmap.
	Web http.Handler
	// Delivered, when set, is called in its own goroutine after an
	// EmailSubmission stored a message for a local recipient (account,
	// the envelope recipient, the envelope sender, and the start of the
	// message as stored, up to 64 KiB), as smtpserver.Options.Delivered
	// is: the vacation autoresponder (internal/vacation) is hooked here.
	// The method response does not wait for it.
	Delivered func(ctx context.Context, account, rcpt, envFrom string, head []byte)
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("jmapserver: server closed")

// Server is the JMAP HTTP server. It is also an http.Handler.
type Server struct {
	opts   Options
	limits Limits
	log    *slog.Logger
	mux    *http.ServeMux

	ctx    context.Context // cancelled by Close: ends event streams
	cancel context.CancelFunc

	tokens  *tokenTable
	web     *webSessions
	basic   *basicCache
	uploads *uploadStore
	slots   *slotTable
	subs    *submissionLog
	lists   *listCache
	tcMu    sync.Mutex
	tc      map[int64]threadCount // Mailbox thread counts by mailbox

	mu       sync.Mutex
	closed   bool
	stopping bool // Shutdown began: listeners closing is no error
	servers  []*http.Server
	lns      []net.Listener
	wg       sync.WaitGroup
}

// New returns a Server; it does nothing until Serve.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.PingMin <= 0 {
		opts.PingMin = 5 * time.Second
	}
	limits := opts.Limits.withDefaults()
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = limits.MaxSizeUpload
	}
	ctx, cancel := context.WithCancel(context.Background())
	stored := newStoredTokens(opts.Store, opts.TokenTTL, log) // nil: tokens in memory
	s := &Server{
		opts: opts, limits: limits, log: log, ctx: ctx, cancel: cancel,
		tokens:  newTokenTable(opts.TokenTTL),
		web:     newWebSessions(opts.TokenTTL),
		basic:   newBasicCache(time.Minute, 10000),
		uploads: newUploadStore(limits.MaxSizeUpload * 4),
		slots:   newSlotTable(),
		subs:    newSubmissionLog(),
		lists:   newListCache(),
		tc:      map[int64]threadCount{},
	}
	s.tokens.stored, s.web.stored = stored, stored
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jmap", s.authed(s.handleSession))
	mux.HandleFunc("POST /jmap", s.authed(s.handleAPI))
	mux.HandleFunc("POST /jmap/", s.authed(s.handleAPI))
	mux.HandleFunc("POST /jmap/upload/{accountId}/", s.authed(s.handleUpload))
	mux.HandleFunc("GET /jmap/download/{accountId}/{blobId}/{name}", s.authed(s.handleDownload))
	mux.HandleFunc("GET /jmap/eventsource/", s.authed(s.handleEventSource))
	mux.HandleFunc("POST /jmap/login", s.handleLogin)
	mux.HandleFunc("POST /jmap/logout", s.handleLogout)
	mux.HandleFunc("POST /jmap/web/login", s.handleWebLogin)
	mux.HandleFunc("GET /jmap/web/session", s.handleWebSession)
	mux.HandleFunc("POST /jmap/web/logout", s.handleWebLogout)
	mux.HandleFunc("GET /jmap/web/html/{emailId}", s.authed(s.handleWebHTML))
	mux.HandleFunc("GET /jmap/web/html/{emailId}/info", s.authed(s.handleWebHTMLInfo))
	mux.HandleFunc("GET /jmap/web/settings", s.authed(s.handleWebSettingsGet))
	mux.HandleFunc("POST /jmap/web/settings", s.authed(s.handleWebSettingsSet))
	mux.HandleFunc("POST /jmap/web/password", s.authed(s.handleWebPassword))
	if opts.Web != nil {
		mux.Handle("GET /", opts.Web)
	}
	s.mux = mux
	return s
}

// ServeHTTP implements http.Handler. A panic in a handler becomes a 500
// for that request only (and a log line); it never takes the server down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("jmap: panic in handler", "path", r.URL.Path, "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// Serve accepts connections on l until Close. Each connection is served as
// HTTPS when its first octet starts a TLS handshake (and Options.TLS is
// set), as plain HTTP otherwise.
func (s *Server) Serve(l net.Listener) error {
	tlsLn := newChanListener(l.Addr())
	plainLn := newChanListener(l.Addr())
	mk := func() *http.Server {
		return &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	hsTLS, hsPlain := mk(), mk()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.servers = append(s.servers, hsTLS, hsPlain)
	s.lns = append(s.lns, l)
	s.mu.Unlock()
	go hsTLS.Serve(tlsLn)
	go hsPlain.Serve(plainLn)
	defer tlsLn.Close()
	defer plainLn.Close()
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sniff(c, tlsLn, plainLn)
		}()
	}
}

// sniff reads the first octet of c: 0x16 is a TLS handshake record
// (RFC 8446 §5.1), anything else is plain HTTP.
func (s *Server) sniff(c net.Conn, tlsLn, plainLn *chanListener) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, 512)
	first, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	bc := &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 && s.opts.TLS != nil {
		tlsLn.deliver(tls.Server(bc, s.opts.TLS))
		return
	}
	plainLn.deliver(bc)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || s.stopping
}

// Shutdown stops the server gracefully (SIGTERM): no new connections, the
// API requests in progress finish, event streams end (an EventSource
// client reconnects, to another node or after the restart), then Close.
// When ctx ends first, Close cuts what is left; the error is then ctx's.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	servers, lns := s.servers, s.lns
	s.mu.Unlock()
	s.cancel()
	for _, l := range lns {
		l.Close()
	}
	var err error
	for _, hs := range servers {
		if e := hs.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	s.Close()
	return err
}

// Close stops every listener, ends event streams and closes connections.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers, lns := s.servers, s.lns
	s.mu.Unlock()
	s.cancel()
	for _, l := range lns {
		l.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, hs := range servers {
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
	}
	s.wg.Wait()
	return nil
}

// peekedConn replays the octets sniff peeked.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// chanListener is a net.Listener fed by sniff.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// remoteAddr is the client's address for throttling and the login log.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
