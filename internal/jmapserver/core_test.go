package jmapserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestSessionResource(t *testing.T) {
	h := newHarness(t)
	resp, b := h.do("GET", "/.well-known/jmap", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, b)
	}
	var s map[string]any
	json.Unmarshal(b, &s)
	core := s["capabilities"].(map[string]any)[capCore].(map[string]any)
	for _, k := range []string{"maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests",
		"maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet", "collationAlgorithms"} {
		if _, ok := core[k]; !ok {
			t.Errorf("core capability lacks %s", k)
		}
	}
	if s["primaryAccounts"].(map[string]any)[capMail] != h.acct || s["username"] != h.user {
		t.Errorf("session %s", b)
	}
	if !strings.HasPrefix(s["apiUrl"].(string), h.http.URL) {
		t.Errorf("apiUrl %v", s["apiUrl"])
	}
	// Without credentials: 401 with a Basic challenge.
	r2, _ := http.Get(h.http.URL + "/.well-known/jmap")
	if r2.StatusCode != 401 || !strings.HasPrefix(r2.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("unauthenticated: %d %q", r2.StatusCode, r2.Header.Get("WWW-Authenticate"))
	}
}

func TestRequestLevelErrors(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Limits.MaxCallsInRequest = 2; o.Limits.MaxSizeRequest = 4096 })
	cases := []struct {
		name, body, typ, limit string
	}{
		{"not json", `{"using": [`, errNotJSON, ""},
		{"not utf8", "{\"using\": [\"\xff\"]}", errNotJSON, ""},
		{"array", `[]`, errNotRequest, ""},
		{"no calls", `{"using": []}`, errNotRequest, ""},
		{"bad invocation", `{"using": [], "methodCalls": [["Core/echo", {}]]}`, errNotRequest, ""},
		{"args not object", `{"using": [], "methodCalls": [["Core/echo", [], "a"]]}`, errNotRequest, ""},
		{"unknown property", `{"using": [], "methodCalls": [], "extra": 1}`, errNotRequest, ""},
		{"unknown capability", `{"using": ["urn:x"], "methodCalls": []}`, errUnknownCapability, ""},
		{"too many calls", `{"using": [], "methodCalls": [["a",{},"1"],["a",{},"2"],["a",{},"3"]]}`, errLimit, "maxCallsInRequest"},
		{"too large", `{"using": [], "methodCalls": [], "createdIds": {"x": "` + strings.Repeat("a", 5000) + `"}}`, errLimit, "maxSizeRequest"},
	}
	for _, c := range cases {
		resp, b := h.do("POST", "/jmap/", "application/json", []byte(c.body))
		var p problem
		json.Unmarshal(b, &p)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || p.Type != c.typ || p.Limit != c.limit {
			t.Errorf("%s: status %d body %s; want %s %s", c.name, resp.StatusCode, b, c.typ, c.limit)
		}
	}
}

