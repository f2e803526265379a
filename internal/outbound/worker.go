package outbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Worker delivers the queue. Run it once per process; several processes
// (nodes) may run one each on a shared store.
type Worker struct {
	opts  Options
	st    store.Store
	queue store.Queue

	wake chan struct{}
	// conns bounds connections in total; domains holds a semaphore per
	// destination domain with work in flight.
	conns   chan struct{}
	mu      sync.Mutex
	domains map[string]chan struct{}
	busy    map[int64]bool // messages in flight in this process

	dane      *daneResolver // nil: DANE off
	tlsrpt    *tlsRecorder  // TLS-RPT results
	sts       *stsCache     // MTA-STS policies
	stsClient *http.Client  // their fetches
	wg        sync.WaitGroup
}

// New makes a Worker for st, which must implement store.Queue.
func New(st store.Store, opts Options) (*Worker, error) {
	q, ok := st.(store.Queue)
	if !ok {
		return nil, errors.New("outbound: the store keeps no outbound queue")
	}
	opts = opts.withDefaults()
	var dane *daneResolver
	if opts.DANE {
		var err error
		if dane, err = newDANE(opts.DNSServer); err != nil {
			return nil, err
		}
	}
	return &Worker{
		dane: dane, tlsrpt: &tlsRecorder{dir: opts.TLSRPTDir},
		opts: opts, st: st, queue: q,
		wake:      make(chan struct{}, 1),
		conns:     make(chan struct{}, opts.MaxConnections),
		domains:   make(map[string]chan struct{}),
		busy:      make(map[int64]bool),
		sts:       &stsCache{dir: opts.STSCacheDir, mem: map[string]stsPolicy{}},
		stsClient: newSTSClient(opts),
	}, nil
}

// Wake makes the worker look at the queue now (a message was queued).
// Never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// maxInFlight bounds the messages one process works on at once.
const maxInFlight = 1000

