package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/outbound"
	"github.com/letterbox/letterbox/internal/store"
)

func init() {
	register(&command{
		name:    "queue",
		summary: "show and manage the outbound queue",
		subs: []*command{
			{name: "list", summary: "list queued messages", run: queueList},
			{name: "show", usage: "ID", summary: "show one message's envelope, recipients and headers", run: queueShow},
			{name: "retry", usage: "ID|all", summary: "make pending recipients due now", run: queueRetry},
			{name: "drop", usage: "ID", summary: "remove a message from the queue without delivering it", run: queueDrop},
			{name: "tls-report", usage: "DOMAIN [--date YYYY-MM-DD]", summary: "print the TLS-RPT (RFC 8460) report of a day's sessions to DOMAIN", run: queueTLSReport},
		},
	})
	register(&command{
		name:    "dkim",
		summary: "DKIM signing keys for mail leaving from our domains",
		subs: []*command{
			{name: "generate", usage: "DOMAIN [--replace]", summary: "make Ed25519 and RSA-2048 keys and print the DNS records", run: dkimGenerate},
			{name: "records", summary: "print the DNS records of every key", run: dkimRecords},
		},
	})
}

// tlsRPTDir is where outbound TLS results are recorded (RFC 8460).
func tlsRPTDir(s *setup) string { return filepath.Join(s.dataDir, "tls-rpt") }

// queueTLSReport prints the RFC 8460 §4.4 JSON report of one UTC day's
// sessions to a domain (today by default), or with --send queues it as
// mail (§5.3) from the --from account to the domain's rua addresses.
func queueTLSReport(e *env, args []string) error {
	fs, common := newFlagSet(e, "queue tls-report")
	date := fs.String("date", "today", "the UTC day: YYYY-MM-DD, today or yesterday")
	send := fs.Bool("send", false, "mail the report to the domain's TLS-RPT (rua) addresses through the queue")
	from := fs.String("from", "", "with --send: the sending account (its domain's DKIM keys sign the report)")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want a domain")
	}
	day := time.Now().UTC()
	switch *date {
	case "today":
	case "yesterday":
		day = day.AddDate(0, 0, -1)
	default:
		if day, err = time.Parse(time.DateOnly, *date); err != nil {
			return usagef("--date %q: want YYYY-MM-DD, today or yesterday", *date)
		}
	}
	if *send && *from == "" {
		return usagef("--send needs --from ACCOUNT")
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	host := s.cfg.Hostname
	if host == "" {
		host = systemHostname()
	}
	domain := strings.ToLower(strings.TrimSuffix(pos[0], "."))
	rep, err := outbound.BuildTLSReport(tlsRPTDir(s), domain, day, host, "mailto:postmaster@"+host)
	if err != nil {
		return err
	}
	if !*send {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(out))
		return nil
	}
	if len(rep.Policies) == 0 {
		fmt.Fprintf(e.stdout, "no sessions to %s on %s: nothing to send\n", domain, day.Format(time.DateOnly))
		return nil
	}
	to, err := outbound.TLSRPTAddresses(e.ctx, resolverFor(s.cfg.Outbound.DNSServer), domain)
	if err != nil {
		return err
	}
	msg, err := outbound.TLSReportMessage(rep, domain, *from, to, time.Now())
	if err != nil {
		return err
	}
	st, err := s.openStore(e.ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	q, ok := st.(store.Queue)
	if !ok {
		return errors.New("this store keeps no outbound queue")
	}
	m, err := q.Enqueue(e.ctx, bytes.NewReader(msg), *from, *from, to)
	if err != nil {
		return fmt.Errorf("queueing the report: %w", err)
	}
	fmt.Fprintf(e.stdout, "report queued as %d for %s; a running server sends it within a minute\n", m.ID, strings.Join(to, ", "))
	return nil
}

// dkimDir is where the DKIM keys live.
func dkimDir(s *setup) string { return filepath.Join(s.dataDir, "dkim") }

