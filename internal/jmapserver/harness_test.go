package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

const testPassword = "secret"

// fakeAuth accepts testPassword for any existing account.
type fakeAuth struct{ st store.Store }

func (f fakeAuth) Authenticate(ctx context.Context, a auth.Attempt) (store.Account, error) {
	acct, err := f.st.Account(ctx, strings.ToLower(a.Username))
	if err != nil || a.Password != testPassword {
		return store.Account{}, auth.ErrInvalidCredentials
	}
	return acct, nil
}

// harnessStore opens the store a harness runs on: SQLite, or PostgreSQL
// while TestOnPostgres runs.
var harnessStore = func(t testing.TB) store.Store {
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type harness struct {
	t    testing.TB
	st   store.Store
	srv  *Server
	http *httptest.Server
	user string
	acct string // JMAP account id
}

func newHarness(t testing.TB, opts ...func(*Options)) *harness {
	t.Helper()
	st := harnessStore(t)
	ctx := context.Background()
	a, err := st.CreateAccount(ctx, "alice@example.com", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, "bob@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	o := Options{Store: st, Auth: fakeAuth{st}, AllowPlaintextAuth: func(netip.Addr, bool) bool { return true }}
	for _, f := range opts {
		f(&o)
	}
	srv := New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &harness{t: t, st: st, srv: srv, http: hs, user: a.Name, acct: accountID(a)}
}

// deliver stores a message for alice in mailbox ("" = INBOX).
func (h *harness) deliver(mailbox, msg string, flags ...string) store.DeliveryResult {
	h.t.Helper()
	res, err := h.st.Deliver(context.Background(), strings.NewReader(msg), []store.Target{{Account: h.user, Mailbox: mailbox, Flags: flags}})
	if err != nil || res[0].Err != nil {
		h.t.Fatalf("deliver: %v %v", err, res)
	}
	return res[0]
}

func (h *harness) do(method, path, contentType string, body []byte) (*http.Response, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.http.URL+path, bytes.NewReader(body))
	req.SetBasicAuth(h.user, testPassword)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// api sends one request with the mail and submission capabilities and
// returns the method responses.
func (h *harness) api(calls ...[]any) [][]any {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"using":       []string{capCore, capMail, capSubmission},
		"methodCalls": calls,
	})
	resp, b := h.do("POST", "/jmap/", "application/json", body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		MethodResponses [][]any `json:"methodResponses"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatalf("%v: %s", err, b)
	}
	return out.MethodResponses
}

// one sends one call and returns its response arguments; it fails when
// the response is an error unless wantErr.
func (h *harness) one(name string, args map[string]any) map[string]any {
	h.t.Helper()
	if _, ok := args["accountId"]; !ok {
		args["accountId"] = h.acct
	}
	r := h.api([]any{name, args, "c0"})
	if r[0][0] == "error" {
		h.t.Fatalf("%s: %v", name, r[0][1])
	}
	return r[0][1].(map[string]any)
}

func (h *harness) oneErr(name string, args map[string]any) string {
	h.t.Helper()
	if _, ok := args["accountId"]; !ok {
		args["accountId"] = h.acct
	}
	r := h.api([]any{name, args, "c0"})
	if r[0][0] != "error" {
		h.t.Fatalf("%s: want an error, got %v", name, r[0][1])
	}
	return r[0][1].(map[string]any)["type"].(string)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

type storeTarget = store.Target