func TestMethodLevelErrors(t *testing.T) {
	h := newHarness(t)
	r := h.api(
		[]any{"Core/echo", map[string]any{"hello": true, "n": []int{1, 2}}, "e"},
		[]any{"Nope/get", map[string]any{}, "u"},
		[]any{"Mailbox/get", map[string]any{"accountId": "a999"}, "acc"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "bogus": 1}, "arg"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "ids": "x"}, "type"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "#ids": map[string]any{"resultOf": "zz", "name": "Mailbox/query", "path": "/ids"}}, "ref1"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "#ids": map[string]any{"resultOf": "e", "name": "Mailbox/query", "path": "/ids"}}, "ref2"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "#ids": map[string]any{"resultOf": "e", "name": "Core/echo", "path": "/missing"}}, "ref3"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "ids": []string{}, "#ids": map[string]any{"resultOf": "e", "name": "Core/echo", "path": "/n"}}, "both"},
		[]any{"Mailbox/changes", map[string]any{"accountId": h.acct, "sinceState": "garbage"}, "ch"},
		[]any{"Mailbox/query", map[string]any{"accountId": h.acct, "sort": []any{map[string]any{"property": "size"}}}, "sort"},
		[]any{"Mailbox/query", map[string]any{"accountId": h.acct, "filter": map[string]any{"color": "red"}}, "filter"},
		[]any{"Mailbox/query", map[string]any{"accountId": h.acct, "anchor": "M999999"}, "anchor"},
		[]any{"Mailbox/set", map[string]any{"accountId": h.acct, "ifInState": "old"}, "state"},
	)
	want := map[string]string{"u": meUnknownMethod, "acc": meAccountNotFound, "arg": meInvalidArguments,
		"type": meInvalidArguments, "ref1": meInvalidResultReference, "ref2": meInvalidResultReference,
		"ref3": meInvalidResultReference, "both": meInvalidArguments, "ch": meCannotCalculateChanges,
		"sort": meUnsupportedSort, "filter": meUnsupportedFilter, "anchor": meAnchorNotFound, "state": meStateMismatch}
	if r[0][0] != "Core/echo" || r[0][1].(map[string]any)["hello"] != true {
		t.Errorf("echo: %v", r[0])
	}
	for _, res := range r[1:] {
		id := res[2].(string)
		if res[0] != "error" || res[1].(map[string]any)["type"] != want[id] {
			t.Errorf("%s: got %v, want error %s", id, res, want[id])
		}
	}
	// Without the mail capability in using, Mailbox/get is unknown.
	body := `{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Mailbox/get", {"accountId": "` + h.acct + `"}, "x"]]}`
	_, b := h.do("POST", "/jmap/", "application/json", []byte(body))
	if !strings.Contains(string(b), meUnknownMethod) {
		t.Errorf("capability not in using: %s", b)
	}
}

func TestResultReferences(t *testing.T) {
	h := newHarness(t)
	r := h.api(
		[]any{"Mailbox/query", map[string]any{"accountId": h.acct, "sort": []any{map[string]any{"property": "sortOrder"}}}, "q"},
		[]any{"Mailbox/get", map[string]any{"accountId": h.acct, "#ids": map[string]any{"resultOf": "q", "name": "Mailbox/query", "path": "/ids"}, "properties": []string{"name", "role"}}, "g"},
		[]any{"Core/echo", map[string]any{"#roles": map[string]any{"resultOf": "g", "name": "Mailbox/get", "path": "/list/*/role"}}, "e"},
	)
	ids := strs(r[0][1].(map[string]any)["ids"])
	list := r[1][1].(map[string]any)["list"].([]any)
	if len(ids) != 6 || len(list) != 6 || list[0].(map[string]any)["role"] != "inbox" {
		t.Fatalf("query %v get %v", ids, list)
	}
	roles := r[2][1].(map[string]any)["roles"].([]any)
	if len(roles) != 6 || roles[0] != "inbox" || roles[1] != "drafts" {
		t.Errorf("roles %v", roles)
	}
}

func TestPointer(t *testing.T) {
	var v any
	json.Unmarshal([]byte(`{"a/b": 1, "m~n": 2, "list": [{"x": [1,2]}, {"x": [3]}], "arr": [5,6]}`), &v)
	for path, want := range map[string]string{
		"/a~1b": "1", "/m~0n": "2", "/list/*/x": "[1,2,3]", "/arr/1": "6", "": "",
	} {
		got, ok := evalPointer(v, path)
		b, _ := json.Marshal(got)
		if !ok || (want != "" && string(b) != want) {
			t.Errorf("%q: %s %v", path, b, ok)
		}
	}
	for _, bad := range []string{"/arr/2", "/arr/01", "/arr/-", "nope", "/list/*/y"} {
		if _, ok := evalPointer(v, bad); ok {
			t.Errorf("%q resolved", bad)
		}
	}
}
