package jmapserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Push over EventSource (RFC 8620 §7.3), fed by the store's change feed:
// the stream subscribes to the account's feed and wakes only when the
// store announces a change; then it derives the states of the requested
// types and sends a StateChange for the ones that moved. Nothing polls.

// pushTypes are the data types a StateChange may name.
var pushTypes = []string{"Mailbox", "Email", "Thread", "EmailDelivery", "EmailSubmission", "Identity"}

// accountStates derives the current state of every push type in every
// account of the user, by account id: their own and each shared one
// (shared.go), which has no EmailSubmission or Identity.
func (s *Server) accountStates(ctx context.Context, acct store.Account, shared []sharedAccount) (map[string]map[string]string, error) {
	c := &call{s: s, ctx: ctx, acct: acct, owner: acct}
	out := map[string]map[string]string{}
	own, err := c.pushStates()
	if err != nil {
		return nil, err
	}
	_, identityState, err := readIdentity(ctx, s.opts.Store, acct.Name)
	if err != nil {
		return nil, err
	}
	own["EmailSubmission"] = s.subs.state(acct.Name)
	own["Identity"] = identityState
	out[accountID(acct)] = own
	for _, sa := range shared {
		c.switchTo(sa.owner, sa.rights)
		st, err := c.pushStates()
		if err != nil {
			return nil, err
		}
		out[accountID(sa.owner)] = st
	}
	return out, nil
}

// pushStates is the Mailbox, Email, Thread and EmailDelivery states of
// the call's account.
func (c *call) pushStates() (map[string]string, error) {
	ms, err := c.mailboxState()
	if err != nil {
		return nil, err
	}
	l, err := c.emailList()
	if err != nil {
		return nil, err
	}
	v := vectorOf(l, nil)
	// EmailDelivery moves only when new mail arrives (RFC 8621 §1.5):
	// the vector of UIDNEXTs.
	dv := make(stateVec, len(v))
	for i, e := range v {
		dv[i] = vecEntry{id: e.id, uidnext: e.uidnext}
	}
	return map[string]string{
		"Mailbox":       ms,
		"Email":         v.encode('e'),
		"Thread":        v.encode('t'),
		"EmailDelivery": dv.encode('d'),
	}, nil
}

// handleEventSource serves the eventSourceUrl.
func (s *Server) handleEventSource(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	q := r.URL.Query()
	want := map[string]bool{}
	for _, t := range strings.Split(q.Get("types"), ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "*":
			for _, p := range pushTypes {
				want[p] = true
			}
		case t == "":
		default:
			known := false
			for _, p := range pushTypes {
				known = known || p == t
			}
			if !known {
				http.Error(w, fmt.Sprintf("types: unknown type %q", t), http.StatusBadRequest)
				return
			}
			want[t] = true
		}
	}
	if len(want) == 0 {
		http.Error(w, "types: name at least one type, or *", http.StatusBadRequest)
		return
	}
	closeAfter := q.Get("closeafter")
	if closeAfter == "" {
		closeAfter = "no"
	}
	if closeAfter != "state" && closeAfter != "no" {
		http.Error(w, `closeafter must be "state" or "no"`, http.StatusBadRequest)
		return
	}
	var ping time.Duration
	if p := q.Get("ping"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			http.Error(w, "ping must be a non-negative number of seconds", http.StatusBadRequest)
			return
		}
		// RFC 8620 §7.3: the server may raise a too-small interval.
		ping = max(time.Duration(n)*time.Second, s.opts.PingMin)
		if n == 0 {
			ping = 0
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	// Subscribe before reading the states, so no change falls in between:
	// to the user's account, and to each account that shares mailboxes
	// with the user (shares made later are seen by the next stream).
	shared, err := s.sharedAccounts(r.Context(), acct)
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	watch := s.opts.Store.Watch(acct.Name)
	defer watch.Close()
	others := make([]store.Watcher, 0, len(shared))
	for _, sa := range shared {
		ow := s.opts.Store.Watch(sa.owner.Name)
		defer ow.Close()
		others = append(others, ow)
	}
	wake := mergeReady(r.Context(), others)
	last, err := s.accountStates(r.Context(), acct, shared)
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	var tick <-chan time.Time
	if ping > 0 {
		t := time.NewTicker(ping)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-tick:
			fmt.Fprintf(w, "event: ping\ndata: {\"interval\":%d}\n\n", int(ping/time.Second))
			flusher.Flush()
		case _, open := <-watch.Ready():
			changes, ok := watch.Take()
			if !ok || !open {
				return
			}
			for _, ow := range others {
				more, _ := ow.Take()
				changes = append(changes, more...)
			}
			for _, c := range changes {
				if !c.At.IsZero() {
					s.opts.Metrics.FeedLag("jmap", time.Since(c.At))
				}
			}
			if !s.pushChanged(w, r, acct, shared, want, &last) {
				continue
			}
			flusher.Flush()
			if closeAfter == "state" {
				return
			}
		case <-wake:
			for _, ow := range others {
				ow.Take()
			}
			if !s.pushChanged(w, r, acct, shared, want, &last) {
				continue
			}
			flusher.Flush()
			if closeAfter == "state" {
				return
			}
		}
	}
}

// pushChanged derives the states again and writes one StateChange for
// the types of want that moved in any account; false when none did (or
// the store failed: the next signal tries again).
func (s *Server) pushChanged(w http.ResponseWriter, r *http.Request, acct store.Account, shared []sharedAccount,
	want map[string]bool, last *map[string]map[string]string) bool {
	// The rights are read again, as for every method call: an account
	// whose shares went is no longer reported, and new rights count.
	if now, err := s.sharedAccounts(r.Context(), acct); err == nil {
		shared = now
	}
	cur, err := s.accountStates(r.Context(), acct, shared)
	if err != nil {
		return false
	}
	changed := map[string]any{}
	for id, states := range cur {
		moved := map[string]string{}
		for t := range want {
			if v, ok := states[t]; ok && v != (*last)[id][t] {
				moved[t] = v
			}
		}
		if len(moved) > 0 {
			changed[id] = moved
		}
	}
	*last = cur
	if len(changed) == 0 {
		return false
	}
	b, _ := json.Marshal(map[string]any{"@type": "StateChange", "changed": changed})
	fmt.Fprintf(w, "event: state\ndata: %s\n\n", b)
	return true
}

// mergeReady turns the Ready channels of the shared accounts' watchers
// into one (a goroutine per watcher for the life of the stream; nil
// when there are none, which never fires).
func mergeReady(ctx context.Context, ws []store.Watcher) <-chan struct{} {
	if len(ws) == 0 {
		return nil
	}
	out := make(chan struct{}, 1)
	for _, w := range ws {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case _, open := <-w.Ready():
					if !open {
						return
					}
					select {
					case out <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	return out
}
