package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/jmapserver"
	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/msgauth"
	"github.com/letterbox/letterbox/internal/pop3server"
	"github.com/letterbox/letterbox/internal/smtpserver"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/tlsconfig"
	"github.com/letterbox/letterbox/internal/vacation"
	"github.com/letterbox/letterbox/internal/webmail"
)

func init() {
	register(&command{
		name:    "serve",
		usage:   "[--data DIR] [--config FILE] [--pprof ADDR]",
		summary: "run the mail server (SMTP, submission, LMTP, POP3, IMAP, JMAP)",
		run:     serve,
	})
}

// server is what every front end offers: Serve one or more listeners,
// Close them all and wait for the sessions, or Shutdown: drain them
// (finish what is in progress, say goodbye) within the context's time.
type server interface {
	Serve(net.Listener) error
	Close() error
	Shutdown(context.Context) error
}

// drainTimeout bounds a graceful stop (SIGTERM, SIGINT): sessions get
// this long to finish the command or message in progress before they are
// cut. Nothing acknowledged is lost either way.
const drainTimeout = 15 * time.Second

// endpoint is one listener of one server.
type endpoint struct {
	key      string // the [listen] key
	note     string // how TLS works there, for the start-up message
	implicit bool   // wrap the socket in TLS before the protocol starts
	server   server
}

func serve(e *env, args []string) error {
	fs, common := newFlagSet(e, "serve")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (CPU, heap, mutex, block) over HTTP on `ADDR`, e.g. 127.0.0.1:6060")
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
	log, level := newLevelLogger(e.stderr, s.cfg.Log.Level)
	if *pprofAddr != "" {
		stop, err := startPprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	st, err := s.openStore(e.ctx, log.With("component", "store"))
	if err != nil {
		return err
	}
	defer st.Close()

	hostname := s.cfg.Hostname
	if hostname == "" {
		hostname = systemHostname()
	}
	certs, err := tlsconfig.NewReloadable(tlsconfig.Options{
		CertFile: s.cfg.TLS.CertFile, KeyFile: s.cfg.TLS.KeyFile,
		DataDir: s.dataDir, Hostnames: []string{hostname},
	})
	if err != nil {
		return err
	}
	tlsCfg := certs.Config()
	var acmeMgr *tlsconfig.ACME
	if s.cfg.TLS.ACME {
		acmeMgr, err = tlsconfig.NewACME(certs, acmeOptions(s.cfg, s.dataDir, log.With("component", "acme")))
		if err != nil {
			return err
		}
	}
	lv := &live{level: level, tls: certs}
	domains := s.cfg.LocalDomains
	lv.localDomains.Store(&domains)
	failureDelay := s.cfg.Auth.FailureDelay
	if failureDelay == 0 {
		failureDelay = -1 // auth: negative means none; zero would mean its default
	}
	cacheTTL := s.cfg.Auth.LoginCacheTTL
	if cacheTTL == 0 {
		cacheTTL = -1 // auth: negative turns the cache off; zero would mean its default
	}
	// Collected whether or not [listen] metrics serves them: cheap, and
	// one code path.
	mx := metrics.New()
	if c := newStoreCollector(st); c != nil {
		mx.Register(c)
	}
	if q, ok := st.(store.Queue); ok {
		mx.Register(newQueueCollector(q))
	}
	mx.Register(newCertExpiryGauge(certs))
	authSvc := auth.New(st, auth.Options{
		Metrics:          mx,
		Params:           s.passwordParams(e),
		FailureDelay:     failureDelay,
		MaxFailureDelay:  max(s.cfg.Auth.MaxFailureDelay, time.Nanosecond),
		MaxFailuresPerIP: s.cfg.Auth.MaxFailuresPerIP,
		FailureRate:      s.cfg.Auth.FailureRate,
		SprayAccounts:    s.cfg.Auth.SprayAccounts,
		Window:           s.cfg.Auth.FailureWindow,
		KnownLoginFor:    s.cfg.Auth.KnownLoginFor,
		Logger:           log.With("component", "auth"),

		MaxConcurrentHashes: s.cfg.Auth.MaxConcurrentHashes,
		CacheTTL:            cacheTTL,
		CacheSize:           s.cfg.Auth.LoginCacheSize,
		KeepOutdatedHashes:  !s.cfg.Auth.RehashOnLogin,
	})

	queue, wake, stopOutbound, err := startOutbound(e.ctx, s, st, hostname, log.With("component", "outbound"), mx)
	if err != nil {
		return err
	}
	endpoints := buildEndpoints(s.cfg, st, authSvc, tlsCfg, hostname, log, lv, mx, queue, wake)
	if acmeMgr != nil && s.cfg.Listen.ACMEHTTP != "" {
		endpoints = append(endpoints, endpoint{key: "acme_http", note: "ACME HTTP-01 challenges", server: newPlainHTTPServer(acmeMgr.HTTPHandler())})
	}
	bound, err := listen(s.cfg, endpoints, tlsCfg, log)
	if err != nil {
		closeServers(endpoints)
		stopOutbound()
		return err
	}
	printBanner(e, s, bound, certs, acmeMgr)

	stopReload := make(chan struct{})
	defer close(stopReload)
	running := s.cfg
	watchReload(stopReload, func() {
		applied, restart, err := reloadConfig(e, common, &running, lv, hostname, s.dataDir)
		if err != nil {
			log.Error("SIGHUP: reload failed", "err", err)
			return
		}
		log.Info("SIGHUP: reloaded", "applied", strings.Join(applied, " "))
		if len(restart) > 0 {
			log.Warn("SIGHUP: changed keys that take effect only after a restart", "keys", strings.Join(restart, " "))
		}
	})

	errc := make(chan error, len(bound))
	var wg sync.WaitGroup
	for _, b := range bound {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- b.ep.server.Serve(b.ln)
		}()
	}
	// The listeners answer challenges from here on: issue or renew.
	acmeCtx, stopACME := context.WithCancel(context.Background())
	var acmeDone sync.WaitGroup
	if acmeMgr != nil {
		acmeDone.Add(1)
		go func() {
			defer acmeDone.Done()
			acmeMgr.Run(acmeCtx)
		}()
	}
	var failure error
	select {
	case <-e.ctx.Done():
		log.Info("shutting down: draining sessions", "bound", drainTimeout)
		start := time.Now()
		if cut := shutdownServers(endpoints, drainTimeout); cut > 0 {
			log.Warn("drain time over: sessions cut", "servers", cut)
		}
		log.Info("sessions drained", "took", time.Since(start).Round(time.Millisecond))
	case err := <-errc:
		failure = fmt.Errorf("listener stopped: %w", err)
		log.Error("listener stopped; shutting down", "err", err)
	}
	stopACME()
	acmeDone.Wait()
	closeServers(endpoints)
	wg.Wait()
	stopOutbound()
	if err := st.Close(); err != nil && failure == nil {
		failure = fmt.Errorf("closing store: %w", err)
	}
	if failure == nil {
		log.Info("stopped")
	}
	return failure
}

