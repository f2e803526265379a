package imapserver

import (
	"errors"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
)

// idleKeepalive is how often an idling session says "* OK Still here".
const idleKeepalive = 2 * time.Minute

// cmdIdle: IDLE (RFC 2177, RFC 9051 §6.3.13). The session sends what is
// pending, then waits on the change feed and on the client's DONE only:
// no store query runs until the feed signals the selected mailbox, and then
// the updates go out at once.
func (s *session) cmdIdle(cmd *imap.Command) (string, error) {
	c := s.c
	c.w.Continuation("idling")
	if s.state == stateSelected {
		s.pushUpdates(true)
	}
	if s.notify != nil {
		s.notifyNow(true)
	}
	if err := c.flush(); err != nil {
		return "", errCloseConn
	}
	c.idleCompressor()
	done := make(chan error, 1)
	c.readDeadline(s.srv.opts.Limits.IdleTimeout)
	go func() { done <- c.waitIdleDone() }()
	var feed <-chan struct{}
	if s.watcher != nil {
		feed = s.watcher.Ready()
	}
	var selFeed <-chan struct{}
	if s.selWatch != nil {
		selFeed = s.selWatch.Ready() // a shared mailbox's owner (shared.go)
	}
	keepalive := time.NewTicker(idleKeepalive)
	defer keepalive.Stop()
	s.feedWaiting = true
	defer func() { s.feedWaiting = false }()
	for {
		select {
		case <-keepalive.C:
			// Keeps NAT mappings and the client's own timers alive
			// (RFC 2177 §3 allows any untagged response); no store query.
			c.w.WriteStatus("", "OK", "", "Still here")
			if err := c.flush(); err != nil {
				return "", errCloseConn
			}
			c.idleCompressor()
		case <-s.srv.drain.Done():
			c.w.WriteStatus("", "BYE", "", "Server shutting down")
			return "", errCloseConn
		case err := <-done:
			switch {
			case s.srv.draining() && err != nil:
				c.w.WriteStatus("", "BYE", "", "Server shutting down")
				return "", errCloseConn
			case err == nil:
				return "", nil
			case errors.Is(err, errNotDone):
				return "", errBad("Expected DONE")
			case errors.Is(err, errIdleResync):
				c.w.WriteStatus(cmd.Tag, "BAD", "", "Expected DONE")
				c.w.WriteStatus("", "BYE", "", "Cannot resynchronise after a literal sent during IDLE, closing connection")
				return "", errCloseConn
			case isTimeout(err):
				c.w.WriteStatus("", "BYE", "", "Idle timeout, closing connection")
				return "", errCloseConn
			case errors.As(err, new(*errCompressedInput)):
				s.log.Info("imap compressed input invalid, closing connection", "err", err)
				c.w.WriteStatus("", "BYE", "", "Invalid compressed data, closing connection")
				return "", errCloseConn
			default:
				return "", errCloseConn
			}
		case _, ok := <-selFeed:
			if !ok {
				selFeed = nil
			}
			s.drainFeed()
			if s.selGone {
				c.w.WriteStatus("", "BYE", "", "Selected mailbox was deleted, closing connection")
				return "", errCloseConn
			}
			if s.changed && s.state == stateSelected {
				s.syncView(true, false)
				if err := c.flush(); err != nil {
					return "", errCloseConn
				}
				c.idleCompressor()
			}
		case _, ok := <-feed:
			if !ok {
				feed = nil
			}
			s.drainFeed()
			if s.selGone {
				c.w.WriteStatus("", "BYE", "", "Selected mailbox was deleted, closing connection")
				return "", errCloseConn
			}
			if s.notify != nil {
				// NOTIFY decides what IDLE reports (RFC 5465 §4).
				s.notifyNow(true)
				if err := c.flush(); err != nil {
					return "", errCloseConn
				}
				continue
			}
			if s.changed && s.state == stateSelected {
				s.syncView(true, false)
				if err := c.flush(); err != nil {
					return "", errCloseConn
				}
				c.idleCompressor()
			}
		case <-s.ctx.Done():
			c.w.WriteStatus("", "BYE", "", "Server shutting down")
			return "", errCloseConn
		}
	}
}
