package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/store"
)

// The API request and response (RFC 8620 §3.3, §3.4) and result
// references (§3.7).

// apiRequest is the decoded top-level Request object.
type apiRequest struct {
	Using       []string
	MethodCalls []invocation
	CreatedIDs  map[string]string // nil when the request had none
}

// invocation is one [name, arguments, callId] triple (§3.2).
type invocation struct {
	Name   string
	Args   json.RawMessage
	CallID string
}

func (inv invocation) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{inv.Name, inv.Args, inv.CallID})
}

// call is the context of one method call.
type call struct {
	s       *Server
	ctx     context.Context
	acct    store.Account
	using   map[string]bool
	created map[string]string // creation id → server id, for "#id" references
	name    string
	extra   []invocation // implicit responses added after this call's (e.g. Email/set)

	// owner is the account the method works on: acct, or an account
	// that shares mailboxes with acct (shared.go), whose mailboxes acct
	// has rights on (nil: acct's own, every right).
	owner  store.Account
	rights map[int64]store.Rights

	mbs       store.Mailboxes     // the account's mailboxes, opened on first use
	mboxCache []store.MailboxInfo // List() within this request; nil after a change

	wantThreads bool                       // an Email filter or sort looks at whole threads
	threadIdx   map[string]*threadKeywords // thread id → its keywords, when wantThreads
}

// parseRequest decodes and validates a request body. The error is a
// problem for the request-level errors of RFC 8620 §3.6.1.
func (s *Server) parseRequest(body []byte) (*apiRequest, *problem) {
	notJSON := &problem{Type: errNotJSON, Status: http.StatusBadRequest}
	if !utf8.Valid(body) {
		notJSON.Detail = "the request is not UTF-8 (I-JSON, RFC 7493)"
		return nil, notJSON
	}
	if !json.Valid(body) {
		notJSON.Detail = "the request is not valid JSON"
		return nil, notJSON
	}
	notRequest := func(format string, args ...any) *problem {
		return &problem{Type: errNotRequest, Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...)}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, notRequest("the request must be a JSON object")
	}
	req := &apiRequest{}
	for k, v := range top {
		switch k {
		case "using":
			if err := strictUnmarshal(v, &req.Using); err != nil || req.Using == nil {
				return nil, notRequest("using must be an array of capability strings")
			}
		case "methodCalls":
			var raw []json.RawMessage
			if err := json.Unmarshal(v, &raw); err != nil || raw == nil {
				return nil, notRequest("methodCalls must be an array of invocations")
			}
			for i, r := range raw {
				var triple []json.RawMessage
				if err := json.Unmarshal(r, &triple); err != nil || len(triple) != 3 {
					return nil, notRequest("methodCalls[%d] must be [name, arguments, callId]", i)
				}
				var inv invocation
				if json.Unmarshal(triple[0], &inv.Name) != nil || json.Unmarshal(triple[2], &inv.CallID) != nil {
					return nil, notRequest("methodCalls[%d]: name and callId must be strings", i)
				}
				if t := bytes.TrimSpace(triple[1]); len(t) == 0 || t[0] != '{' {
					return nil, notRequest("methodCalls[%d]: arguments must be an object", i)
				}
				inv.Args = triple[1]
				req.MethodCalls = append(req.MethodCalls, inv)
			}
			if req.MethodCalls == nil {
				req.MethodCalls = []invocation{}
			}
		case "createdIds":
			if err := strictUnmarshal(v, &req.CreatedIDs); err != nil {
				return nil, notRequest("createdIds must map creation ids to ids")
			}
			if req.CreatedIDs == nil {
				req.CreatedIDs = map[string]string{}
			}
		default:
			return nil, notRequest("unknown request property %q", k)
		}
	}
	if req.Using == nil || req.MethodCalls == nil {
		return nil, notRequest("a request needs using and methodCalls")
	}
	for _, u := range req.Using {
		if !knownCapability(u) {
			return nil, &problem{Type: errUnknownCapability, Status: http.StatusBadRequest,
				Detail: fmt.Sprintf("the server does not support the capability %q", u)}
		}
	}
	if n := len(req.MethodCalls); n > s.limits.MaxCallsInRequest {
		return nil, &problem{Type: errLimit, Status: http.StatusBadRequest, Limit: "maxCallsInRequest",
			Detail: fmt.Sprintf("%d method calls; at most %d are allowed", n, s.limits.MaxCallsInRequest)}
	}
	return req, nil
}

