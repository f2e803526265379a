package smtpserver

import (
	"errors"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/auth"
)

// AuthMechanisms lists the SASL mechanisms offered in EHLO (RFC 4954 §3).
// go-smtp offers them only over TLS unless AllowInsecureAuth is set, and
// answers AUTH without TLS with 523 5.7.10. LMTP has no AUTH.
func (s *session) AuthMechanisms() []string {
	if s.srv.opts.Auth == nil || s.srv.opts.Mode == ModeLMTP {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange for mech.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.opts.Auth == nil || s.srv.opts.Mode == ModeLMTP {
		return nil, smtp.ErrAuthUnsupported
	}
	switch mech {
	case sasl.Plain:
		return &plainServer{s: s}, nil
	case sasl.Login:
		return &loginServer{s: s}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks credentials and maps the outcome to RFC 4954 §6 replies:
// 235 (by go-smtp), 535 5.7.8 for bad credentials, 454 4.7.0 when throttled
// or on internal trouble.
func (s *session) login(mech, user, pass string) error {
	acct, err := s.srv.opts.Auth.Authenticate(s.ctx, auth.Attempt{Remote: s.remote, Username: user, Password: pass, Protocol: s.srv.opts.Mode.String(), Mechanism: mech})
	switch {
	case err == nil:
		s.mu.Lock()
		s.account = &acct
		s.mu.Unlock()
		return nil // the Authenticator logged the attempt (docs/LOGINS.md)
	case errors.Is(err, auth.ErrInvalidCredentials):
		return smtp.ErrAuthFailed
	case errors.Is(err, auth.ErrThrottled):
		return errAuthThrottled
	default:
		s.srv.opts.Logger.Error("authentication error", "user", user, "err", err)
		return errAuthTemp
	}
}

// plainServer is SASL PLAIN (RFC 4616) on the server side.
type plainServer struct {
	s       *session
	started bool
}

func (p *plainServer) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil && !p.started {
		// No initial response: send an empty challenge (RFC 4954 §4).
		p.started = true
		return []byte{}, false, nil
	}
	authzid, user, pass, err := auth.DecodePlain(resp)
	if err != nil {
		return nil, true, errAuthMalformed
	}
	if !auth.AuthzidAllowed(authzid, user) {
		return nil, true, errAuthzid
	}
	return nil, true, p.s.login("PLAIN", user, pass)
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login): two
// challenges, "Username:" and "Password:". Clients that send the user name
// as an initial response skip the first.
type loginServer struct {
	s    *session
	step int
	user string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	default:
		if l.user == "" || len(resp) == 0 {
			return nil, true, errAuthMalformed
		}
		return nil, true, l.s.login("LOGIN", l.user, string(resp))
	}
}
