package pop3server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/store"
)

// state is a POP3 session state (RFC 1939 §3).
type state int

const (
	stateAuthorization state = iota
	stateTransaction
	stateUpdate
)

func (st state) String() string {
	switch st {
	case stateAuthorization:
		return "AUTHORIZATION"
	case stateTransaction:
		return "TRANSACTION"
	default:
		return "UPDATE"
	}
}

// errCloseSession ends the session after the current reply is flushed.
var errCloseSession = errors.New("pop3server: close session")

// session is one client connection.
type session struct {
	srv       *Server
	slot      *connlimit.Slot // its place under the connection limits
	t         *transport
	log       *slog.Logger
	ctx       context.Context
	remote    netip.Addr
	tlsActive bool
	state     state

	// AUTHORIZATION state.
	pendingUser string // name from USER, waiting for PASS
	utf8        bool   // RFC 6856 UTF8 command given

	// TRANSACTION state.
	account     store.Account
	mailbox     store.Mailbox
	uidValidity uint32
	messages    []message // the snapshot taken at login; number n is messages[n-1]
	unlock      func()    // releases the maildrop lock
}

// message is one entry of the maildrop snapshot.
type message struct {
	uid     store.UID
	size    int64
	blobID  string
	deleted bool
}

func newSession(srv *Server, c net.Conn) *session {
	s := &session{
		srv: srv,
		t:   newTransport(c, srv.opts.idleTimeout()),
		ctx: srv.ctx,
	}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		s.remote = ap.Addr().Unmap()
	}
	_, s.tlsActive = c.(*tls.Conn)
	s.log = srv.log.With("proto", "pop3", "remote", c.RemoteAddr().String())
	return s
}

// run drives the session until QUIT, an I/O error, the idle timeout or
// Server.Close. It never enters UPDATE except on QUIT.
func (s *session) run() {
	defer s.releaseMaildrop()
	s.log.Debug("pop3: connected", "tls", s.tlsActive)
	if tc, ok := s.t.conn.(*tls.Conn); ok {
		// POP3S: finish the handshake before the greeting (RFC 8314 §3.3).
		tc.SetDeadline(time.Now().Add(s.srv.opts.idleTimeout()))
		if err := tc.HandshakeContext(s.ctx); err != nil {
			s.log.Info("pop3: TLS handshake failed", "err", err)
			return
		}
	}
	s.greet()
	for {
		if s.srv.drain.Active() {
			s.sayShuttingDown()
			return
		}
		if !s.t.hasBufferedLine() {
			if err := s.t.flush(); err != nil {
				s.log.Debug("pop3: write", "err", err)
				return
			}
		}
		line, err := s.t.readLine(s.srv.opts.maxLineLength())
		if errors.Is(err, errLineTooLong) {
			s.log.Info("pop3: command line too long")
			s.reply("-ERR command line too long")
			continue
		}
		if err != nil && s.srv.drain.Active() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			s.sayShuttingDown()
			return
		}
		if err != nil {
			s.readFailed(err)
			return
		}
		started := time.Now()
		err = s.execute(line)
		s.srv.opts.Metrics.Command("pop3", commandLabel(line), time.Since(started))
		if err != nil {
			if !errors.Is(err, errCloseSession) {
				s.log.Info("pop3: session ended", "err", err)
			}
			s.t.flush()
			return
		}
	}
}

func (s *session) greet() {
	if s.srv.opts.Hostname != "" {
		s.reply("+OK %s letterbox POP3 server ready", s.srv.opts.Hostname)
	} else {
		s.reply("+OK letterbox POP3 server ready")
	}
}

// readFailed handles a failed command read: idle timeout (RFC 1939 §3
// autologout, without UPDATE), disconnect, or Server.Close.
func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && !s.srv.isClosed():
		// RFC 1939 §3: close "without removing any messages or sending
		// any response to the client".
		s.log.Info("pop3: idle timeout", "state", s.state)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		s.log.Debug("pop3: disconnected", "state", s.state)
	default:
		s.log.Info("pop3: read", "err", err)
	}
}

// execute runs one command line. A panic in a handler is logged and ends the
// session with -ERR [SYS/TEMP]; nothing is deleted.
func (s *session) execute(line string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("pop3: panic in command", "panic", p, "stack", string(debug.Stack()))
			s.reply("-ERR [SYS/TEMP] internal server error")
			err = errCloseSession
		}
	}()
	name, args, _ := strings.Cut(line, " ")
	cmd, ok := commands[strings.ToUpper(name)]
	if !ok {
		s.reply("-ERR unknown command")
		return nil
	}
	if !cmd.validIn(s.state) {
		s.reply("-ERR command not valid in this state")
		return nil
	}
	return cmd.run(s, args)
}

// reply writes one response line (RFC 1939 §3: CRLF-terminated).
func (s *session) reply(format string, a ...any) {
	fmt.Fprintf(s.t.w, format, a...)
	s.t.w.WriteString("\r\n")
}

// releaseMaildrop gives up the maildrop lock, if held.
func (s *session) releaseMaildrop() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// commandLabel names a command line's command for the metrics: a name of
// the command table, else "unknown" (a bounded label set).
func commandLabel(line string) string {
	name, _, _ := strings.Cut(line, " ")
	name = strings.ToUpper(name)
	if _, ok := commands[name]; !ok {
		return "unknown"
	}
	return name
}