func knownCapability(u string) bool {
	return u == capCore || u == capMail || u == capSubmission || u == capVacation
}

// strictUnmarshal is json.Unmarshal that refuses null for the whole
// value's elements where Go would zero them silently.
func strictUnmarshal(data []byte, v any) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return errors.New("null")
	}
	return json.Unmarshal(data, v)
}

// handleAPI serves POST /jmap (RFC 8620 §3).
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	body, err := io.ReadAll(io.LimitReader(r.Body, s.limits.MaxSizeRequest+1))
	if err != nil {
		http.Error(w, "reading the request failed", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > s.limits.MaxSizeRequest {
		writeProblem(w, problem{Type: errLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeRequest",
			Detail: fmt.Sprintf("the request is larger than %d octets", s.limits.MaxSizeRequest)})
		return
	}
	key := "api/" + acct.Name
	if !s.slots.acquire(key, s.limits.MaxConcurrentRequests) {
		writeProblem(w, problem{Type: errLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentRequests",
			Detail: fmt.Sprintf("at most %d requests may run at once", s.limits.MaxConcurrentRequests)})
		return
	}
	defer s.slots.release(key)
	req, p := s.parseRequest(body)
	if p != nil {
		writeProblem(w, *p)
		return
	}
	resp := s.run(r.Context(), acct, req)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	json.NewEncoder(w).Encode(resp)
}

// apiResponse is the Response object (§3.4).
type apiResponse struct {
	MethodResponses []invocation      `json:"methodResponses"`
	CreatedIDs      map[string]string `json:"createdIds,omitempty"`
	SessionState    string            `json:"sessionState"`
}

// run processes the method calls in order (§3.3: each sees the effects of
// the ones before).
func (s *Server) run(ctx context.Context, acct store.Account, req *apiRequest) apiResponse {
	using := map[string]bool{}
	for _, u := range req.Using {
		using[u] = true
	}
	created := map[string]string{}
	for k, v := range req.CreatedIDs {
		created[k] = v
	}
	c := &call{s: s, ctx: ctx, acct: acct, owner: acct, using: using, created: created}
	out := make([]invocation, 0, len(req.MethodCalls))
	decoded := map[int]any{} // response index → its arguments decoded, for references
	for _, inv := range req.MethodCalls {
		c.name, c.extra, c.wantThreads, c.threadIdx = inv.Name, nil, false, nil
		started := time.Now()
		res := c.invoke(inv, out, decoded)
		s.opts.Metrics.Command("jmap", methodLabel(inv.Name), time.Since(started))
		out = append(out, res)
		out = append(out, c.extra...)
	}
	shared, _ := s.sharedAccounts(ctx, acct) // an error leaves them out of the state
	resp := apiResponse{MethodResponses: out, SessionState: sessionState(acct, shared)}
	if req.CreatedIDs != nil {
		resp.CreatedIDs = created
	}
	return resp
}

// invoke runs one call and returns its response (an "error" response for
// a method error; serverFail for anything unexpected, panics included).
func (c *call) invoke(inv invocation, prev []invocation, decoded map[int]any) (res invocation) {
	res.CallID = inv.CallID
	fail := func(e *methodError) invocation {
		b, _ := json.Marshal(e)
		return invocation{Name: "error", Args: b, CallID: inv.CallID}
	}
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("jmap: panic in method", "method", inv.Name, "panic", v)
			res = fail(mErr(meServerFail, "internal error"))
		}
	}()
	m, ok := methods[inv.Name]
	if !ok || !c.using[m.capability] || !c.using[capCore] {
		if ok {
			return fail(mErr(meUnknownMethod, fmt.Sprintf("%s needs %q in using", inv.Name, m.capability)))
		}
		return fail(mErr(meUnknownMethod, fmt.Sprintf("unknown method %q", inv.Name)))
	}
	args, merr := resolveReferences(inv.Args, prev, decoded)
	if merr != nil {
		return fail(merr)
	}
	result, err := m.fn(c, args)
	if err != nil {
		var me *methodError
		if errors.As(err, &me) {
			return fail(me)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, store.ErrClosed) {
			return fail(mErr(meServerUnavailable, "the server is shutting down or the request was cancelled"))
		}
		c.s.log.Error("jmap: method failed", "method", inv.Name, "account", c.acct.Name, "err", err)
		return fail(mErr(meServerFail, "internal error"))
	}
	b, err := json.Marshal(result)
	if err != nil {
		c.s.log.Error("jmap: encoding a response", "method", inv.Name, "err", err)
		return fail(mErr(meServerFail, "internal error"))
	}
	return invocation{Name: inv.Name, Args: b, CallID: inv.CallID}
}