// buildEndpoints makes one server per front end and names the listeners
// each serves. Every listener is listed, enabled or not.
//
// queue (nil: off) takes the remote recipients of submission clients;
// queued wakes the delivery worker.
func buildEndpoints(cfg config.Config, st store.Store, authSvc *auth.Service, tlsCfg *tls.Config, hostname string, log *slog.Logger,
	lv *live, mx *metrics.Metrics, queue store.Queue, queued func()) []endpoint {
	plaintext := plaintextPolicy(cfg.AllowPlaintextAuth)
	// The vacation autoresponder answers mail stored by any front end
	// (RFC 8621 §8, set over JMAP).
	away := &vacation.Responder{Store: st, Queue: queue, Queued: queued, Hostname: hostname,
		Logger: log.With("component", "vacation")}
	smtpOpts := func(mode smtpserver.Mode, a auth.Authenticator, t *tls.Config) smtpserver.Options {
		return smtpserver.Options{
			Mode:           mode,
			Store:          st,
			Auth:           a,
			TLS:            t,
			Hostname:       hostname,
			LocalDomains:   lv.domains, // SIGHUP may change them
			MaxMessageSize: int64(cfg.MaxMessageSize),
			MaxRecipients:  cfg.SMTP.MaxRecipients,
			MaxLineLength:  int(cfg.SMTP.MaxLineLength),
			ReadTimeout:    cfg.SMTP.ReadTimeout,
			WriteTimeout:   cfg.SMTP.WriteTimeout,
			MaxConnsPerIP:  cfg.SMTP.MaxConnectionsPerIP,
			MaxConns:       cfg.SMTP.MaxConnections,
			// RFC 6409 §4.3 / RFC 3207: on submission, AUTH waits for
			// STARTTLS unless the operator allows plaintext everywhere.
			AllowInsecureAuth: cfg.AllowPlaintextAuth == config.PlaintextAlways,
			Logger:            log.With("component", mode.String()),
			Metrics:           mx,
			Delivered: func(ctx context.Context, account, rcpt, envFrom string, head []byte) {
				ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				away.Delivered(ctx, account, rcpt, envFrom, head)
			},
		}
	}
	var eps []endpoint
	if cfg.Listen.SMTP != "" {
		// Inbound MX: STARTTLS offered, no AUTH (relay needs submission).
		opts := smtpOpts(smtpserver.ModeSMTP, nil, tlsCfg)
		if cfg.Inbound.CheckAuthentication {
			opts.AuthCheck = &msgauth.Checker{Hostname: hostname, Resolver: resolverFor(cfg.Outbound.DNSServer)}
			opts.DMARCReject = cfg.Inbound.DMARCReject
		}
		srv := smtpserver.New(opts)
		eps = append(eps, endpoint{key: "smtp", note: "STARTTLS", server: srv})
	}
	if cfg.Listen.Submission != "" || cfg.Listen.Submissions != "" {
		opts := smtpOpts(smtpserver.ModeSubmission, authSvc, tlsCfg)
		opts.Queue, opts.Queued = queue, queued
		srv := smtpserver.New(opts)
		eps = append(eps,
			endpoint{key: "submission", note: "STARTTLS, AUTH PLAIN", server: srv},
			endpoint{key: "submissions", note: "implicit TLS, AUTH PLAIN", implicit: true, server: srv})
	}
	if cfg.Listen.LMTP != "" {
		srv := smtpserver.New(smtpOpts(smtpserver.ModeLMTP, nil, nil))
		eps = append(eps, endpoint{key: "lmtp", server: srv})
	}
	if cfg.Listen.POP3 != "" || cfg.Listen.POP3S != "" {
		srv := pop3server.New(pop3server.Options{
			Store:              st,
			Auth:               authSvc,
			TLS:                tlsCfg,
			Hostname:           hostname,
			AllowPlaintextAuth: plaintext,
			IdleTimeout:        cfg.POP3.IdleTimeout,
			MaxLineLength:      int(cfg.POP3.MaxLineLength),
			MaxConnsPerIP:      cfg.POP3.MaxConnectionsPerIP,
			MaxConns:           cfg.POP3.MaxConnections,
			Logger:             log.With("component", "pop3"),
			Metrics:            mx,
		})
		eps = append(eps,
			endpoint{key: "pop3", note: "STLS", server: srv},
			endpoint{key: "pop3s", note: "implicit TLS", implicit: true, server: srv})
	}
	if cfg.Listen.IMAP != "" || cfg.Listen.IMAPS != "" {
		srv := imapserver.New(imapserver.Options{
			Store:              st,
			Auth:               authSvc,
			TLS:                tlsCfg,
			Hostname:           hostname,
			AllowPlaintextAuth: plaintext,
			MaxMessageSize:     int64(cfg.MaxMessageSize),
			Limits: imapserver.Limits{
				MaxLineLength:   int(cfg.IMAP.MaxLineLength),
				MaxLiteralSize:  int64(cfg.IMAP.MaxLiteralSize),
				LiteralMinus:    cfg.IMAP.LiteralMinus,
				MaxConnsPerIP:   cfg.IMAP.MaxConnectionsPerIP,
				MaxConns:        cfg.IMAP.MaxConnections,
				MaxConnsPerUser: cfg.IMAP.MaxConnectionsPerUser,
				IdleTimeout:     cfg.IMAP.IdleTimeout,
				CommandTimeout:  cfg.IMAP.CommandTimeout,
			},
			Metadata: imapserver.MetadataOptions{
				MaxValueSize:  int64(cfg.IMAP.MetadataMaxValueSize),
				MaxEntries:    cfg.IMAP.MetadataMaxEntries,
				MaxTotalSize:  int64(cfg.IMAP.MetadataMaxTotalSize),
				ServerAdmin:   cfg.IMAP.MetadataServerAdmin,
				ServerComment: cfg.IMAP.MetadataServerComment,
			},
			Logger:  log.With("component", "imap"),
			Metrics: mx,
		})
		eps = append(eps,
			endpoint{key: "imap", note: "STARTTLS", server: srv},
			endpoint{key: "imaps", note: "implicit TLS", implicit: true, server: srv})
	}
	if cfg.Listen.JMAP != "" {
		// HTTPS and plain HTTP on one port: the server tells them apart by
		// the first octet and handles TLS itself.
		srv := jmapserver.New(jmapserver.Options{
			Store:              st,
			Auth:               authSvc,
			TLS:                tlsCfg,
			AllowPlaintextAuth: plaintext,
			MaxMessageSize:     int64(cfg.MaxMessageSize),
			Logger:             log.With("component", "jmap"),
			Queue:              queue,
			Queued:             queued,
			LocalDomains:       lv.domains,
			Metrics:            mx,
			Web:                webmail.Handler(),
			// Local recipients of an EmailSubmission get the same
			// autoresponder as those of SMTP and LMTP.
			Delivered: func(ctx context.Context, account, rcpt, envFrom string, head []byte) {
				ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				away.Delivered(ctx, account, rcpt, envFrom, head)
			},
		})
		eps = append(eps, endpoint{key: "jmap", note: "HTTPS (and HTTP), /.well-known/jmap, web mail at /", server: srv})
	}
	if cfg.Listen.Metrics != "" {
		eps = append(eps, endpoint{key: "metrics", note: "GET /metrics, plain HTTP", server: newMetricsServer(mx)})
	}
	return eps
}

