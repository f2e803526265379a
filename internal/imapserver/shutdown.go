package imapserver

import (
	"context"
	"time"

	"github.com/letterbox/letterbox/internal/drain"
)

// Shutdown stops the server gracefully (SIGTERM): no new connections; a
// command in progress runs to its end and gets its tagged response; then
// each session sends "* BYE Server shutting down" (RFC 3501 §7.1.5) and
// closes, at once for a session waiting for its next command or in IDLE.
// A command still being received (a literal upload) is cut: it was never
// answered, so the client retries it. When ctx ends first, Close cuts
// what is left. Returns nil, or ctx's error when sessions had to be cut.
func (s *Server) Shutdown(ctx context.Context) error {
	return drain.Shutdown(ctx, &s.drain, s.stopListening, &s.wg, s.nudge, s.Close)
}

// stopListening closes the listeners; true when the server was closed
// already.
func (s *Server) stopListening() (closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		l.Close()
	}
	return s.closed
}

// nudge wakes every session blocked reading from its client (see
// internal/drain).
func (s *Server) nudge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for c := range s.conns {
		c.raw.SetReadDeadline(now)
	}
}

// draining reports whether Shutdown has begun.
func (s *Server) draining() bool { return s.drain.Active() }
