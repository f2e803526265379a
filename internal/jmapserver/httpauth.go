package jmapserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

// HTTP authentication (RFC 8620 §1.3 leaves the scheme to the server):
// HTTP Basic (RFC 7617) checked by the same Authenticator as IMAP and POP3
// (Protocol "jmap", so throttling and the login log line are shared), or a
// bearer token (RFC 6750) issued by POST /jmap/login, or the web mail's
// session cookie with its CSRF header (cookieauth.go).

type ctxKey struct{}

// principal is the authenticated account of a request.
type principal struct {
	acct store.Account
}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(ctxKey{}).(principal)
	return p
}

// authed wraps h with authentication.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		acct, status, msg := s.authenticate(r)
		if status != 0 {
			if _, err := r.Cookie(sessionCookie); status == http.StatusUnauthorized && err != nil {
				// Not for the web page: a browser would open its own
				// password dialog.
				w.Header().Set("WWW-Authenticate", `Basic realm="letterbox", charset="UTF-8"`)
			}
			http.Error(w, msg, status)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, principal{acct: acct})))
	}
}

// authenticate checks the Authorization header; status 0 means success.
func (s *Server) authenticate(r *http.Request) (store.Account, int, string) {
	h := r.Header.Get("Authorization")
	if tok := r.URL.Query().Get("access_token"); h == "" && tok != "" && r.Method == http.MethodGet {
		// RFC 6750 §2.3, for clients that cannot set headers (a browser's
		// EventSource, download links).
		h = "Bearer " + tok
	}
	if h == "" {
		if acct, status, msg, ok := s.cookieAuth(r); ok {
			return acct, status, msg
		}
	}
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		name, ok := s.tokens.lookup(strings.TrimSpace(cred))
		if !ok {
			return store.Account{}, http.StatusUnauthorized, "invalid or expired token"
		}
		acct, err := s.opts.Store.Account(r.Context(), name)
		if err != nil {
			return store.Account{}, http.StatusUnauthorized, "invalid or expired token"
		}
		return acct, 0, ""
	case strings.EqualFold(scheme, "Basic"):
		if !s.plaintextOK(r) {
			return store.Account{}, http.StatusForbidden, "passwords are accepted only over TLS (https)"
		}
		if name, ok := s.basic.lookup(h); ok {
			if acct, err := s.opts.Store.Account(r.Context(), name); err == nil {
				return acct, 0, ""
			}
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return store.Account{}, http.StatusUnauthorized, "malformed Basic credentials"
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return store.Account{}, http.StatusUnauthorized, "malformed Basic credentials"
		}
		acct, status, msg := s.checkPassword(r, user, pass, "BASIC")
		if status == 0 {
			s.basic.add(h, acct.Name)
		}
		return acct, status, msg
	}
	return store.Account{}, http.StatusUnauthorized, "authentication required"
}

func (s *Server) plaintextOK(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.opts.AllowPlaintextAuth != nil && s.opts.AllowPlaintextAuth(remoteAddr(r), false)
}

func (s *Server) checkPassword(r *http.Request, user, pass, mech string) (store.Account, int, string) {
	if s.opts.Auth == nil {
		return store.Account{}, http.StatusUnauthorized, "no authenticator"
	}
	acct, err := s.opts.Auth.Authenticate(r.Context(), auth.Attempt{
		Remote: remoteAddr(r), Username: user, Password: pass, Protocol: "jmap", Mechanism: mech,
	})
	switch {
	case err == nil:
		return acct, 0, ""
	case errors.Is(err, auth.ErrThrottled):
		return store.Account{}, http.StatusTooManyRequests, "too many failed logins, try again later"
	case errors.Is(err, auth.ErrInvalidCredentials):
		return store.Account{}, http.StatusUnauthorized, "invalid credentials"
	}
	return store.Account{}, http.StatusServiceUnavailable, "authentication temporarily unavailable"
}

