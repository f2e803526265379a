package jmapserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Login tokens kept in the store (store.Tokens) when it has them: bearer
// tokens from POST /jmap/login (kind "jmap") and the web mail's session
// cookies (kind "web", with the session's CSRF token as data). Only the
// SHA-256 of a token is stored, so they survive a restart and are shared
// by every node of a PostgreSQL cluster; a password change deletes them
// (store.SetPasswordHash), logout deletes one, and expired ones are pruned
// at most once a minute when a new one is issued. A store without the
// capability keeps them in memory (tokenTable, webSessions).

const (
	tokenKindBearer = "jmap"
	tokenKindWeb    = "web"
	// pruneEvery bounds how often issuing a token also deletes the
	// expired ones.
	pruneEvery = time.Minute
	// tokenOpTimeout bounds one store call for a token.
	tokenOpTimeout = 10 * time.Second
)

type storedTokens struct {
	st  store.Tokens
	ttl time.Duration
	log *slog.Logger

	mu        sync.Mutex
	lastPrune time.Time
}

// newStoredTokens is nil when st keeps no tokens.
func newStoredTokens(st store.Store, ttl time.Duration, log *slog.Logger) *storedTokens {
	tk, ok := st.(store.Tokens)
	if !ok {
		return nil
	}
	return &storedTokens{st: tk, ttl: ttl, log: log}
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// issue stores a new random token of kind for account and returns it.
func (p *storedTokens) issue(kind, account, data string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenOpTimeout)
	defer cancel()
	tok := randomToken(32)
	now := time.Now()
	if err := p.st.CreateToken(ctx, store.Token{Hash: tokenHash(tok), Account: account, Kind: kind, Data: data,
		Expires: now.Add(p.ttl)}); err != nil {
		return "", err
	}
	p.mu.Lock()
	prune := now.Sub(p.lastPrune) >= pruneEvery
	if prune {
		p.lastPrune = now
	}
	p.mu.Unlock()
	if prune {
		if _, err := p.st.DeleteExpiredTokens(ctx, now); err != nil {
			p.log.Warn("jmap: pruning expired tokens", "err", err)
		}
	}
	return tok, nil
}

// lookup finds a live token of kind.
func (p *storedTokens) lookup(kind, tok string) (store.Token, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenOpTimeout)
	defer cancel()
	t, err := p.st.LookupToken(ctx, tokenHash(tok), time.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNoSuchToken) {
			p.log.Warn("jmap: looking a token up", "err", err)
		}
		return store.Token{}, false
	}
	return t, t.Kind == kind
}

// restore stores token tok again (kind, account, data, expiry as they
// were).
func (p *storedTokens) restore(kind, tok, account, data string, expires time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenOpTimeout)
	defer cancel()
	if err := p.st.CreateToken(ctx, store.Token{Hash: tokenHash(tok), Account: account, Kind: kind, Data: data, Expires: expires}); err != nil {
		p.log.Warn("jmap: restoring a session", "account", account, "err", err)
	}
}

// revokeAccount deletes every stored token of account but keep ("" : all).
func (p *storedTokens) revokeAccount(account, keep string) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenOpTimeout)
	defer cancel()
	var k []byte
	if keep != "" {
		k = tokenHash(keep)
	}
	if err := p.st.DeleteAccountTokens(ctx, account, k); err != nil {
		p.log.Warn("jmap: deleting an account's tokens", "account", account, "err", err)
	}
}

func (p *storedTokens) revoke(tok string) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenOpTimeout)
	defer cancel()
	if err := p.st.DeleteToken(ctx, tokenHash(tok)); err != nil {
		p.log.Warn("jmap: deleting a token", "err", err)
	}
}
