package jmapserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// A bearer token from /jmap/login and a web mail session cookie survive a
// restart (the Server and the store closed and opened again on the same
// data); logout revokes each; a password change revokes every token of
// the account and no other's.
func TestTokensSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	type node struct {
		st  store.Store
		srv *Server
		hs  *httptest.Server
	}
	start := func() *node {
		st, err := sqlite.Open(sqlite.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		srv := New(Options{Store: st, Auth: fakeAuth{st}, AllowPlaintextAuth: func(netip.Addr, bool) bool { return true }})
		return &node{st, srv, httptest.NewServer(srv)}
	}
	stop := func(n *node) { n.hs.Close(); n.srv.Close(); n.st.Close() }
	n := start()
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		if _, err := n.st.CreateAccount(ctx, a, "x"); err != nil {
			t.Fatal(err)
		}
	}
	// send makes a request with a bearer token or a session cookie (and
	// its CSRF token) and returns the status.
	send := func(n *node, method, path, bearer, cookie, csrf, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, n.hs.URL+path, strings.NewReader(body))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
			req.Header.Set(csrfHeader, csrf)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	login := func(n *node, user string) string {
		t.Helper()
		code, body := send(n, "POST", "/jmap/login", "", "", "", `{"username":"`+user+`","password":"`+testPassword+`"}`)
		var out struct{ AccessToken string }
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil || out.AccessToken == "" {
			t.Fatalf("login %s: %d %s", user, code, body)
		}
		return out.AccessToken
	}
	webLogin := func(n *node, user string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", n.hs.URL+"/jmap/web/login", strings.NewReader(`{"username":"`+user+`","password":"`+testPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ CSRFToken string }
		json.NewDecoder(resp.Body).Decode(&out)
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie && out.CSRFToken != "" {
				return c.Value, out.CSRFToken
			}
		}
		t.Fatalf("web login %s: %d", user, resp.StatusCode)
		return "", ""
	}
	echo := `{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{},"0"]]}`
	works := func(n *node, bearer string) bool {
		t.Helper()
		code, _ := send(n, "GET", "/.well-known/jmap", bearer, "", "", "")
		return code == 200
	}
	webWorks := func(n *node, cookie, csrf string) bool {
		t.Helper()
		code, _ := send(n, "POST", "/jmap/", "", cookie, csrf, echo)
		return code == 200
	}
	alice, bob, aliceOut := login(n, "alice@example.com"), login(n, "bob@example.com"), login(n, "alice@example.com")
	cookie, csrf := webLogin(n, "alice@example.com")
	if !works(n, alice) || !works(n, bob) || !webWorks(n, cookie, csrf) {
		t.Fatal("fresh tokens do not work")
	}
	if _, ok := n.st.(store.Tokens); !ok {
		t.Fatal("the SQLite store keeps no tokens")
	}
	stop(n)

	n = start()
	defer func() { stop(n) }()
	if !works(n, alice) || !works(n, bob) || !works(n, aliceOut) {
		t.Fatal("a bearer token did not survive the restart")
	}
	if !webWorks(n, cookie, csrf) {
		t.Fatal("the web session did not survive the restart")
	}
	if webWorks(n, cookie, "wrong") {
		t.Fatal("a stored web session took a wrong CSRF token")
	}
	if works(n, cookie) || webWorks(n, alice, csrf) {
		t.Fatal("a web session cookie and a bearer token must not stand in for each other")
	}
	if code, _ := send(n, "POST", "/jmap/logout", aliceOut, "", "", ""); code != http.StatusNoContent {
		t.Fatalf("logout: %d", code)
	}
	if works(n, aliceOut) || !works(n, alice) {
		t.Fatal("logout must revoke its own token only")
	}
	if err := n.st.SetPasswordHash(ctx, "alice@example.com", "y"); err != nil {
		t.Fatal(err)
	}
	if works(n, alice) || webWorks(n, cookie, csrf) {
		t.Fatal("a password change must revoke the account's tokens and sessions")
	}
	if !works(n, bob) {
		t.Fatal("alice's password change revoked bob's token")
	}
	c2, csrf2 := webLogin(n, "alice@example.com")
	if code, _ := send(n, "POST", "/jmap/web/logout", "", c2, csrf2, ""); code != http.StatusNoContent {
		t.Fatalf("web logout: %d", code)
	}
	if webWorks(n, c2, csrf2) {
		t.Fatal("web logout must end the stored session")
	}
}

// A stored bearer token stops working at its expiry (Options.TokenTTL).
func TestStoredTokenExpires(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.TokenTTL = time.Second })
	if _, ok := h.st.(store.Tokens); !ok {
		t.Skip("store keeps no tokens")
	}
	resp, b := h.do("POST", "/jmap/login", "application/json", []byte(`{"username":"alice@example.com","password":"`+testPassword+`"}`))
	var out struct{ AccessToken string }
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", h.http.URL+"/.well-known/jmap", nil)
		req.Header.Set("Authorization", "Bearer "+out.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("expired token: %d, want 401", code)
	}
}