// startOutbound starts the delivery worker when [outbound] enabled and the
// store keeps a queue. It returns the queue for the submission server (nil
// when off), the worker's wake-up, and a stop that waits for it.
func startOutbound(ctx context.Context, s *setup, st store.Store, hostname string, log *slog.Logger, mx *metrics.Metrics) (store.Queue, func(), func(), error) {
	o := s.cfg.Outbound
	q, ok := st.(store.Queue)
	if !o.Enabled || !ok {
		return nil, nil, func() {}, nil
	}
	keys, err := outbound.LoadDKIM(dkimDir(s))
	if err != nil {
		return nil, nil, nil, err
	}
	opts := outbound.Options{
		Hostname: hostname, MaxAge: o.MaxAge, DelayNotice: o.DelayNotice,
		RetryFirst: o.RetryFirst, RetryMax: o.RetryMax,
		PerDomain: o.PerDomain, MaxConnections: o.MaxConnections,
		Port: o.Port, DNSServer: o.DNSServer, Lease: o.Lease,
		Relay: outbound.Relay{Host: s.cfg.Relay.Host, Port: s.cfg.Relay.Port, TLS: s.cfg.Relay.TLS,
			Username: s.cfg.Relay.Username, Password: s.cfg.Relay.Password},
		Signer:        outbound.DKIMSigner(keys),
		Logger:        log,
		Metrics:       mx,
		DisableMTASTS: !o.MTASTS, DANE: o.DANE, TLSRPTDir: tlsRPTDir(s), STSCacheDir: filepath.Join(s.dataDir, "mta-sts"),
	}
	if o.DelayNotice == 0 {
		opts.DelayNotice = -1 // "0s" in the file turns notices off
	}
	if o.SourceAddress != "" {
		opts.LocalAddr = net.ParseIP(o.SourceAddress)
	}
	opts.STSPort = o.MTASTSPort
	if o.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("outbound.ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, nil, fmt.Errorf("outbound.ca_file: no certificate in %s", o.CAFile)
		}
		opts.RootCAs = pool
	}
	w, err := outbound.New(st, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	for d, ks := range keys {
		for _, k := range ks {
			log.Info("DKIM key", "domain", d, "selector", k.Selector, "algorithm", k.Algorithm())
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(wctx)
	}()
	return q, w.Wake, func() { cancel(); wg.Wait() }, nil
}

// withQueue opens the store and its queue for a queue verb.
func withQueue(e *env, verb string, args []string, want int, f func(st store.Store, q store.Queue, pos []string) error) error {
	return withUserStore(e, verb, args, want, func(_ *setup, st store.Store, pos []string) error {
		q, ok := st.(store.Queue)
		if !ok {
			return errors.New("this store keeps no outbound queue")
		}
		return f(st, q, pos)
	})
}

func queueList(e *env, args []string) error {
	return withQueue(e, "list", args, 0, func(_ store.Store, q store.Queue, _ []string) error {
		msgs, err := q.QueuedMessages(e.ctx)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			fmt.Fprintln(e.stdout, "queue is empty")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tQUEUED\tSIZE\tFROM\tRECIPIENT\tSTATE\tATTEMPTS\tNEXT\tLAST ERROR")
		for _, m := range msgs {
			for i, r := range m.Recipients {
				id, queued, size, from := "", "", "", ""
				if i == 0 {
					id, queued, size, from = strconv.FormatInt(m.ID, 10), m.Queued.UTC().Format(time.DateTime), strconv.FormatInt(m.Size, 10), "<"+m.From+">"
				}
				next := ""
				if r.State == store.OutboundPending {
					next = r.NextAttempt.UTC().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", id, queued, size, from, r.Address, r.State, r.Attempts, next, short(r.LastError, 60))
			}
		}
		return tw.Flush()
	})
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

func parseQueueID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%q is not a queue ID", s)
	}
	return id, nil
}

func queueShow(e *env, args []string) error {
	return withQueue(e, "show", args, 1, func(st store.Store, q store.Queue, pos []string) error {
		id, err := parseQueueID(pos[0])
		if err != nil {
			return err
		}
		m, err := q.QueuedMessage(e.ctx, id)
		if err != nil {
			return queueErr(id, err)
		}
		fmt.Fprintf(e.stdout, "id: %d\naccount: %s\nfrom: <%s>\nqueued: %s\nsize: %d\ndelay notice sent: %t\n",
			m.ID, m.Account, m.From, m.Queued.UTC().Format(time.RFC3339), m.Size, m.DelayNotified)
		if m.Ret != "" || m.EnvID != "" {
			fmt.Fprintf(e.stdout, "dsn: ret=%s envid=%s\n", m.Ret, m.EnvID)
		}
		for _, r := range m.Recipients {
			fmt.Fprintf(e.stdout, "recipient: %s\n  state: %s\n  attempts: %d\n", r.Address, r.State, r.Attempts)
			if r.Notify != "" || r.ORcpt != "" {
				fmt.Fprintf(e.stdout, "  dsn: notify=%s orcpt=%s\n", r.Notify, r.ORcpt)
			}
			if r.State == store.OutboundPending {
				fmt.Fprintf(e.stdout, "  next attempt: %s\n", r.NextAttempt.UTC().Format(time.RFC3339))
			}
			if !r.LastAttempt.IsZero() {
				fmt.Fprintf(e.stdout, "  last attempt: %s via %s (TLS: %t)\n  last reply: %s\n",
					r.LastAttempt.UTC().Format(time.RFC3339), r.RemoteMTA, r.TLS, r.LastError)
			}
		}
		b, err := st.OpenBlob(e.ctx, m.BlobID)
		if err != nil {
			return err
		}
		defer b.Close()
		fmt.Fprintln(e.stdout, "headers:")
		data, _ := io.ReadAll(io.LimitReader(b, 64<<10))
		head, _, _ := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n\n")
		for _, l := range strings.Split(head, "\n") {
			fmt.Fprintln(e.stdout, "  "+l)
		}
		return nil
	})
}

func queueErr(id int64, err error) error {
	if errors.Is(err, store.ErrNoSuchQueued) {
		return fmt.Errorf("no queued message %d", id)
	}
	return err
}

func queueRetry(e *env, args []string) error {
	return withQueue(e, "retry", args, 1, func(_ store.Store, q store.Queue, pos []string) error {
		var ids []int64
		if pos[0] == "all" {
			msgs, err := q.QueuedMessages(e.ctx)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				ids = append(ids, m.ID)
			}
		} else {
			id, err := parseQueueID(pos[0])
			if err != nil {
				return err
			}
			ids = []int64{id}
		}
		for _, id := range ids {
			if err := q.RetryQueued(e.ctx, id, time.Now()); err != nil {
				return queueErr(id, err)
			}
		}
		fmt.Fprintf(e.stdout, "%d message(s) due now; a running server picks them up within a minute\n", len(ids))
		return nil
	})
}

