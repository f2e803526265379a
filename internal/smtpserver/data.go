package smtpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/dsn"
	"github.com/letterbox/letterbox/internal/store"
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
	// One reply for the transaction. When only some copies failed we do
	// not bounce (the client is there to be told), so we report the
	// failure: a temporary one first, as the client's retry may then
	// reach everyone (at the price of a duplicate for the others), never a
	// silent loss.
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
	// Remote recipients (submission) go to the outbound queue instead.
	var targets []store.Target
	var remote []string
	env := store.Envelope{From: tx.from, Ret: tx.ret, EnvID: tx.envID}
	targetOf := make([]int, len(tx.rcpts))
	seen := map[string]int{}
	for i, rc := range tx.rcpts {
		if rc.account == remoteRecipient {
			targetOf[i] = -1
			remote = append(remote, rc.addr)
			env.Rcpts = append(env.Rcpts, store.EnvelopeRcpt{Address: rc.addr, Notify: rc.notify, ORcpt: rc.orcpt})
			continue
		}
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
	if len(targets)+len(remote) == 1 {
		trace.rcpt = tx.rcpts[0].addr
	}
	header := trace.header()

	body := &countingReader{r: r}
	started := time.Now()
	failed := func() { opts.Metrics.Delivery(opts.Mode.String(), false, body.n, time.Since(started)) }
	log := opts.Logger.With("proto", opts.Mode.String(), "id", id, "remote", s.remote.String(),
		"from", tx.from, "rcpts", len(tx.rcpts))
	perRcpt := make([]error, len(tx.rcpts))
	delivered := 0
	// queueSrc is what the outbound copy is read from: the client's data
	// when nothing was delivered locally, else the local copy's stored
	// body without its Return-Path line (RFC 5321 §4.4: Return-Path is
	// added at final delivery only, and the remote end adds its own).
	var queueSrc io.Reader = io.MultiReader(bytes.NewReader(header[returnPathLen(tx.from):]), body)
	var msgSrc io.Reader = body
	if opts.Mode == ModeSMTP && opts.AuthCheck != nil && s.authenticated() == nil {
		// Port 25: SPF, DKIM and DMARC before the message is stored.
		src, ar, done, reply := s.checkAuth(tx, body, log)
		if reply != nil {
			failed()
			return id, nil, reply
		}
		defer done()
		msgSrc = src
		rp := returnPathLen(tx.from)
		header = append(append(append([]byte{}, header[:rp]...), ar...), header[rp:]...)
	}
	var head *headCapture
	if opts.Delivered != nil {
		head = &headCapture{r: msgSrc, max: maxHeadCapture}
		msgSrc = head
	}
	if len(targets) > 0 {
		results, err := opts.Store.Deliver(s.ctx, io.MultiReader(bytes.NewReader(header), msgSrc), targets)
		if body.err != nil {
			// The client's data never arrived whole (too large, line too
			// long, connection lost, BDAT aborted): nothing may be stored.
			reply := readReply(body.err)
			log.Info("message not received", "size", body.n, "err", body.err, "reply", reply.Code)
			failed()
			return id, nil, reply
		}
		if err != nil {
			reply := deliveryReply(err)
			log.Error("delivery failed", "err", err, "reply", reply.Code)
			failed()
			return id, nil, reply
		}
		if len(results) != len(targets) {
			log.Error("store returned wrong number of results", "want", len(targets), "got", len(results))
			return id, nil, errTempFailure
		}
		for i := range tx.rcpts {
			if targetOf[i] < 0 {
				continue
			}
			perRcpt[i] = results[targetOf[i]].Err
			if perRcpt[i] == nil {
				delivered++
				if head != nil {
					go opts.Delivered(context.WithoutCancel(s.ctx), targets[targetOf[i]].Account, tx.rcpts[i].addr, tx.from, head.buf)
				}
			}
		}
		s.deliveredNotice(tx, targets, results, targetOf, perRcpt, log)
		if len(remote) > 0 {
			src, closeSrc, err := s.storedCopy(targets, results, returnPathLen(tx.from))
			if err != nil {
				log.Error("reading the local copy to queue it", "err", err)
				return id, nil, errTempFailure
			}
			defer closeSrc()
			queueSrc = src
		}
	}
	queued := 0
	if len(remote) > 0 {
		acct := s.authenticated()
		var qerr error
		if acct == nil {
			qerr = errRemoteNotConfigured // resolveRecipient never lets this happen
		} else {
			env.Account = acct.Name
			msg, err := opts.Queue.EnqueueEnvelope(s.ctx, queueSrc, env)
			if body.err != nil {
				reply := readReply(body.err)
				log.Info("message not received", "size", body.n, "err", body.err, "reply", reply.Code)
				failed()
				return id, nil, reply
			}
			qerr = err
			if err == nil {
				queued = len(remote)
				log = log.With("queue_id", msg.ID)
				if opts.Queued != nil {
					opts.Queued()
				}
			}
		}
		for i := range tx.rcpts {
			if targetOf[i] < 0 {
				perRcpt[i] = qerr
			}
		}
	}
	log.Info("message received", "size", body.n, "delivered", delivered, "queued", queued)
	opts.Metrics.Delivery(opts.Mode.String(), delivered+queued > 0, body.n, time.Since(started))
	return id, perRcpt, nil
}

