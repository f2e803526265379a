package imapserver

import (
	"errors"
	"strings"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imap"
)

// cmdStartTLS: STARTTLS (RFC 3501 §6.2.1). The tagged OK goes out in
// plaintext, then the handshake; whatever the client pipelined after the
// command is discarded with the old buffers (RFC 3501 §6.2.1, RFC 2595 §3.1).
func (s *session) cmdStartTLS(cmd *imap.Command) (string, error) {
	if s.srv.opts.TLS == nil {
		return "", errBad("STARTTLS not available")
	}
	if s.c.tls {
		return "", errBad("TLS already active")
	}
	s.c.w.WriteStatus(cmd.Tag, "OK", "", "Begin TLS negotiation now")
	if err := s.c.flush(); err != nil {
		return "", errCloseConn
	}
	if err := s.c.startTLS(); err != nil {
		s.log.Debug("imap starttls handshake failed", "err", err)
		return "", errCloseConn
	}
	return "", errAnswered
}

// cmdLogin: LOGIN (RFC 3501 §6.2.3); refused with PRIVACYREQUIRED where
// plaintext authentication is disabled (LOGINDISABLED).
func (s *session) cmdLogin(cmd *imap.Command) (string, error) {
	if !s.plaintextAllowed() {
		return "", errNo("PRIVACYREQUIRED", "LOGIN is disabled before STARTTLS")
	}
	a := cmd.Args.(*imap.LoginArgs)
	return s.login("LOGIN", a.Username, a.Password)
}

// cmdAuthenticate: AUTHENTICATE (RFC 3501 §6.2.2) with the PLAIN mechanism
// (RFC 4616) and an optional initial response (SASL-IR, RFC 4959).
func (s *session) cmdAuthenticate(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.AuthenticateArgs)
	if a.Mechanism != "PLAIN" {
		return "", errNo("CANNOT", "Unsupported authentication mechanism")
	}
	if !s.plaintextAllowed() {
		return "", errNo("PRIVACYREQUIRED", "Plaintext authentication is disabled before STARTTLS")
	}
	resp := a.InitialResponse
	if resp == nil {
		s.c.w.SASLChallenge(nil)
		if err := s.c.flush(); err != nil {
			return "", errCloseConn
		}
		s.c.readDeadline(s.srv.opts.Limits.CommandTimeout)
		var err error
		resp, err = s.c.r.ReadSASLResponse()
		if errors.Is(err, imap.ErrSASLCancelled) {
			return "", errBad("Authentication cancelled")
		}
		var pe *imap.ParseError
		if errors.As(err, &pe) {
			return "", errBad("Invalid base64 in SASL response")
		}
		if err != nil {
			return "", errCloseConn
		}
	}
	authzid, user, pass, err := auth.DecodePlain(resp)
	if err != nil {
		return "", errBad("Malformed PLAIN response")
	}
	if authzid != "" && !auth.AuthzidAllowed(authzid, user) {
		return "", errNo("AUTHORIZATIONFAILED", "Not allowed to act as "+authzid)
	}
	return s.login("PLAIN", user, pass)
}

// login checks credentials through the shared Authenticator (throttling
// included) and enters the authenticated state (RFC 3501 §3.2).
func (s *session) login(mech, user, pass string) (string, error) {
	acct, err := s.srv.opts.Auth.Authenticate(s.ctx, auth.Attempt{Remote: s.c.remote, Username: user, Password: pass, Protocol: "imap", Mechanism: mech})
	if err != nil {
		if pe := storeError(err, false); pe != nil {
			return "", pe
		}
		return "", err
	}
	if !s.srv.admitUser(acct.Name) {
		return "", errNo("LIMIT", "Too many sessions for this account")
	}
	s.userCounted = true
	s.slot.Authenticated() // no longer evicted for a newer connection
	s.account = acct
	boxes, err := s.srv.opts.Store.Mailboxes(s.ctx, acct.Name)
	if err != nil {
		s.srv.releaseUser(acct.Name)
		s.userCounted = false
		return "", err
	}
	s.boxes = boxes
	s.watcher = s.srv.opts.Store.Watch(acct.Name)
	s.state = stateAuthenticated
	s.log = s.log.With("account", acct.Name)
	s.log.Info("imap login", "tls", s.c.tls)
	return "CAPABILITY " + strings.Join(s.capabilities(), " "), nil
}