// Run delivers until ctx is done, then waits for the deliveries in
// flight (each bounded by its timeouts) and returns.
func (w *Worker) Run(ctx context.Context) {
	defer w.wg.Wait()
	for {
		w.mu.Lock()
		room := maxInFlight - len(w.busy)
		w.mu.Unlock()
		if room > 0 {
			msgs, err := w.queue.ClaimDue(ctx, w.opts.Now(), w.opts.Lease, min(room, 100))
			if err != nil && ctx.Err() == nil {
				w.opts.Logger.Warn("outbound: claiming due messages", "err", err)
			}
			if len(msgs) > 0 {
				w.dispatch(ctx, msgs)
				continue
			}
		}
		wait := w.opts.Poll
		if at, ok, err := w.queue.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(at.Sub(w.opts.Now()), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// message is one claimed message while its domains are worked on.
type message struct {
	m       store.OutboundMessage
	mu      sync.Mutex
	left    int // domain parts not finished
	results []rcptResult
}

// dispatch starts one goroutine per (domain, batch of messages) for the
// claimed messages' pending recipients.
func (w *Worker) dispatch(ctx context.Context, msgs []store.OutboundMessage) {
	type part struct {
		msg   *message
		rcpts []string
	}
	byDomain := map[string][]part{}
	var order []string
	for _, m := range msgs {
		w.mu.Lock()
		if w.busy[m.ID] {
			// Still in flight here (claimed again after its lease ran
			// out): leave it to the first delivery.
			w.mu.Unlock()
			continue
		}
		w.busy[m.ID] = true
		w.mu.Unlock()
		msg := &message{m: m}
		rcptsOf := map[string][]string{}
		var domains []string
		for _, r := range m.Recipients {
			if r.State != store.OutboundPending {
				continue
			}
			d := domainOf(r.Address)
			if _, ok := rcptsOf[d]; !ok {
				domains = append(domains, d)
			}
			rcptsOf[d] = append(rcptsOf[d], r.Address)
		}
		msg.left = len(domains)
		if len(domains) == 0 {
			w.finish(ctx, msg)
			continue
		}
		for _, d := range domains {
			if _, ok := byDomain[d]; !ok {
				order = append(order, d)
			}
			byDomain[d] = append(byDomain[d], part{msg, rcptsOf[d]})
		}
	}
	for _, d := range order {
		parts := byDomain[d]
		jobs := make([]*job, len(parts))
		for i, p := range parts {
			jobs[i] = &job{msg: p.msg, rcpts: p.rcpts}
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.deliverDomain(ctx, d, jobs)
			for _, j := range jobs {
				j.msg.mu.Lock()
				j.msg.results = append(j.msg.results, j.results...)
				j.msg.left--
				last := j.msg.left == 0
				j.msg.mu.Unlock()
				if last {
					w.finish(ctx, j.msg)
				}
			}
		}()
	}
}

// job is one message's recipients in one domain.
type job struct {
	msg     *message
	rcpts   []string
	results []rcptResult
	remote  string
	tls     bool
}

// domainSem returns the semaphore of a destination domain.
func (w *Worker) domainSem(domain string) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	sem, ok := w.domains[domain]
	if !ok {
		sem = make(chan struct{}, w.opts.PerDomain)
		w.domains[domain] = sem
	}
	return sem
}

// deliverDomain sends jobs (all for domain) over as few connections as it
// can: every MX host and address in order until each job got an answer.
func (w *Worker) deliverDomain(ctx context.Context, domain string, jobs []*job) {
	key := domain
	if w.opts.Relay.Host != "" {
		key = "relay:" + w.opts.Relay.Host
	}
	sem := w.domainSem(key)
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return // results stay empty: pending, due when the lease ends
	}
	defer func() { <-sem }()
	select {
	case w.conns <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-w.conns }()

	hops, err := w.route(ctx, domain)
	if err == nil {
		hops, err = w.applyPolicies(ctx, domain, hops)
	}
	if err != nil {
		for _, j := range jobs {
			j.results = failAll(j.rcpts, err)
		}
		w.opts.Logger.Info("outbound: no route", "domain", domain, "err", err)
		return
	}
	pending := jobs
	var lastErr error = errors.New("no host to try")
	for _, h := range hops {
		for _, ip := range h.addrs {
			for len(pending) > 0 && ctx.Err() == nil {
				cn, err := w.connect(ctx, h, ip)
				if err != nil {
					lastErr = err
					w.opts.Logger.Info("outbound: connecting", "domain", domain, "host", h.name, "addr", ip, "err", err)
					w.connectFailed(domain, h, ip, err)
					break
				}
				w.tlsOutcome(domain, h, ip, cn)
				// Shutdown cuts the connection: a transfer in progress is
				// abandoned (the receiver has not said 250, so nothing is
				// lost) rather than waited for.
				stopCut := context.AfterFunc(ctx, func() { cn.c.Close() })
				sent := 0
				for len(pending) > 0 && sent < w.opts.MessagesPerConn {
					j := pending[0]
					res, cerr := w.sendJob(ctx, cn, j)
					if cerr != nil {
						lastErr = cerr
						w.opts.Logger.Info("outbound: connection lost", "domain", domain, "host", h.name, "addr", ip, "err", cerr)
						break
					}
					j.results, j.remote, j.tls = res, h.name, cn.tls
					for i := range j.results {
						j.results[i].remote, j.results[i].tls = h.name, cn.tls
					}
					pending = pending[1:]
					sent++
				}
				broken := len(pending) > 0 && sent < w.opts.MessagesPerConn
				stopCut()
				cn.close()
				if broken {
					break // the next address
				}
			}
		}
	}
	if ctx.Err() != nil {
		// Shutdown: what was not answered stays pending, untried, and is
		// due again when its lease ends.
		return
	}
	for _, j := range pending {
		j.results = failAll(j.rcpts, lastErr)
	}
}

// failAll gives every recipient the same failure.
func failAll(rcpts []string, err error) []rcptResult {
	var pe *permanentError
	var se *securityError
	out := make([]rcptResult, len(rcpts))
	for i, r := range rcpts {
		switch {
		case errors.As(err, &se):
			// RFC 3463 X.7.5: cryptographic failure; temporary (RFC 8461 §5).
			out[i] = rcptResult{addr: r, kind: resultTemp, text: se.Error(), status: "4.7.5"}
		case errors.As(err, &pe):
			out[i] = rcptResult{addr: r, kind: resultPerm, text: pe.text, status: pe.status}
		default:
			out[i] = fromReply(r, err)
			if out[i].kind == resultPerm {
				// A 5xx greeting or EHLO is about the host, not the
				// recipient: try again later (another MX may be back).
				out[i].kind = resultTemp
				out[i].status = "4" + out[i].status[1:]
			}
		}
	}
	return out
}

// sendJob sends one job's message on cn: converted to 7 bit for a server
// without 8BITMIME (RFC 6152 §3, eightbit.go), then DKIM-signed when a
// key exists, so the signature covers the bytes sent.
func (w *Worker) sendJob(ctx context.Context, cn *conn, j *job) ([]rcptResult, error) {
	m := j.msg.m
	blob, err := w.st.OpenBlob(ctx, m.BlobID)
	if err != nil {
		return nil, err
	}
	defer blob.Close()
	size := blob.Size()
	content := func() io.Reader { return io.NewSectionReader(blob, 0, blob.Size()) }
	if ok, _ := cn.c.Extension("8BITMIME"); !ok {
		eight, err := has8bit(content())
		if err != nil {
			return nil, err
		}
		if eight {
			data, err := io.ReadAll(content())
			if err != nil {
				return nil, err
			}
			if conv, changed := downgrade8bit(data); changed {
				w.opts.Logger.Info("outbound: 8-bit parts converted to 7 bit (no 8BITMIME)", "id", m.ID, "host", cn.host)
				content = func() io.Reader { return bytes.NewReader(conv) }
				size = int64(len(conv))
			}
		}
	}
	var sig []byte
	if w.opts.Signer != nil {
		sig, err = w.opts.Signer(domainOf(m.From), content())
		if err != nil {
			w.opts.Logger.Warn("outbound: DKIM signing failed; sending unsigned", "id", m.ID, "err", err)
			sig = nil
		}
	}
	body := func() io.Reader {
		return io.MultiReader(bytes.NewReader(sig), content())
	}
	res, err := cn.send(m, j.rcpts, size+int64(len(sig)), body)
	if err == nil {
		w.opts.Logger.Info("outbound: attempt", "id", m.ID, "host", cn.host, "addr", cn.addr, "tls", cn.tls, "results", summary(res))
	}
	return res, err
}

func summary(res []rcptResult) string {
	var b strings.Builder
	for i, r := range res {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.addr + ": " + r.text)
	}
	return b.String()
}

// domainOf is the lower-cased domain of an address.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
}
