package outbound

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/dsn"
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
	rcptOf := map[string]store.OutboundRecipient{}
	for _, r := range m.Recipients {
		attempts[r.Address] = r.Attempts
		rcptOf[r.Address] = r
	}
	var updates []store.RecipientUpdate
	var failed, stillPending, relayed []dsn.Recipient
	pendingLeft := false
	expired := now.Sub(m.Queued) >= w.opts.MaxAge
	for _, r := range msg.results {
		u := store.RecipientUpdate{Address: r.addr, LastError: r.text, RemoteMTA: r.remote, TLS: r.tls, Attempted: true, At: now}
		d := dsn.Recipient{Addr: r.addr, Status: r.status, Diagnostic: r.text, Remote: r.remote, LastAttempt: now, ORcpt: rcptOf[r.addr].ORcpt}
		notify := rcptOf[r.addr].Notify
		switch {
		case r.kind == resultDelivered:
			u.State = store.OutboundDelivered
			w.opts.Metrics.OutboundAttempt(metrics.OutboundDelivered)
			if r.relayed && wantsNotice(notify, "SUCCESS") {
				relayed = append(relayed, d)
			}
		case r.kind == resultPerm:
			u.State = store.OutboundFailed
			w.opts.Metrics.OutboundAttempt(metrics.OutboundFailed)
			if wantsNotice(notify, "FAILURE") {
				failed = append(failed, d)
			}
		case expired:
			u.State = store.OutboundFailed
			d.Status = "4.4.7" // RFC 3463: delivery time expired
			w.opts.Metrics.OutboundAttempt(metrics.OutboundExpired)
			if wantsNotice(notify, "FAILURE") {
				failed = append(failed, d)
			}
		default:
			u.State = store.OutboundPending
			u.NextAttempt = now.Add(w.opts.retryAfter(attempts[r.addr] + 1))
			w.opts.Metrics.OutboundAttempt(metrics.OutboundDeferred)
			if wantsNotice(notify, "DELAY") {
				stillPending = append(stillPending, d)
			}
			pendingLeft = true
		}
		updates = append(updates, u)
	}
	if len(updates) == 0 {
		return // nothing was tried (shutdown): due again when the lease ends
	}
	notified := false
	if m.From != "" { // never a DSN about a DSN (RFC 3464 §2.3.7... RFC 5321 §4.5.5)
		if len(failed) > 0 {
			w.bounce(sctx, m, dsn.Failed, failed)
		}
		if len(relayed) > 0 {
			w.bounce(sctx, m, dsn.Relayed, relayed)
		}
		if !m.DelayNotified && w.opts.DelayNotice > 0 && pendingLeft && now.Sub(m.Queued) >= w.opts.DelayNotice {
			// Decided once per message, even when no recipient asked
			// for it (NOTIFY without DELAY, RFC 3461 §4.1).
			notified = true
			for i := range stillPending {
				stillPending[i].RetryUntil = m.Queued.Add(w.opts.MaxAge)
			}
			if len(stillPending) > 0 {
				w.bounce(sctx, m, dsn.Delayed, stillPending)
			}
		}
	}
	if err := w.queue.UpdateQueued(sctx, m.ID, updates, notified); err != nil {
		w.opts.Logger.Error("outbound: recording delivery results", "id", m.ID, "err", err)
	}
	if pendingLeft {
		// The run loop may be asleep until a time computed while this
		// message was leased: let it see the new retry time.
		w.Wake()
	}
}

// wantsNotice reports whether a recipient's NOTIFY (RFC 3461 §4.1) asks
// for a notice of kind (SUCCESS, FAILURE, DELAY). Without NOTIFY, failure
// and delay notices are sent (the "FAILURE,DELAY" default §4.1 allows),
// success ones not; NEVER asks for none.
func wantsNotice(notify, kind string) bool {
	if notify == "" {
		return kind != "SUCCESS"
	}
	return slices.Contains(strings.Split(notify, ","), kind)
}

// bounce delivers a DSN straight into the sending account's INBOX. A
// failure notice for a message sent with RET=FULL returns the whole
// message (RFC 3461 §4.3) when it is at most maxReturnedFull; every other
// notice returns its header.
func (w *Worker) bounce(ctx context.Context, m store.OutboundMessage, action string, rcpts []dsn.Recipient) {
	var headers, full []byte
	if blob, err := w.st.OpenBlob(ctx, m.BlobID); err == nil {
		if action == dsn.Failed && m.Ret == "FULL" && blob.Size() <= dsn.MaxReturnedFull {
			full, _ = io.ReadAll(io.NewSectionReader(blob, 0, blob.Size()))
		}
		if full == nil {
			headers = dsn.ReadHeader(io.NewSectionReader(blob, 0, blob.Size()))
		}
		blob.Close()
	}
	notice := dsn.Build(dsn.Report{
		Hostname: w.opts.Hostname, To: m.From, Action: action, Arrival: m.Queued,
		Date: w.opts.Now(), Rcpts: rcpts, Headers: headers, Full: full, QueueID: m.ID, EnvID: m.EnvID,
	})
	res, err := w.st.Deliver(ctx, bytes.NewReader(notice), []store.Target{{Account: m.Account}})
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
