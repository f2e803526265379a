package outbound

import (
	"bytes"
	"context"
	"time"

	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/store"
)

// finish records a message's results once all its domains are done:
// bounces and the delay notice go to the sender's INBOX first, then the
// store update (a crash in between repeats a notice, never loses one).
func (w *Worker) finish(ctx context.Context, msg *message) {
	defer func() {
		w.mu.Lock()
		delete(w.busy, msg.m.ID)
		w.mu.Unlock()
	}()
	m := msg.m
	now := w.opts.Now()
	// Store work must finish even when shutdown cancelled ctx: these
	// results are real (a remote 250 must be recorded).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()

	attempts := map[string]int{}
	for _, r := range m.Recipients {
		attempts[r.Address] = r.Attempts
	}
	var updates []store.RecipientUpdate
	var failed, stillPending []dsnRecipient
	expired := now.Sub(m.Queued) >= w.opts.MaxAge
	for _, r := range msg.results {
		u := store.RecipientUpdate{Address: r.addr, LastError: r.text, RemoteMTA: r.remote, TLS: r.tls, Attempted: true, At: now}
		d := dsnRecipient{addr: r.addr, status: r.status, diagnostic: r.text, remote: r.remote, lastAttempt: now}
		switch {
		case r.kind == resultDelivered:
			u.State = store.OutboundDelivered
			w.opts.Metrics.OutboundAttempt(metrics.OutboundDelivered)
		case r.kind == resultPerm:
			u.State = store.OutboundFailed
			failed = append(failed, d)
			w.opts.Metrics.OutboundAttempt(metrics.OutboundFailed)
		case expired:
			u.State = store.OutboundFailed
			d.status = "4.4.7" // RFC 3463: delivery time expired
			failed = append(failed, d)
			w.opts.Metrics.OutboundAttempt(metrics.OutboundExpired)
		default:
			u.State = store.OutboundPending
			u.NextAttempt = now.Add(w.opts.retryAfter(attempts[r.addr] + 1))
			stillPending = append(stillPending, d)
			w.opts.Metrics.OutboundAttempt(metrics.OutboundDeferred)
		}
		updates = append(updates, u)
	}
	if len(updates) == 0 {
		return // nothing was tried (shutdown): due again when the lease ends
	}
	notified := false
	if m.From != "" { // never a DSN about a DSN (RFC 3464 §2.3.7... RFC 5321 §4.5.5)
		if len(failed) > 0 {
			w.bounce(sctx, m, dsnFailed, failed)
		}
		if !m.DelayNotified && w.opts.DelayNotice > 0 && len(stillPending) > 0 && now.Sub(m.Queued) >= w.opts.DelayNotice {
			for i := range stillPending {
				stillPending[i].retryUntil = m.Queued.Add(w.opts.MaxAge)
			}
			w.bounce(sctx, m, dsnDelayed, stillPending)
			notified = true
		}
	}
	if err := w.queue.UpdateQueued(sctx, m.ID, updates, notified); err != nil {
		w.opts.Logger.Error("outbound: recording delivery results", "id", m.ID, "err", err)
	}
	if len(stillPending) > 0 {
		// The run loop may be asleep until a time computed while this
		// message was leased: let it see the new retry time.
		w.Wake()
	}
}

// bounce delivers a DSN straight into the sending account's INBOX.
func (w *Worker) bounce(ctx context.Context, m store.OutboundMessage, action string, rcpts []dsnRecipient) {
	var headers []byte
	if blob, err := w.st.OpenBlob(ctx, m.BlobID); err == nil {
		headers = readHeader(blob)
		blob.Close()
	}
	dsn := buildDSN(dsnInput{
		hostname: w.opts.Hostname, to: m.From, action: action, arrival: m.Queued,
		date: w.opts.Now(), rcpts: rcpts, headers: headers, queueID: m.ID,
	})
	res, err := w.st.Deliver(ctx, bytes.NewReader(dsn), []store.Target{{Account: m.Account}})
	if err == nil && len(res) == 1 {
		err = res[0].Err
	}
	if err != nil {
		w.opts.Logger.Error("outbound: storing a DSN", "id", m.ID, "account", m.Account, "action", action, "err", err)
		return
	}
	w.opts.Logger.Info("outbound: DSN", "id", m.ID, "account", m.Account, "action", action, "rcpts", len(rcpts))
	w.opts.Metrics.OutboundDSN(action) // dsnFailed and dsnDelayed are the metric's label values
}
