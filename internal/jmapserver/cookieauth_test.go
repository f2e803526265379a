package jmapserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// webReq sends a request with an optional session cookie and CSRF header.
func webReq(t *testing.T, h *harness, method, path, cookie, csrf, ctype, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	if csrf != "" {
		req.Header.Set(csrfHeader, csrf)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sessionCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", sessionCookie, resp.Header["Set-Cookie"])
	return nil
}

// TestWebCookieSession: the web login sets an HttpOnly, SameSite=Strict
// cookie (not Secure on plain HTTP), rotates it at the next login, the
// cookie reads without a CSRF token but every POST needs it, and logout
// clears the cookie and ends the session.
func TestWebCookieSession(t *testing.T) {
	h := newHarness(t)
	login := `{"username":"alice@example.com","password":"` + testPassword + `"}`
	if resp, _ := webReq(t, h, "POST", "/jmap/web/login", "", "", "application/x-www-form-urlencoded", "username=alice%40example.com&password="+testPassword); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form login (a cross-site form could send it): status %d, want 415", resp.StatusCode)
	}
	if resp, _ := webReq(t, h, "POST", "/jmap/web/login", "", "", "application/json", `{"username":"alice@example.com","password":"wrong"}`); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("bad password: status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := webReq(t, h, "POST", "/jmap/web/login", "", "", "application/json", login)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	c := sessionCookieOf(t, resp)
	if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, not Secure on plain HTTP, SameSite=Strict, Path=/", c)
	}
	var who struct{ Username, CsrfToken string }
	json.Unmarshal([]byte(body), &who)
	if who.Username != "alice@example.com" || len(who.CsrfToken) < 32 {
		t.Fatalf("login answer %s", body)
	}
	// Rotation: logging in again with the old cookie ends the old session.
	resp2, body2 := webReq(t, h, "POST", "/jmap/web/login", c.Value, "", "application/json", login)
	c2 := sessionCookieOf(t, resp2)
	if c2.Value == c.Value {
		t.Fatal("the cookie was not rotated at login")
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", c.Value, "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old cookie after a new login: status %d, want 401", resp.StatusCode)
	}
	json.Unmarshal([]byte(body2), &who)

	if resp, b := webReq(t, h, "GET", "/.well-known/jmap", c2.Value, "", "", ""); resp.StatusCode != 200 || !strings.Contains(b, `"apiUrl"`) {
		t.Fatalf("session resource by cookie: %d %s", resp.StatusCode, b)
	}
	if resp, b := webReq(t, h, "GET", "/jmap/web/session", c2.Value, "", "", ""); resp.StatusCode != 200 || !strings.Contains(b, who.CsrfToken) {
		t.Errorf("web session: %d %s", resp.StatusCode, b)
	}
	api := `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Mailbox/get",{"accountId":"` + h.acct + `"},"0"]]}`
	for _, csrf := range []string{"", "wrong", who.CsrfToken + "x"} {
		if resp, _ := webReq(t, h, "POST", "/jmap/", c2.Value, csrf, "application/json", api); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /jmap/ with cookie and CSRF %q: status %d, want 403", csrf, resp.StatusCode)
		}
	}
	if resp, b := webReq(t, h, "POST", "/jmap/", c2.Value, who.CsrfToken, "application/json", api); resp.StatusCode != 200 || !strings.Contains(b, `"Mailbox/get"`) {
		t.Fatalf("POST /jmap/ with cookie and CSRF: %d %s", resp.StatusCode, b)
	}
	if resp, _ := webReq(t, h, "POST", "/jmap/web/logout", c2.Value, "", "", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF: status %d, want 403", resp.StatusCode)
	}
	resp, _ = webReq(t, h, "POST", "/jmap/web/logout", c2.Value, who.CsrfToken, "", "")
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(strings.Join(resp.Header["Set-Cookie"], "\n"), "Max-Age=0") {
		t.Errorf("logout: status %d, Set-Cookie %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", c2.Value, "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("cookie after logout: status %d, want 401", resp.StatusCode)
	}
}

// TestWebHandlerMounted: Options.Web serves the GETs no JMAP route claims.
func TestWebHandlerMounted(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Web = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	})
	if resp, b := webReq(t, h, "GET", "/", "", "", "", ""); resp.StatusCode != 200 || b != "page /" {
		t.Errorf("GET /: %d %q", resp.StatusCode, b)
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", "", "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/.well-known/jmap went to the page: %d", resp.StatusCode)
	}
}

// TestWebCookieSecureOverTLS: over HTTPS the session cookie is Secure.
func TestWebCookieSecureOverTLS(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewTLSServer(h.srv)
	defer ts.Close()
	resp, err := ts.Client().Post(ts.URL+"/jmap/web/login", "application/json",
		strings.NewReader(`{"username":"alice@example.com","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := sessionCookieOf(t, resp); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie over TLS %+v: want Secure, HttpOnly, SameSite=Strict", c)
	}
}
