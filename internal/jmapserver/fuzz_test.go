package jmapserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzRequest sends arbitrary bodies through the whole API handler
// (parsing, result references, dispatch, every method): the answer is
// never a 500 and never a panic (RFC 8620 §3.6: bad input gets a request-
// or method-level error).
func FuzzRequest(f *testing.F) {
	seeds := []string{
		`{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"a":1},"c"]]}`,
		`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Mailbox/query",{"accountId":"a1","filter":{"operator":"NOT","conditions":[{"role":"inbox"}]}},"q"],["Mailbox/get",{"accountId":"a1","#ids":{"resultOf":"q","name":"Mailbox/query","path":"/ids/*"}},"g"]]}`,
		`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Email/query",{"accountId":"a1","filter":{"text":"x","before":"2020-01-01T00:00:00Z"},"sort":[{"property":"receivedAt","isAscending":false}],"collapseThreads":true,"limit":5},"q"],["Email/get",{"accountId":"a1","#ids":{"resultOf":"q","name":"Email/query","path":"/ids"},"properties":["subject","header:From:asAddresses","bodyValues"],"fetchAllBodyValues":true},"g"]]}`,
		`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Mailbox/set",{"accountId":"a1","create":{"x":{"name":"n","parentId":"#y"},"y":{"name":"m","parentId":"#x"}}},"s"]]}`,
		`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Email/set",{"accountId":"a1","update":{"E1_1":{"keywords/$seen":true}},"destroy":["E9_9"]},"s"],["Email/changes",{"accountId":"a1","sinceState":"eAQE"},"c"]]}`,
		`{"using":[],"methodCalls":[],"createdIds":{"a":"b"}}`,
		`[1,2]`, `{"using":`, "",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	h := newHarness(f)
	h.deliver("", "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/jmap/", bytes.NewReader(body))
		acct, _ := h.st.Account(context.Background(), h.user)
		req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, principal{acct: acct}))
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("slow input %q", body))
			}
		}()
		h.srv.handleAPI(w, req)
		close(done)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if w.Code == http.StatusOK && bytes.Contains(w.Body.Bytes(), []byte(`"serverFail"`)) {
			t.Fatalf("serverFail for %q: %s", body, w.Body)
		}
	})
}
