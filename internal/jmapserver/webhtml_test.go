package jmapserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/htmlsafe"
	"github.com/letterbox/letterbox/internal/store"
)

// webLogin logs alice in and returns the cookie value and CSRF token.
func webLogin(t *testing.T, h *harness, password string) (string, string) {
	t.Helper()
	resp, body := webReq(t, h, "POST", "/jmap/web/login", "", "", "application/json",
		`{"username":"alice@example.com","password":"`+password+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var who struct{ CsrfToken string }
	json.Unmarshal([]byte(body), &who)
	return sessionCookieOf(t, resp).Value, who.CsrfToken
}

const relatedHTML = "From: Shop <news@shop.example>\r\nTo: alice@example.com\r\nSubject: offer\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	`<meta http-equiv="refresh" content="0;url=https://spy.example/r"><form action="https://spy.example/f"><input name=q></form>` +
	`<p style="background:url(https://spy.example/bg)">offer</p><a href="data:text/html,x">d</a><script>alert(1)</script>` +
	`<img src="cid:logo@shop.example"><img src="https://spy.example/pixel.gif">` + "\r\n" +
	"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@shop.example>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"iVBORw0KGgpsb2dv\r\n--r--\r\n"

// TestWebHTML: the HTML body is sanitised on the server (no meta, form,
// script, data: link, CSS url()), the cid: image is inlined as a data:
// URL of its part, the remote image is held back until images=1 or the
// sender is trusted, and the document carries a no-script CSP.
func TestWebHTML(t *testing.T) {
	h := newHarness(t)
	h.deliver("", relatedHTML)
	id := strs(h.one("Email/query", map[string]any{})["ids"])[0]
	cookie, csrf := webLogin(t, h, testPassword)

	resp, doc := webReq(t, h, "GET", "/jmap/web/html/"+id, cookie, "", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("html: %d %s", resp.StatusCode, doc)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") || !strings.HasSuffix(csp, "img-src data:") {
		t.Errorf("CSP %q", csp)
	}
	for _, bad := range []string{"refresh", "<form", "<input", "url(", "data:text", "<script", "alert", "spy.example"} {
		if strings.Contains(doc, bad) {
			t.Errorf("the document keeps %q: %s", bad, doc)
		}
	}
	if !strings.Contains(doc, `src="data:image/png;base64,iVBORw0KGgpsb2dv"`) || !strings.Contains(doc, ">offer</p>") {
		t.Errorf("cid image or text missing: %s", doc)
	}
	var info struct {
		Sender                      string
		Trusted                     bool
		BlockedImages, InlineImages int
	}
	_, b := webReq(t, h, "GET", "/jmap/web/html/"+id+"/info", cookie, "", "", "")
	json.Unmarshal([]byte(b), &info)
	if info.Sender != "news@shop.example" || info.Trusted || info.BlockedImages != 1 || info.InlineImages != 1 {
		t.Errorf("info %s", b)
	}
	resp, doc = webReq(t, h, "GET", "/jmap/web/html/"+id+"?images=1", cookie, "", "", "")
	if !strings.Contains(doc, `src="https://spy.example/pixel.gif"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "img-src data: https:") {
		t.Errorf("images=1: %s %q", doc, resp.Header.Get("Content-Security-Policy"))
	}

	// Trusting the sender is a setting of the account (CSRF needed).
	if resp, _ := webReq(t, h, "POST", "/jmap/web/settings", cookie, "", "application/json", `{"trustedSenders":["News@Shop.example"]}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("settings without CSRF: %d", resp.StatusCode)
	}
	if resp, b := webReq(t, h, "POST", "/jmap/web/settings", cookie, csrf, "application/json", `{"trustedSenders":["not an address"]}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad address: %d %s", resp.StatusCode, b)
	}
	if resp, b := webReq(t, h, "POST", "/jmap/web/settings", cookie, csrf, "application/json", `{"trustedSenders":["News@Shop.example","news@shop.example"]}`); resp.StatusCode != 200 || b != `{"trustedSenders":["news@shop.example"]}`+"\n" {
		t.Errorf("settings: %d %s", resp.StatusCode, b)
	}
	if _, b := webReq(t, h, "GET", "/jmap/web/settings", cookie, "", "", ""); !strings.Contains(b, "news@shop.example") {
		t.Errorf("settings read back: %s", b)
	}
	_, b = webReq(t, h, "GET", "/jmap/web/html/"+id+"/info", cookie, "", "", "")
	json.Unmarshal([]byte(b), &info)
	if !info.Trusted || info.BlockedImages != 0 {
		t.Errorf("trusted info %s", b)
	}
	if _, doc = webReq(t, h, "GET", "/jmap/web/html/"+id, cookie, "", "", ""); !strings.Contains(doc, "https://spy.example/pixel.gif") {
		t.Errorf("trusted sender's image held back: %s", doc)
	}
	if resp, _ := webReq(t, h, "GET", "/jmap/web/html/Mnope", cookie, "", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown email: %d", resp.StatusCode)
	}
	if resp, _ := webReq(t, h, "GET", "/jmap/web/html/"+id, "", "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %d", resp.StatusCode)
	}
}

// setterAuth is fakeAuth with a changeable password per account.
type setterAuth struct {
	st store.Store
	mu sync.Mutex
	pw map[string]string
}

func (f *setterAuth) Authenticate(ctx context.Context, a auth.Attempt) (store.Account, error) {
	f.mu.Lock()
	want, ok := f.pw[strings.ToLower(a.Username)]
	f.mu.Unlock()
	if !ok {
		want = testPassword
	}
	acct, err := f.st.Account(ctx, strings.ToLower(a.Username))
	if err != nil || a.Password != want {
		return store.Account{}, auth.ErrInvalidCredentials
	}
	return acct, nil
}

func (f *setterAuth) SetPassword(_ context.Context, user, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pw[strings.ToLower(user)] = pw
	return nil
}

// TestWebPassword: the current password is required, the new one has a
// minimum length, a change keeps the asking session and ends the others.
func TestWebPassword(t *testing.T) {
	var sa *setterAuth
	h := newHarness(t, func(o *Options) { sa = &setterAuth{st: o.Store, pw: map[string]string{}}; o.Auth = sa })
	cookie, csrf := webLogin(t, h, testPassword)
	other, _ := webLogin(t, h, testPassword)
	post := func(body string) (int, string) {
		resp, b := webReq(t, h, "POST", "/jmap/web/password", cookie, csrf, "application/json", body)
		return resp.StatusCode, b
	}
	if resp, _ := webReq(t, h, "POST", "/jmap/web/password", cookie, "", "application/json", `{"currentPassword":"secret","newPassword":"longenough"}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without CSRF: %d", resp.StatusCode)
	}
	if code, b := post(`{"currentPassword":"wrong","newPassword":"longenough"}`); code != http.StatusForbidden || !strings.Contains(b, "current password is wrong") {
		t.Errorf("wrong current: %d %s", code, b)
	}
	if code, b := post(`{"currentPassword":"secret","newPassword":"short"}`); code != http.StatusBadRequest {
		t.Errorf("short: %d %s", code, b)
	}
	if code, b := post(`{"currentPassword":"secret","newPassword":"longenough"}`); code != http.StatusNoContent {
		t.Fatalf("change: %d %s", code, b)
	}
	if sa.pw["alice@example.com"] != "longenough" {
		t.Errorf("password not set: %v", sa.pw)
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", cookie, "", "", ""); resp.StatusCode != 200 {
		t.Errorf("the asking session ended: %d", resp.StatusCode)
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", other, "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another session survived the change: %d", resp.StatusCode)
	}
	webLogin(t, h, "longenough")
}

// TestIdentitySet: name and signature are updated, kept (METADATA) and
// seen by Identity/get and /changes; create, destroy and email are refused.
func TestIdentitySet(t *testing.T) {
	h := newHarness(t)
	g := h.one("Identity/get", map[string]any{})
	ident := g["list"].([]any)[0].(map[string]any)
	id, old := ident["id"].(string), g["state"].(string)
	r := h.one("Identity/set", map[string]any{
		"update":  map[string]any{id: map[string]any{"name": "Alice Liddell", "textSignature": "-- \nAlice"}},
		"create":  map[string]any{"n": map[string]any{"email": "alice@example.com"}},
		"destroy": []string{id},
	})
	if _, ok := r["updated"].(map[string]any)[id]; !ok || r["notCreated"].(map[string]any)["n"] == nil || r["notDestroyed"].(map[string]any)[id] == nil {
		t.Fatalf("Identity/set %v", r)
	}
	if r["newState"] == old {
		t.Errorf("state did not move: %v", r)
	}
	g = h.one("Identity/get", map[string]any{"ids": []string{id}})
	ident = g["list"].([]any)[0].(map[string]any)
	if ident["name"] != "Alice Liddell" || ident["textSignature"] != "-- \nAlice" || ident["email"] != "alice@example.com" {
		t.Errorf("after set %v", ident)
	}
	ch := h.one("Identity/changes", map[string]any{"sinceState": old})
	if u := strs(ch["updated"]); len(u) != 1 || u[0] != id || ch["newState"] != g["state"] {
		t.Errorf("changes %v", ch)
	}
	r = h.one("Identity/set", map[string]any{"update": map[string]any{id: map[string]any{"email": "x@y"}}})
	if r["notUpdated"].(map[string]any)[id] == nil {
		t.Errorf("email changed: %v", r)
	}
}

// TestWebHTMLMalformed: an unterminated multipart, a cid: image whose
// base64 is broken, an image claiming SVG, and an HTML body over the
// sanitising bound are shown (200, bounded) without a panic.
func TestWebHTMLMalformed(t *testing.T) {
	h := newHarness(t)
	h.deliver("", "From: a@example.org\r\nSubject: broken\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=x\r\n\r\n"+
		"--x\r\nContent-Type: text/html\r\n\r\n<p>still here<img src=\"cid:bad@x\"><img src=\"cid:svg@x\">\r\n"+
		"--x\r\nContent-Type: image/png\r\nContent-ID: <bad@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"+
		"--x\r\nContent-Type: image/svg+xml\r\nContent-ID: <svg@x>\r\n\r\n<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>\r\n")
	h.deliver("", "From: a@example.org\r\nSubject: huge\r\nContent-Type: text/html\r\n\r\n"+strings.Repeat("<p>long line of html</p>\r\n", 250000))
	cookie, _ := webLogin(t, h, testPassword)
	for _, id := range strs(h.one("Email/query", map[string]any{})["ids"]) {
		resp, doc := webReq(t, h, "GET", "/jmap/web/html/"+id, cookie, "", "", "")
		if resp.StatusCode != 200 || len(doc) > maxWebHTML+4096 {
			t.Fatalf("%s: status %d, %d octets", id, resp.StatusCode, len(doc))
		}
		if strings.Contains(doc, "still here") && (strings.Contains(doc, "onload") || !strings.Contains(doc, htmlsafe.Placeholder)) {
			t.Errorf("an SVG part became an image, not the placeholder: %s", doc)
		}
	}
}

// TestWebPasswordRealAuth: with the real auth.Service the store ends every
// token of the account with the password (SetPasswordHash); the page that
// asked keeps its session (same cookie, same CSRF token), another page and
// a bearer token do not.
func TestWebPasswordRealAuth(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Auth = auth.New(o.Store, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond})
	})
	hash, err := auth.HashPassword(testPassword, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.SetPasswordHash(context.Background(), "alice@example.com", hash); err != nil {
		t.Fatal(err)
	}
	cookie, csrf := webLogin(t, h, testPassword)
	other, _ := webLogin(t, h, testPassword)
	resp, b := webReq(t, h, "POST", "/jmap/web/password", cookie, csrf, "application/json", `{"currentPassword":"`+testPassword+`","newPassword":"longenough"}`)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("change: %d %s", resp.StatusCode, b)
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", cookie, "", "", ""); resp.StatusCode != 200 {
		t.Errorf("the asking session ended: %d", resp.StatusCode)
	}
	// Its CSRF token still works for a change.
	if resp, b := webReq(t, h, "POST", "/jmap/web/settings", cookie, csrf, "application/json", `{"trustedSenders":[]}`); resp.StatusCode != 200 {
		t.Errorf("the asking session's CSRF token no longer works: %d %s", resp.StatusCode, b)
	}
	if resp, _ := webReq(t, h, "GET", "/.well-known/jmap", other, "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another session survived the change: %d", resp.StatusCode)
	}
	webLogin(t, h, "longenough")
}
