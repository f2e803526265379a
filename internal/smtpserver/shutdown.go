package smtpserver

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/drain"
)

// Shutdown stops the server gracefully (SIGTERM): no new connections; a
// message being received is received, stored and answered; a client
// waiting between commands gets "421 4.4.2" and is closed, and keeps its
// mail for a later try (RFC 5321 §3.8). When ctx ends first, Close cuts
// what is left (nothing acknowledged is lost: a message is answered only
// once it is durable). Returns nil, or ctx's error when connections had to
// be cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil
	}
	s.conns.drain.Begin()
	done := make(chan error, 1)
	go func() { done <- s.smtp.Shutdown(ctx) }()
	tick := time.NewTicker(drain.NudgeEvery)
	defer tick.Stop()
	for {
		s.conns.nudge()
		select {
		case err := <-done:
			s.Close()
			if errors.Is(err, smtp.ErrServerClosed) {
				err = nil
			}
			return err
		case <-tick.C:
		}
	}
}

// receiving marks the session's connection as receiving a message until
// the returned function is called: Shutdown lets it finish.
func (s *session) receiving() (done func()) {
	if s.dconn == nil {
		return func() {}
	}
	s.dconn.inData.Store(true)
	return func() { s.dconn.inData.Store(false) }
}
