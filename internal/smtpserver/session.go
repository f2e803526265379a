package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
)

// session is one client's state between HELO and QUIT (or STARTTLS, after
// which go-smtp makes a fresh session). go-smtp calls its methods from the
// connection goroutine, except Data/LMTPData under BDAT, which run on their
// own goroutine while the connection goroutine may call Reset or Logout; mu
// guards the transaction fields for that case.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	dconn  *deadlineConn // under conn, nil if none; marks DATA for Shutdown
	remote netip.Addr
	ctx    context.Context
	cancel context.CancelFunc

	rdnsOnce sync.Once
	rdns     string // reverse DNS name of remote, looked up at the first message

	mu      sync.Mutex
	account *store.Account // set by AUTH
	tx      transaction
}

// transaction is the envelope of one message (RFC 5321 §3.3).
type transaction struct {
	active bool // MAIL accepted
	from   string
	utf8   bool  // SMTPUTF8 given on MAIL (RFC 6531 §3.4)
	size   int64 // SIZE given on MAIL (RFC 1870), 0 when none
	rcpts  []recipient
	// ret and envID are the DSN parameters of MAIL (RFC 3461 §4.3, §4.4).
	ret, envID string
	// Connection facts for the trace header, taken at MAIL on the
	// connection goroutine (BDAT delivers on another one).
	helo string
	tls  *tls.ConnectionState
}

// recipient is one accepted RCPT: the address as the client wrote it (go-smtp
// reports LMTP statuses by it) and the account it resolved to
// (remoteRecipient for one that goes to the outbound queue).
type recipient struct {
	addr    string
	account string
	// notify and orcpt are the DSN parameters of RCPT (RFC 3461 §4.1,
	// §4.2), in store.EnvelopeRcpt's form.
	notify, orcpt string
}

func newSession(srv *Server, c *smtp.Conn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{srv: srv, conn: c, ctx: ctx, cancel: cancel, dconn: dataConn(c.Conn())}
	if ap, err := netip.ParseAddrPort(c.Conn().RemoteAddr().String()); err == nil {
		s.remote = ap.Addr().Unmap()
	}
	return s
}

// authenticated returns the logged-in account, or nil.
func (s *session) authenticated() *store.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account
}

// Mail starts a transaction (RFC 5321 §4.1.1.2).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx.active {
		return errNestedMail
	}
	if hasControl(from) {
		return errBadSender
	}
	if s.srv.opts.Mode == ModeSubmission && s.account == nil {
		return errAuthRequired
	}
	// RFC 6409 §6.1: a submission server may refuse a sender the
	// authenticated user does not own; we allow the account's own address
	// and its aliases (not a catch-all's other addresses; the null sender
	// neither: it is for bounces, not users).
	if s.account != nil && !strings.EqualFold(from, s.account.Name) {
		owns, err := s.ownsAlias(from)
		if err != nil {
			return errTempFailure
		}
		if !owns {
			return senderMismatch()
		}
	}
	s.tx = transaction{active: true, from: from, utf8: opts != nil && opts.UTF8, helo: s.conn.Hostname()}
	if opts != nil {
		s.tx.size = opts.Size
		s.tx.ret, s.tx.envID = string(opts.Return), opts.EnvelopeID
	}
	if state, ok := s.conn.TLSConnectionState(); ok {
		s.tx.tls = &state
	}
	return nil
}

// Rcpt adds a recipient (RFC 5321 §4.1.1.3) after deciding whether we are
// its final destination.
func (s *session) Rcpt(to string, ropts *smtp.RcptOptions) error {
	if hasControl(to) {
		return errBadRecipient
	}
	account, err := s.srv.resolveRecipient(s.ctx, to, s.authenticated() != nil)
	if err != nil {
		if !isReply(err) {
			s.srv.opts.Logger.Error("recipient lookup failed", "rcpt", to, "err", err)
			return errTempFailure
		}
		return err
	}
	s.mu.Lock()
	size := s.tx.size
	s.mu.Unlock()
	if account != remoteRecipient {
		if err := s.srv.roomFor(s.ctx, account, size); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rc := recipient{addr: to, account: account}
	if ropts != nil {
		var notify []string
		for _, n := range ropts.Notify {
			notify = append(notify, string(n))
		}
		rc.notify = strings.Join(notify, ",")
		if ropts.OriginalRecipient != "" {
			rc.orcpt = strings.ToLower(string(ropts.OriginalRecipientType)) + ";" + ropts.OriginalRecipient
		}
	}
	s.tx.rcpts = append(s.tx.rcpts, rc)
	return nil
}

// Reset discards the transaction (RSET, or after each message).
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tx = transaction{}
}

// Logout ends the session; a delivery still reading from the client is
// cancelled.
func (s *session) Logout() error {
	s.cancel()
	return nil
}

// remoteName returns the client's reverse DNS name ("" if none), looked up
// once per session.
func (s *session) remoteName() string {
	s.rdnsOnce.Do(func() { s.rdns = s.srv.reverseName(s.ctx, s.remote) })
	return s.rdns
}

// snapshot returns the current transaction for delivery.
func (s *session) snapshot() transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.tx
	tx.rcpts = append([]recipient(nil), s.tx.rcpts...)
	return tx
}

// hasControl reports control characters (CR, LF, NUL, DEL...) in an address:
// go-smtp splits lines on LF only, so a bare CR could otherwise reach the
// Return-Path header we write and forge a header line.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// isReply reports whether err is already an SMTP reply.
func isReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

// ownsAlias reports whether from is an exact alias of the authenticated
// account.
func (s *session) ownsAlias(from string) (bool, error) {
	al, ok := s.srv.opts.Store.(store.Aliases)
	if !ok {
		return false, nil
	}
	addr, err := store.NormalizeAlias(from)
	if err != nil || strings.HasPrefix(addr, "@") {
		return false, nil
	}
	list, err := al.Aliases(s.ctx)
	if err != nil {
		return false, err
	}
	for _, a := range list {
		if a.Address == addr {
			return a.Account == s.account.Name, nil
		}
	}
	return false, nil
}