// handleLogin issues a bearer token for a user name and password sent as
// JSON {"username": …, "password": …} or as a form.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.plaintextOK(r) {
		http.Error(w, "passwords are accepted only over TLS (https)", http.StatusForbidden)
		return
	}
	var in struct{ Username, Password string }
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "body must be {\"username\": …, \"password\": …}", http.StatusBadRequest)
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		in.Username, in.Password = r.PostForm.Get("username"), r.PostForm.Get("password")
	}
	acct, status, msg := s.checkPassword(r, in.Username, in.Password, "PASSWORD")
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	tok, err := s.tokens.issue(acct.Name)
	if err != nil {
		s.log.Error("jmap: storing a token", "err", err)
		http.Error(w, "the login could not be stored, try again later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"accessToken": tok, "tokenType": "Bearer", "expiresIn": int(s.opts.TokenTTL.Seconds()),
		"username": acct.Name,
	})
}

// handleLogout revokes the bearer token of the request.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		http.Error(w, "bearer token required", http.StatusBadRequest)
		return
	}
	s.tokens.revoke(strings.TrimSpace(cred))
	w.WriteHeader(http.StatusNoContent)
}

// tokenTable holds issued bearer tokens: in the store when it keeps
// tokens (stored, tokens.go: they survive a restart), else in memory (a
// restart logs every token out). Tokens are 256 random bits; only their
// SHA-256 is kept.
type tokenTable struct {
	ttl    time.Duration
	stored *storedTokens // nil: memory only
	mu     sync.Mutex
	m      map[[32]byte]tokenEntry
}

type tokenEntry struct {
	account string
	expires time.Time
}

func newTokenTable(ttl time.Duration) *tokenTable {
	return &tokenTable{ttl: ttl, m: make(map[[32]byte]tokenEntry)}
}

func (t *tokenTable) issue(account string) (string, error) {
	if t.stored != nil {
		return t.stored.issue(tokenKindBearer, account, "")
	}
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if now.After(e.expires) {
			delete(t.m, k)
		}
	}
	t.m[sha256.Sum256([]byte(tok))] = tokenEntry{account: account, expires: now.Add(t.ttl)}
	return tok, nil
}

func (t *tokenTable) lookup(tok string) (string, bool) {
	if t.stored != nil {
		st, ok := t.stored.lookup(tokenKindBearer, tok)
		return st.Account, ok
	}
	k := sha256.Sum256([]byte(tok))
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	if !ok || time.Now().After(e.expires) {
		delete(t.m, k)
		return "", false
	}
	return e.account, true
}

func (t *tokenTable) revoke(tok string) {
	if t.stored != nil {
		t.stored.revoke(tok)
		return
	}
	t.mu.Lock()
	delete(t.m, sha256.Sum256([]byte(tok)))
	t.mu.Unlock()
}

// revokeAccount ends every token of account.
func (t *tokenTable) revokeAccount(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if e.account == account {
			delete(t.m, k)
		}
	}
}

// basicCache remembers a verified Basic header for a short time, so a
// client sending it with every request does not leave a login line (and a
// throttle check) per request. Keyed by the header's SHA-256.
type basicCache struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[[32]byte]tokenEntry
}

func newBasicCache(ttl time.Duration, max int) *basicCache {
	return &basicCache{ttl: ttl, max: max, m: make(map[[32]byte]tokenEntry)}
}

func (c *basicCache) lookup(h string) (string, bool) {
	k := sha256.Sum256([]byte(h))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Now().After(e.expires) {
		delete(c.m, k)
		return "", false
	}
	return e.account, true
}

func (c *basicCache) add(h, account string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.After(e.expires) || len(c.m) >= c.max {
				delete(c.m, k)
			}
		}
	}
	c.m[sha256.Sum256([]byte(h))] = tokenEntry{account: account, expires: now.Add(c.ttl)}
}

// revokeAccount forgets the verified Basic headers of account.
func (c *basicCache) revokeAccount(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.account == account {
			delete(c.m, k)
		}
	}
}

// slotTable counts the API requests and uploads running per account
// (maxConcurrentRequests, maxConcurrentUpload).
type slotTable struct {
	mu sync.Mutex
	n  map[string]int
}

func newSlotTable() *slotTable { return &slotTable{n: make(map[string]int)} }

func (t *slotTable) acquire(key string, max int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[key] >= max {
		return false
	}
	t.n[key]++
	return true
}

func (t *slotTable) release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[key]--; t.n[key] <= 0 {
		delete(t.n, key)
	}
}