// plaintextPolicy turns allow_plaintext_auth into the front ends'
// AllowPlaintextAuth callback (RFC 2595 §2.2, RFC 8314 §3: passwords only
// under TLS, except where the operator says otherwise).
func plaintextPolicy(mode string) func(remote netip.Addr, tlsActive bool) bool {
	switch mode {
	case config.PlaintextAlways:
		return func(netip.Addr, bool) bool { return true }
	case config.PlaintextNever:
		return func(_ netip.Addr, tlsActive bool) bool { return tlsActive }
	default:
		return func(remote netip.Addr, tlsActive bool) bool {
			return tlsActive || remote.Unmap().IsLoopback()
		}
	}
}

// boundListener is an endpoint with its open socket.
type boundListener struct {
	ep   endpoint
	addr string
	ln   net.Listener
}

// listen opens every enabled endpoint's socket, or none: on any failure
// the ones already open are closed and the error names the config key.
func listen(cfg config.Config, eps []endpoint, tlsCfg *tls.Config, log *slog.Logger) ([]boundListener, error) {
	addrs := map[string]string{}
	for _, l := range cfg.Listeners() {
		addrs[l.Name] = l.Addr
	}
	for _, l := range cfg.Listeners() {
		if l.Addr != "" && !slices.ContainsFunc(eps, func(ep endpoint) bool { return ep.key == l.Name }) {
			log.Warn("this build has no server for listen."+l.Name+"; not listening", "addr", l.Addr)
		}
	}
	var bound []boundListener
	for _, ep := range eps {
		addr := addrs[ep.key]
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, b := range bound {
				b.ln.Close()
			}
			return nil, fmt.Errorf("listen.%s: %w", ep.key, err)
		}
		if ep.implicit {
			ln = tls.NewListener(ln, tlsCfg)
		}
		bound = append(bound, boundListener{ep: ep, addr: ln.Addr().String(), ln: ln})
	}
	if len(bound) == 0 {
		return nil, errors.New("no listeners: every [listen] address is empty")
	}
	return bound, nil
}