func queueDrop(e *env, args []string) error {
	return withQueue(e, "drop", args, 1, func(_ store.Store, q store.Queue, pos []string) error {
		id, err := parseQueueID(pos[0])
		if err != nil {
			return err
		}
		if err := q.DropQueued(e.ctx, id); err != nil {
			return queueErr(id, err)
		}
		fmt.Fprintf(e.stdout, "message %d dropped (no bounce sent)\n", id)
		return nil
	})
}

func dkimGenerate(e *env, args []string) error {
	fs, common := newFlagSet(e, "dkim generate")
	replace := fs.Bool("replace", false, "replace the domain's existing keys")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want a domain")
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	keys, err := outbound.GenerateDKIM(dkimDir(s), pos[0], time.Now(), *replace)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "keys written to %s; publish these DNS records (then restart the server):\n", filepath.Join(dkimDir(s), keys[0].Domain))
	return printRecords(e, keys)
}

func printRecords(e *env, keys []outbound.DKIMKey) error {
	for _, k := range keys {
		line, err := k.ZoneLines()
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, line)
	}
	return nil
}

func dkimRecords(e *env, args []string) error {
	fs, common := newFlagSet(e, "dkim records")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments expected")
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	all, err := outbound.LoadDKIM(dkimDir(s))
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(e.stdout, "no DKIM keys; make some with `letterbox dkim generate DOMAIN`")
	}
	for _, ks := range all {
		if err := printRecords(e, ks); err != nil {
			return err
		}
	}
	return nil
}

// resolverFor is the system's resolver, or one that asks only server
// (host:port; [outbound] dns_server, for tests).
func resolverFor(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}
