// Package auth verifies passwords (argon2id in PHC strings), throttles failed
// logins per remote IP and per account, and decodes SASL PLAIN (RFC 4616).
// POP3, IMAP and SMTP submission share one Authenticator so a guesser is
// slowed across all protocols at once.
package auth

import (
	"context"
	"errors"
	"net/netip"

	"github.com/letterbox/letterbox/internal/store"
)

var (
	// ErrInvalidCredentials: unknown user or wrong password (never say which).
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrThrottled: too many recent failures from this IP or for this account;
	// the caller answers with a temporary failure and the client may retry later.
	ErrThrottled = errors.New("auth: too many failed logins, try again later")
)

// Attempt is one login: who, from where, with what password, and (for
// the log line every attempt leaves) over which protocol and mechanism.
type Attempt struct {
	Remote    netip.Addr
	Username  string
	Password  string
	Protocol  string // "imap", "pop3", "smtp", "jmap"
	Mechanism string // "LOGIN", "PLAIN", "USER", …
}

// Authenticator checks a login. Front ends depend on this interface only.
type Authenticator interface {
	// Authenticate checks a login attempt. A failed attempt answers after
	// a short delay (the cost to the guesser); ErrThrottled comes without
	// a password check when the account or the remote has failed too
	// often recently (see throttle.go for the policy).
	Authenticate(ctx context.Context, a Attempt) (store.Account, error)
}

// PasswordSetter is implemented by Authenticators that can change an
// account's password (the Service: it hashes the new one and forgets the
// cached logins of the account). Front ends that let a user change their
// password check for it once with a type assertion.
type PasswordSetter interface {
	SetPassword(ctx context.Context, username, password string) error
}