// deliveredNotice tells the sender, with a "delivered" DSN in its INBOX,
// about the local recipients that asked NOTIFY=SUCCESS (RFC 3461 §5.2.3;
// only submission offers DSN). A failure to store it is logged: the
// message itself was delivered.
func (s *session) deliveredNotice(tx transaction, targets []store.Target, results []store.DeliveryResult, targetOf []int, perRcpt []error, log *slog.Logger) {
	acct := s.authenticated()
	if acct == nil {
		return
	}
	var rcpts []dsn.Recipient
	for i, rc := range tx.rcpts {
		if targetOf[i] >= 0 && perRcpt[i] == nil && slices.Contains(strings.Split(rc.notify, ","), "SUCCESS") {
			rcpts = append(rcpts, dsn.Recipient{Addr: rc.addr, Status: "2.0.0", ORcpt: rc.orcpt})
		}
	}
	if len(rcpts) == 0 {
		return
	}
	var headers []byte
	if src, done, err := s.storedCopy(targets, results, 0); err == nil {
		headers = dsn.ReadHeader(src)
		done()
	}
	opts := s.srv.opts
	now := opts.Now()
	notice := dsn.Build(dsn.Report{Hostname: opts.Hostname, To: tx.from, Action: dsn.Delivered, Arrival: now, Date: now,
		Rcpts: rcpts, Headers: headers, EnvID: tx.envID})
	res, err := opts.Store.Deliver(s.ctx, bytes.NewReader(notice), []store.Target{{Account: acct.Name}})
	if err == nil && len(res) == 1 {
		err = res[0].Err
	}
	if err != nil {
		log.Error("storing a delivered notice", "err", err)
	}
}

// returnPathLen is the length of the Return-Path line traceInfo.header
// writes for sender from.
func returnPathLen(from string) int { return len("Return-Path: <" + from + ">\r\n") }

// storedCopy opens the body stored for the first target that succeeded,
// from offset skip on.
func (s *session) storedCopy(targets []store.Target, results []store.DeliveryResult, skip int) (io.Reader, func(), error) {
	st := s.srv.opts.Store
	for i, res := range results {
		if res.Err != nil {
			continue
		}
		mbs, err := st.Mailboxes(s.ctx, targets[i].Account)
		if err != nil {
			return nil, nil, err
		}
		mb, err := mbs.Open(s.ctx, store.InboxName)
		if err != nil {
			return nil, nil, err
		}
		d, err := mb.Details(s.ctx, []store.UID{res.UID})
		if err != nil {
			return nil, nil, err
		}
		if len(d) != 1 {
			return nil, nil, errors.New("delivered message not found")
		}
		b, err := st.OpenBlob(s.ctx, d[0].BlobID)
		if err != nil {
			return nil, nil, err
		}
		return io.NewSectionReader(b, int64(skip), b.Size()-int64(skip)), func() { b.Close() }, nil
	}
	return nil, nil, errors.New("no local copy was stored")
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

// maxHeadCapture is how much of a message Options.Delivered is given at
// most: its header section, or the first 64 KiB when that is longer.
const maxHeadCapture = 64 << 10

// headCapture keeps what is read through it up to the end of the header
// section (the first empty line, RFC 5322 §2.1) and at most max octets:
// Options.Delivered reads only the header fields, and copying the whole
// first 64 KiB of every message was 2% of LMTP delivery's CPU.
type headCapture struct {
	r    io.Reader
	max  int
	buf  []byte
	done bool // the empty line is in buf
}

func (h *headCapture) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := h.max - len(h.buf); room > 0 && n > 0 && !h.done {
		from := max(len(h.buf)-2, 0) // an end split across reads
		h.buf = append(h.buf, p[:min(n, room)]...)
		if i := headerEnd(h.buf[from:]); i >= 0 {
			h.buf, h.done = h.buf[:from+i], true
		}
	}
	return n, err
}

// headerEnd returns the length of b up to and including the empty line
// that ends a header section ("\n\r\n" or, for bare-LF input, "\n\n"), or
// -1 when b has none.
func headerEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}
