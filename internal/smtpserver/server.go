package smtpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/store"
)

// Server is one SMTP, submission or LMTP service. One Server may Serve
// several listeners (for example 587 with STARTTLS and 465 with implicit TLS).
type Server struct {
	opts  Options
	smtp  *smtp.Server
	limit *connlimit.Counter
	// quota is the store's quota capability (RFC 9208), nil without one.
	quota store.Quotas

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     liveConns // open connections, drain signal (shutdown.go)
}

// New makes a Server. opts.Store must be set.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{opts: opts, limit: connlimit.New(opts.MaxConnsPerIP, opts.MaxConns)}
	s.conns.metrics, s.conns.protocol = opts.Metrics, opts.Mode.String()
	s.quota, _ = opts.Store.(store.Quotas)

	ss := smtp.NewServer(backend{srv: s})
	ss.Domain = opts.Hostname
	ss.LMTP = opts.Mode == ModeLMTP
	ss.TLSConfig = opts.TLS
	ss.MaxMessageBytes = opts.MaxMessageSize
	ss.MaxRecipients = opts.MaxRecipients
	ss.MaxLineLength = opts.MaxLineLength
	ss.ReadTimeout = opts.ReadTimeout
	ss.WriteTimeout = opts.WriteTimeout
	ss.AllowInsecureAuth = opts.AllowInsecureAuth
	// RFC 6531: addresses and headers may be UTF-8; we store bytes as they
	// come, so nothing else is needed. BINARYMIME (RFC 3030) stays off: the
	// store normalises line endings, which would alter binary content.
	ss.EnableSMTPUTF8 = true
	// RFC 3461 DSN on submission with a queue: RET/ENVID and NOTIFY/ORCPT
	// go into the queue entry, are passed on to DSN-capable servers and
	// decide the notices the outbound worker makes. Not on port 25 or
	// LMTP, where no notices are made.
	ss.EnableDSN = opts.Mode == ModeSubmission && opts.Queue != nil
	ss.ErrorLog = logAdapter{opts.Logger.With("proto", opts.Mode.String())}
	s.smtp = ss
	return s
}

// Serve accepts connections on l until Close. A listener made by
// tls.NewListener gives implicit TLS (RFC 8314, port 465).
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return smtp.ErrServerClosed
	}
	dl := &deadlineListener{Listener: l, timeout: s.opts.ReadTimeout, tls: s.opts.TLS, limit: s.limit, log: s.opts.Logger.With("proto", s.opts.Mode.String()), conns: &s.conns}
	s.listeners = append(s.listeners, dl)
	s.mu.Unlock()
	return s.smtp.Serve(dl)
}

// Close stops all listeners and closes all connections. Transactions not
// yet acknowledged are abandoned; the client will retry them.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ls := s.listeners
	s.mu.Unlock()

	err := s.smtp.Close()
	for _, l := range ls {
		// Already closed by go-smtp when it knew about them; this catches a
		// Serve that registered with us but not yet with go-smtp.
		if cerr := l.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

// backend adapts Server to go-smtp's Backend.
type backend struct{ srv *Server }

// NewSession is called at the first HELO/EHLO/LHLO of a connection and
// again after STARTTLS.
func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return newSession(b.srv, c), nil
}

// logAdapter sends go-smtp's internal error log (failed handshakes, panics)
// to slog.
type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a logAdapter) Println(v ...any)               { a.l.Info(fmt.Sprint(v...)) }
