package pop3server

import (
	"context"
	"time"

	"github.com/letterbox/letterbox/internal/drain"
)

// Shutdown stops the server gracefully (SIGTERM): no new connections; a
// command in progress (a RETR being sent) finishes; then each session
// gets "-ERR [SYS/TEMP] server shutting down" (RFC 3206 §4: a temporary
// condition) and is closed without entering the UPDATE state, so nothing
// marked with DELE is removed (RFC 1939 §6 removes only at QUIT). When
// ctx ends first, Close cuts what is left; the error is then ctx's.
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

// nudge wakes every session blocked reading from its client.
func (s *Server) nudge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for c := range s.conns {
		c.SetReadDeadline(now)
	}
}

// sayShuttingDown is the last word to a drained session's client.
func (s *session) sayShuttingDown() {
	s.reply("-ERR [SYS/TEMP] server shutting down")
	s.t.flush()
}