// closeServers closes each distinct server once, all at the same time.
func closeServers(eps []endpoint) {
	seen := map[server]bool{}
	var wg sync.WaitGroup
	for _, ep := range eps {
		if seen[ep.server] {
			continue
		}
		seen[ep.server] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			ep.server.Close()
		}()
	}
	wg.Wait()
}

// shutdownServers drains each distinct server at the same time, each
// within timeout, and returns how many had sessions cut at the end.
func shutdownServers(eps []endpoint, timeout time.Duration) (cut int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	seen := map[server]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ep := range eps {
		if seen[ep.server] {
			continue
		}
		seen[ep.server] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ep.server.Shutdown(ctx) != nil {
				mu.Lock()
				cut++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return cut
}

func printBanner(e *env, s *setup, bound []boundListener, certs *tlsconfig.Reloadable, acmeMgr *tlsconfig.ACME) {
	w := e.stdout
	fmt.Fprintf(w, "letterbox %s: data in %s", versionString(), s.dataDir)
	if s.configPath != "" {
		fmt.Fprintf(w, ", config %s", s.configPath)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "store: %s\n", s.storeDescription())
	for _, b := range bound {
		note := ""
		if b.ep.note != "" {
			note = " (" + b.ep.note + ")"
		}
		fmt.Fprintf(w, "listening: %-12s %s%s\n", b.ep.key, b.addr, note)
	}
	if acmeMgr != nil {
		printACMEBanner(w, s.cfg, acmeMgr)
	} else if leaf := certs.Leaf(); s.cfg.TLS.CertFile == "" && leaf != nil {
		certFile, _ := tlsconfig.SelfSignedPaths(s.dataDir)
		fmt.Fprintf(w, "TLS: self-signed certificate %s for %s\n", certFile, strings.Join(leaf.DNSNames, ", "))
		fmt.Fprintf(w, "TLS: SHA-256 fingerprint %s\n", tlsconfig.Fingerprint(leaf))
	}
	flags := ""
	if s.dataDir != defaultDataDir {
		flags = " --data " + s.dataDir
	}
	if s.configPath != "" && s.configPath != filepath.Join(s.dataDir, configFileName) {
		flags += " --config " + s.configPath
	}
	fmt.Fprintf(w, "add a user with: letterbox user add%s alice@example.com\n", flags)
}

func systemHostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return strings.ToLower(h)
}
