package smtpserver

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
	"time"
)

// Data receives the message of an SMTP or submission transaction (DATA,
// RFC 5321 §4.1.1.4, or BDAT, RFC 3030) and answers once for all
// recipients. go-smtp has already removed the dot-stuffing and ends DATA
// only at <CRLF>.<CRLF>.
func (s *session) Data(r io.Reader) error {
	defer s.receiving()()
	tx := s.snapshot()
	id, results, err := s.deliver(tx, r)
	if err != nil {
		return err
	}
	// One reply for the transaction. When only some copies failed we
	// cannot bounce (no outbound queue), so we report the failure: a
	// temporary one first, as the client's retry may then reach everyone
	// (at the price of a duplicate for the others), never a silent loss.
	var worst error
	for i, res := range results {
		reply := deliveryReply(res)
		if reply == nil {
			continue
		}
		if worst == nil || reply.Temporary() {
			worst = reply
		}
		s.srv.opts.Logger.Warn("delivery failed", "id", id, "rcpt", tx.rcpts[i].addr, "err", res)
	}
	if worst != nil {
		return worst
	}
	return stored(id)
}

// LMTPData receives the message of an LMTP transaction and reports a status
// per recipient (RFC 2033 §4.2): each accepted RCPT gets its own 250 or
// failure from its own delivery result.
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	defer s.receiving()()
	tx := s.snapshot()
	id, results, err := s.deliver(tx, r)
	if err != nil {
		return err // go-smtp applies it to every recipient
	}
	for i, rc := range tx.rcpts {
		if reply := deliveryReply(results[i]); reply != nil {
			s.srv.opts.Logger.Warn("delivery failed", "id", id, "rcpt", rc.addr, "err", results[i])
			status.SetStatus(rc.addr, reply)
			continue
		}
		status.SetStatus(rc.addr, stored(id))
	}
	return nil
}

// deliver stores trace headers + message data for every recipient with one
// Deliver call (one blob for all) and returns the message id and the
// store's error per recipient, in tx.rcpts order. The error return is an
// SMTP reply for the whole transaction. It returns only after the store made
// the copies durable, so a 250 built from its result is safe.
func (s *session) deliver(tx transaction, r io.Reader) (string, []error, error) {
	opts := s.srv.opts
	id := strings.ToLower(rand.Text()[:16])
	if len(tx.rcpts) == 0 {
		// go-smtp refuses DATA without recipients; keep the reader drained.
		io.Copy(io.Discard, r)
		return id, nil, errBadRecipient
	}

	// One target per distinct account: "Bob@x" and "bob@x" are one copy.
	var targets []store.Target
	targetOf := make([]int, len(tx.rcpts))
	seen := map[string]int{}
	for i, rc := range tx.rcpts {
		j, ok := seen[rc.account]
		if !ok {
			j = len(targets)
			seen[rc.account] = j
			targets = append(targets, store.Target{Account: rc.account})
		}
		targetOf[i] = j
	}

	trace := traceInfo{
		from:     tx.from,
		helo:     tx.helo,
		tls:      tx.tls,
		rdns:     s.remoteName(),
		remote:   s.remote,
		hostname: opts.Hostname,
		id:       id,
		date:     opts.Now(),
	}
	trace.protocol = protocolName(opts.Mode, tx.utf8, tx.tls != nil, s.authenticated() != nil)
	if len(targets) == 1 {
		trace.rcpt = tx.rcpts[0].addr
	}

	body := &countingReader{r: r}
	started := time.Now()
	results, err := opts.Store.Deliver(s.ctx, io.MultiReader(bytes.NewReader(trace.header()), body), targets)
	log := opts.Logger.With("proto", opts.Mode.String(), "id", id, "remote", s.remote.String(),
		"from", tx.from, "rcpts", len(tx.rcpts), "size", body.n)
	if body.err != nil {
		// The client's data never arrived whole (too large, line too
		// long, connection lost, BDAT aborted): nothing may be stored.
		reply := readReply(body.err)
		log.Info("message not received", "err", body.err, "reply", reply.Code)
		opts.Metrics.Delivery(opts.Mode.String(), false, body.n, time.Since(started))
		return id, nil, reply
	}
	if err != nil {
		reply := deliveryReply(err)
		log.Error("delivery failed", "err", err, "reply", reply.Code)
		opts.Metrics.Delivery(opts.Mode.String(), false, body.n, time.Since(started))
		return id, nil, reply
	}
	if len(results) != len(targets) {
		log.Error("store returned wrong number of results", "want", len(targets), "got", len(results))
		return id, nil, errTempFailure
	}
	perRcpt := make([]error, len(tx.rcpts))
	delivered := 0
	for i := range tx.rcpts {
		perRcpt[i] = results[targetOf[i]].Err
		if perRcpt[i] == nil {
			delivered++
		}
	}
	log.Info("message received", "delivered", delivered)
	opts.Metrics.Delivery(opts.Mode.String(), delivered > 0, body.n, time.Since(started))
	return id, perRcpt, nil
}

// countingReader counts the client's octets and remembers the first read
// error, which the store may wrap or hide.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
