package pop3server

import (
	"crypto/tls"
	"time"
)

// cmdSTLS handles STLS (RFC 2595 §4). After "+OK" the server starts the TLS
// handshake; input the client pipelined after STLS is discarded, and the
// session starts AUTHORIZATION afresh.
func (s *session) cmdSTLS(args string) error {
	switch {
	case args != "":
		s.reply("-ERR STLS takes no arguments")
		return nil
	case s.tlsActive:
		s.reply("-ERR TLS already active")
		return nil
	case s.srv.opts.TLS == nil:
		s.reply("-ERR STLS not available")
		return nil
	}
	s.reply("+OK begin TLS negotiation")
	if err := s.t.flush(); err != nil {
		return err
	}
	tc := tls.Server(s.t.conn, s.srv.opts.TLS)
	tc.SetDeadline(time.Now().Add(s.srv.opts.idleTimeout()))
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.log.Info("pop3: STLS handshake failed", "err", err)
		return errCloseSession
	}
	s.t.replaceConn(tc)
	s.tlsActive = true
	s.pendingUser = ""
	s.log.Debug("pop3: TLS started")
	return nil
}
