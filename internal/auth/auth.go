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

// Authenticator checks a login. Front ends depend on this interface only.
type Authenticator interface {
	// Authenticate checks username/password for a client at remote. On
	// failure it sleeps a short, growing delay before returning (the delay is
	// the throttle); it returns ErrThrottled without checking the password
	// when remote has failed too often recently.
	Authenticate(ctx context.Context, remote netip.Addr, username, password string) (store.Account, error)
}
