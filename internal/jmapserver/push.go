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

// accountStates derives the current state of every push type.
func (s *Server) accountStates(ctx context.Context, acct store.Account) (map[string]string, error) {
	mbs, err := s.opts.Store.Mailboxes(ctx, acct.Name)
	if err != nil {
		return nil, err
	}
	l, err := mbs.List(ctx)
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
	_, identityState, err := readIdentity(ctx, s.opts.Store, acct.Name)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"Mailbox":         mailboxVector(l, readSortOrders(ctx, s.opts.Store, acct.Name)).encode('m'),
		"Email":           v.encode('e'),
		"Thread":          v.encode('t'),
		"EmailDelivery":   dv.encode('d'),
		"EmailSubmission": s.subs.state(acct.Name),
		"Identity":        identityState,
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
	// Subscribe before reading the states, so no change falls in between.
	watch := s.opts.Store.Watch(acct.Name)
	defer watch.Close()
	last, err := s.accountStates(r.Context(), acct)
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
	id := accountID(acct)
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
			for _, c := range changes {
				if !c.At.IsZero() {
					s.opts.Metrics.FeedLag("jmap", time.Since(c.At))
				}
			}
			cur, err := s.accountStates(r.Context(), acct)
			if err != nil {
				return
			}
			changed := map[string]string{}
			for t := range want {
				if cur[t] != last[t] {
					changed[t] = cur[t]
				}
			}
			last = cur
			if len(changed) == 0 {
				continue
			}
			b, _ := json.Marshal(map[string]any{
				"@type":   "StateChange",
				"changed": map[string]any{id: changed},
			})
			fmt.Fprintf(w, "event: state\ndata: %s\n\n", b)
			flusher.Flush()
			if closeAfter == "state" {
				return
			}
		}
	}
}
