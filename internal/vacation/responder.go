package vacation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// DefaultInterval is how long a sender who was answered is not answered
// again: RFC 5230 §4.2's default of 7 days.
const DefaultInterval = 7 * 24 * time.Hour

// maxReplied bounds the remembered senders per account; the oldest go
// first.
const maxReplied = 1000

// Responder sends vacation replies for delivered mail.
type Responder struct {
	Store store.Store
	// Queue takes replies to senders of other servers; nil: those get
	// none (logged). Queued wakes the delivery worker after an enqueue.
	Queue  store.Queue
	Queued func()
	// Hostname is the right-hand side of the replies' Message-IDs.
	Hostname string
	// Interval: DefaultInterval when zero.
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time // nil: time.Now

	mu    sync.Mutex // one decision and its record at a time
	cache settingsCache
}

func (r *Responder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Responder) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Delivered looks at a message just stored for account (rcpt: the
// envelope recipient it came in for; envFrom: the envelope sender; head:
// the start of the message, at least its header section) and sends the
// account's vacation reply when the rules allow. It reports whether a
// reply went out. Errors are logged, never returned: a reply is a
// courtesy, the delivery has already succeeded.
func (r *Responder) Delivered(ctx context.Context, account, rcpt, envFrom string, head []byte) bool {
	if r == nil || envFrom == "" {
		return false // RFC 3834 §2: no reply to the null sender
	}
	s, err := r.settings(ctx, account)
	if err != nil {
		if !errors.Is(err, ErrUnsupported) {
			r.log().Warn("vacation: loading settings", "account", account, "err", err)
		}
		return false
	}
	now := r.now()
	if !s.Active(now) {
		return false
	}
	msg, err := mail.ReadMessage(bytes.NewReader(head))
	if err != nil {
		r.log().Info("vacation: no reply, header unreadable", "account", account, "err", err)
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	replied, err := r.loadReplied(ctx, account)
	if err != nil {
		r.log().Warn("vacation: loading replied senders", "account", account, "err", err)
		return false
	}
	from := strings.ToLower(envFrom)
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	last, seen := replied[from]
	d := Decide(Incoming{Account: account, Rcpt: rcpt, EnvFrom: envFrom, Header: msg.Header,
		Replied: seen && now.Sub(time.Unix(last, 0)) < interval, Settings: s})
	if !d.Reply {
		r.log().Debug("vacation: no reply", "account", account, "to", envFrom, "reason", d.Reason)
		return false
	}
	replyFrom := rcpt
	if replyFrom == "" {
		replyFrom = account
	}
	body := Compose(s, replyFrom, d.To, msg.Header, r.Hostname, now)
	if err := r.send(ctx, account, d.To, body); err != nil {
		r.log().Warn("vacation: sending reply", "account", account, "to", d.To, "err", err)
		return false
	}
	replied[from] = now.Unix()
	if err := r.saveReplied(ctx, account, replied, now, interval); err != nil {
		r.log().Warn("vacation: recording reply", "account", account, "to", d.To, "err", err)
	}
	r.log().Info("vacation: replied", "account", account, "to", d.To)
	return true
}

// send delivers the reply here when the address is local (an account or
// an alias), else queues it with the null sender (RFC 3834 §4; RFC 5230
// §5.1), so no bounce comes back for it.
func (r *Responder) send(ctx context.Context, account, to string, body []byte) error {
	target, err := r.localAccount(ctx, to)
	if err != nil {
		return err
	}
	if target != "" {
		src := io.MultiReader(strings.NewReader("Return-Path: <>\r\n"), bytes.NewReader(body))
		res, err := r.Store.Deliver(ctx, src, []store.Target{{Account: target}})
		if err != nil {
			return err
		}
		return res[0].Err
	}
	if r.Queue == nil {
		return errors.New("remote delivery is not configured")
	}
	if _, err := r.Queue.Enqueue(ctx, bytes.NewReader(body), account, "", []string{to}); err != nil {
		return err
	}
	if r.Queued != nil {
		r.Queued()
	}
	return nil
}

// localAccount returns the account addr is delivered to here, or "".
func (r *Responder) localAccount(ctx context.Context, addr string) (string, error) {
	acct, err := r.Store.Account(ctx, addr)
	if err == nil {
		return acct.Name, nil
	}
	if !errors.Is(err, store.ErrNoSuchAccount) {
		return "", err
	}
	if al, ok := r.Store.(store.Aliases); ok {
		return al.ResolveAlias(ctx, addr)
	}
	return "", nil
}

func (r *Responder) loadReplied(ctx context.Context, account string) (map[string]int64, error) {
	md, err := metadataOf(r.Store)
	if err != nil {
		return nil, err
	}
	ents, err := md.GetMetadata(ctx, account, store.ServerMetadata, []string{repliedEntry})
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, e := range ents {
		if e.Name == repliedEntry {
			if err := json.Unmarshal(e.Value, &out); err != nil {
				return map[string]int64{}, nil // damaged: start afresh
			}
		}
	}
	return out, nil
}

// saveReplied keeps the senders answered within interval, at most
// maxReplied of them (the most recent).
func (r *Responder) saveReplied(ctx context.Context, account string, replied map[string]int64, now time.Time, interval time.Duration) error {
	type kv struct {
		addr string
		at   int64
	}
	var list []kv
	for a, t := range replied {
		if now.Sub(time.Unix(t, 0)) < interval {
			list = append(list, kv{a, t})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].at > list[j].at })
	if len(list) > maxReplied {
		list = list[:maxReplied]
	}
	keep := make(map[string]int64, len(list))
	for _, e := range list {
		keep[e.addr] = e.at
	}
	b, err := json.Marshal(keep)
	if err != nil {
		return err
	}
	md, err := metadataOf(r.Store)
	if err != nil {
		return err
	}
	return md.SetMetadata(ctx, account, store.ServerMetadata, []store.MetadataEntry{{Name: repliedEntry, Value: b}}, store.MetadataLimits{})
}
