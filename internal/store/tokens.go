package store

import (
	"context"
	"errors"
	"time"
)

// Tokens is an optional Store capability: login tokens (JMAP bearer
// tokens, the web mail's session cookies) kept in the store, so they
// survive a restart and are shared by every node of a PostgreSQL
// cluster. The store never sees a token, only its hash (the issuer's
// SHA-256 of 32 random octets), so reading the database gives no way in.
// A token belongs to an account and goes with it; SetPasswordHash
// deletes every token of the account (a password change logs every
// client out), and expired ones are ignored and pruned.
type Tokens interface {
	// CreateToken stores t. ErrNoSuchAccount when t.Account is none.
	CreateToken(ctx context.Context, t Token) error
	// LookupToken returns the token whose hash is hash; ErrNoSuchToken
	// when there is none or it expired (Expires not after now).
	LookupToken(ctx context.Context, hash []byte, now time.Time) (Token, error)
	// DeleteToken removes a token (logout); an unknown one is no error.
	DeleteToken(ctx context.Context, hash []byte) error
	// DeleteAccountTokens removes every token of account except the one
	// whose hash is keep (nil: keep none): the other sessions end after
	// a password change made from one of them.
	DeleteAccountTokens(ctx context.Context, account string, keep []byte) error
	// DeleteExpiredTokens removes the tokens expired at now and says how
	// many.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error)
}

// Token is one stored login token.
type Token struct {
	Hash    []byte // SHA-256 of the token, which itself is never stored
	Account string
	Kind    string // who issued it and for what, e.g. "jmap", "web"
	Data    string // kept with the token for its issuer (e.g. a CSRF token)
	Expires time.Time
}

// ErrNoSuchToken is LookupToken's answer to an unknown or expired token.
var ErrNoSuchToken = errors.New("store: no such token")
