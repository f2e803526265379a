package pop3server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/drain"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("pop3server: server closed")

// Server is a POP3 server. Serve may be called on several listeners (plain
// POP3 and POP3S) at once; they share one maildrop Locker.
type Server struct {
	opts   Options
	log    *slog.Logger
	locker Locker
	limit  *connlimit.Counter

	ctx    context.Context // cancelled by Close; parent of every session's context
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
	drain     drain.Signal // begun by Shutdown
}

// New returns a Server; it does nothing until Serve.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	locker := opts.Locker
	if locker == nil {
		locker = NewLocker()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:      opts,
		log:       log,
		locker:    locker,
		limit:     connlimit.New(opts.maxConnsPerIP(), opts.maxConns()),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

// Serve accepts connections on l until Close. A listener that returns
// *tls.Conn (POP3S, implicit TLS) is detected per connection. Serve returns
// ErrServerClosed after Close, or the listener's error.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() || s.drain.Active() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("pop3: accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if !s.track(c) {
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			slot, ok := s.admit(c)
			if !ok {
				return
			}
			defer slot.Release()
			defer s.opts.Metrics.Connection("pop3")()
			sess := newSession(s, c)
			sess.slot = slot
			sess.run()
		}()
	}
}

// track registers a connection; false once the server is closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every listener and closes every connection without entering
// the UPDATE state (nothing is deleted), then waits for the sessions to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var firstErr error
	for l := range s.listeners {
		if err := l.Close(); err != nil && firstErr == nil && !errors.Is(err, net.ErrClosed) {
			firstErr = err
		}
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return firstErr
}