// resultReference is the value of a "#name" argument (§3.7).
type resultReference struct {
	ResultOf string `json:"resultOf"`
	Name     string `json:"name"`
	Path     string `json:"path"`
}

// resolveReferences replaces every "#name" argument by the value its
// ResultReference points to in an earlier response.
func resolveReferences(args json.RawMessage, prev []invocation, decoded map[int]any) (json.RawMessage, *methodError) {
	if !bytes.Contains(args, []byte(`"#`)) {
		return args, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, invalidArgs("arguments must be an object")
	}
	changed := false
	for k, v := range m {
		name, ok := strings.CutPrefix(k, "#")
		if !ok {
			continue
		}
		if _, dup := m[name]; dup {
			return nil, invalidArgs(fmt.Sprintf("both %q and %q given", name, k))
		}
		var ref resultReference
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ref); err != nil || ref.ResultOf == "" || ref.Name == "" {
			return nil, mErr(meInvalidResultReference, fmt.Sprintf("%s is not a ResultReference {resultOf, name, path}", k))
		}
		idx := -1
		for i, p := range prev {
			if p.CallID == ref.ResultOf {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, mErr(meInvalidResultReference, fmt.Sprintf("%s: no earlier response has call id %q", k, ref.ResultOf))
		}
		if prev[idx].Name != ref.Name {
			return nil, mErr(meInvalidResultReference, fmt.Sprintf("%s: response %q is %s, not %s", k, ref.ResultOf, prev[idx].Name, ref.Name))
		}
		val, ok := decoded[idx]
		if !ok {
			if err := json.Unmarshal(prev[idx].Args, &val); err != nil {
				return nil, mErr(meInvalidResultReference, "the referenced response cannot be read")
			}
			decoded[idx] = val
		}
		res, ok := evalPointer(val, ref.Path)
		if !ok {
			return nil, mErr(meInvalidResultReference, fmt.Sprintf("%s: path %q does not resolve in the %s response", k, ref.Path, ref.Name))
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, mErr(meInvalidResultReference, "the referenced value cannot be encoded")
		}
		delete(m, k)
		m[name] = b
		changed = true
	}
	if !changed {
		return args, nil
	}
	b, _ := json.Marshal(m)
	return b, nil
}

// decodeArgs decodes a call's arguments into dst; unknown arguments and
// wrong types are invalidArguments (§3.6.2).
func decodeArgs(args json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidArgs(fmt.Sprintf("argument %s: wrong type (want %s)", te.Field, te.Type))
		}
		return invalidArgs(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// checkAccount answers accountNotFound for any account but the user's own
// (the methods shared accounts do not have; mail methods use useAccount).
func (c *call) checkAccount(id string) error {
	if id != accountID(c.acct) {
		return mErr(meAccountNotFound, fmt.Sprintf("no account %q", id))
	}
	c.switchTo(c.acct, nil)
	return nil
}

// resolveID turns "#creationId" (a record created earlier in the request,
// §5.3) into its id; other ids are returned as they are.
func (c *call) resolveID(id string) (string, bool) {
	if cid, ok := strings.CutPrefix(id, "#"); ok {
		v, ok := c.created[cid]
		return v, ok
	}
	return id, true
}

// methodLabel names a method call for the metrics: a known method, else
// "unknown" (a bounded label set whatever clients send).
func methodLabel(name string) string {
	if _, ok := methods[name]; ok {
		return name
	}
	return "unknown"
}
