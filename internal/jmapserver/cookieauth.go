package jmapserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Cookie sessions for the web mail page (internal/webmail), which is a
// JMAP client served from the same origin. A browser cannot keep a bearer
// token away from script, so the page logs in with POST /jmap/web/login and
// gets a session cookie (RFC 6265 §4.1: HttpOnly, Secure over TLS,
// SameSite=Strict, Path=/) plus a CSRF token it keeps in memory and sends
// as the X-CSRF-Token header. A request authenticated by the cookie alone
// may only read (GET/HEAD); any other method must carry the token, checked
// in constant time against the session. The login itself must be JSON, which
// a cross-site form cannot send without a CORS preflight (login CSRF).

const (
	sessionCookie = "lb_session"
	csrfHeader    = "X-CSRF-Token"
)

// webSessions holds cookie sessions keyed by the SHA-256 of the cookie
// value: in the store when it keeps tokens (tokens.go, kind "web", the
// CSRF token as data: they survive a restart), else in memory (a restart
// logs every page out).
type webSessions struct {
	ttl    time.Duration
	stored *storedTokens // non-nil: sessions kept in the store (tokens.go)
	mu     sync.Mutex
	m      map[[32]byte]webSession
}

type webSession struct {
	account string
	csrf    string
	expires time.Time
}

func newWebSessions(ttl time.Duration) *webSessions {
	return &webSessions{ttl: ttl, m: make(map[[32]byte]webSession)}
}

// issue starts a session: it returns the cookie value and the CSRF token.
func (t *webSessions) issue(account string) (string, string) {
	id, csrf := randomToken(32), randomToken(32)
	if t.stored != nil {
		if sid, err := t.stored.issue(tokenKindWeb, account, csrf); err == nil {
			return sid, csrf
		} // else kept in memory below, until a restart
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if now.After(e.expires) {
			delete(t.m, k)
		}
	}
	t.m[sha256.Sum256([]byte(id))] = webSession{account: account, csrf: csrf, expires: now.Add(t.ttl)}
	return id, csrf
}

func (t *webSessions) lookup(id string) (webSession, bool) {
	if t.stored != nil {
		if st, ok := t.stored.lookup(tokenKindWeb, id); ok {
			return webSession{account: st.Account, csrf: st.Data, expires: st.Expires}, true
		}
	}
	k := sha256.Sum256([]byte(id))
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	if !ok || time.Now().After(e.expires) {
		delete(t.m, k)
		return webSession{}, false
	}
	return e, true
}

func (t *webSessions) revoke(id string) {
	if t.stored != nil {
		t.stored.revoke(id)
	}
	t.mu.Lock()
	delete(t.m, sha256.Sum256([]byte(id)))
	t.mu.Unlock()
}

// setSessionCookie sets (value != "") or clears the session cookie. Secure
// is left off only on plain HTTP, where a browser would drop the cookie.
func setSessionCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	}
	w.Header().Add("Set-Cookie", c.String())
}

// cookieAuth authenticates r by its session cookie; status 0 is success.
// ok is false when r carries no session cookie at all.
func (s *Server) cookieAuth(r *http.Request) (acct store.Account, status int, msg string, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.Account{}, 0, "", false
	}
	ws, found := s.web.lookup(c.Value)
	if !found {
		return store.Account{}, http.StatusUnauthorized, "session expired, log in again", true
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get(csrfHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(ws.csrf)) != 1 {
			return store.Account{}, http.StatusForbidden, "missing or wrong " + csrfHeader + " header", true
		}
	}
	acct, err = s.opts.Store.Account(r.Context(), ws.account)
	if err != nil {
		return store.Account{}, http.StatusUnauthorized, "session expired, log in again", true
	}
	return acct, 0, "", true
}

func writeWebSession(w http.ResponseWriter, account, csrf string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{"username": account, "csrfToken": csrf})
}

// handleWebLogin checks {"username", "password"} with the same
// Authenticator (and throttling) as IMAP, ends the session the browser had
// (rotation) and sets a new cookie.
func (s *Server) handleWebLogin(w http.ResponseWriter, r *http.Request) {
	if !s.plaintextOK(r) {
		http.Error(w, "passwords are accepted only over TLS (https)", http.StatusForbidden)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		http.Error(w, "the body must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	var in struct{ Username, Password string }
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "body must be {\"username\": …, \"password\": …}", http.StatusBadRequest)
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		s.web.revoke(old.Value)
	}
	acct, status, msg := s.checkPassword(r, in.Username, in.Password, "PASSWORD")
	if status != 0 {
		setSessionCookie(w, r, "")
		http.Error(w, msg, status)
		return
	}
	id, csrf := s.web.issue(acct.Name)
	setSessionCookie(w, r, id)
	writeWebSession(w, acct.Name, csrf)
}

// handleWebSession tells a reloaded page who is logged in and its CSRF
// token. It is a GET, so SameSite=Strict keeps it to our own pages and the
// same-origin policy keeps its answer from other sites.
func (s *Server) handleWebSession(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	ws, ok := s.web.lookup(c.Value)
	if !ok {
		setSessionCookie(w, r, "")
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	writeWebSession(w, ws.account, ws.csrf)
}

// handleWebLogout ends the cookie session; it needs the CSRF token.
func (s *Server) handleWebLogout(w http.ResponseWriter, r *http.Request) {
	_, status, msg, ok := s.cookieAuth(r)
	if !ok {
		status, msg = http.StatusUnauthorized, "not logged in"
	}
	if status != 0 && status != http.StatusUnauthorized {
		http.Error(w, msg, status)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.web.revoke(c.Value)
	}
	setSessionCookie(w, r, "")
	w.WriteHeader(http.StatusNoContent)
}

// keep makes sure session id (as it was: e) still exists, restoring it in
// the store when a password change deleted it there.
func (t *webSessions) keep(id string, e webSession) {
	if id == "" || e.account == "" || t.stored == nil {
		return
	}
	if _, ok := t.stored.lookup(tokenKindWeb, id); ok {
		return
	}
	t.stored.restore(tokenKindWeb, id, e.account, e.csrf, e.expires)
}

// revokeAccount ends every session of account but the one whose cookie
// value is keep.
func (t *webSessions) revokeAccount(account, keep string) {
	if t.stored != nil {
		// Bearer tokens are in the same store: they go too.
		t.stored.revokeAccount(account, keep)
	}
	k := sha256.Sum256([]byte(keep))
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.m {
		if e.account == account && (keep == "" || id != k) {
			delete(t.m, id)
		}
	}
}
