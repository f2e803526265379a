package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// testDNS is an authoritative DNS server on loopback (miekg/dns) serving
// the records a test puts in it; any other name is NXDOMAIN.
type testDNS struct {
	addr string
	mu   sync.Mutex
	rrs  map[string][]dns.RR // by lower-case FQDN
	// validating makes it answer as a DNSSEC-validating resolver: the AD
	// bit set, except for names in insecure; names in servfail get
	// SERVFAIL (a bogus signature).
	validating         bool
	insecure, servfail map[string]bool
}

func newTestDNS(t testing.TB) *testDNS {
	t.Helper()
	d := &testDNS{rrs: map[string][]dns.RR{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

// add adds records in zone-file syntax ("mx.test. 60 IN A 127.0.0.2").
func (d *testDNS) add(t testing.TB, records ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		name := strings.ToLower(rr.Header().Name)
		d.rrs[name] = append(d.rrs[name], rr)
	}
}

func (d *testDNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	d.mu.Lock()
	for _, q := range req.Question {
		name := strings.ToLower(q.Name)
		if d.servfail[name] {
			m.Rcode = dns.RcodeServerFailure
			continue
		}
		m.AuthenticatedData = d.validating && !d.insecure[name]
		rrs, ok := d.rrs[name]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	d.mu.Unlock()
	w.WriteMsg(m)
}

// behaviour says how a fake MTA answers.
type behaviour struct {
	rcpt func(to string) error // nil: accept
	data func() error          // nil: 250
	// hangUpInData closes the connection after reading part of DATA.
	hangUpInData bool
}

// received is one message a fake MTA accepted.
type received struct {
	from  string
	rcpts []string
	data  string
	tls   bool
	conn  string // which connection (the client's address) carried it
	// mailOpts and rcptOpts are the MAIL and RCPT parameters given.
	mailOpts smtp.MailOptions
	rcptOpts []smtp.RcptOptions
}

// fakeMTA is a go-smtp server on one loopback address.
type fakeMTA struct {
	addr string
	mu   sync.Mutex
	b    behaviour
	msgs []received
	// conns counts connections; active and maxActive transactions in
	// progress at once (MAIL to the end of DATA): the server answers
	// after its handler returns, so unlike socket counts this has no
	// overlap a client cannot see.
	conns, active, maxActive int
	// password, when set, is required with AUTH PLAIN (user "relayuser").
	password string
}

func (f *fakeMTA) set(b behaviour) {
	f.mu.Lock()
	f.b = b
	f.mu.Unlock()
}

func (f *fakeMTA) messages() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.msgs...)
}

// tlsMode of a fake MTA.
type tlsMode int

const (
	noTLS     tlsMode = iota
	goodTLS           // STARTTLS offered and working (self-signed)
	brokenTLS         // STARTTLS offered, handshake always fails
)

// startMTA runs a fake MTA on ip:port.
func startMTA(t testing.TB, ip string, port int, mode tlsMode) *fakeMTA {
	t.Helper()
	f, _ := startMTAWith(t, ip, port, mode, "")
	return f
}

// startMTAWith is startMTA requiring AUTH PLAIN with password (when not
// empty) before MAIL; it also returns the server's certificate.
func startMTAWith(t testing.TB, ip string, port int, mode tlsMode, password string) (*fakeMTA, *testcert.Cert) {
	t.Helper()
	var cert *testcert.Cert
	var cfg *tls.Config
	switch mode {
	case goodTLS:
		var err error
		cert, err = testcert.New()
		if err != nil {
			t.Fatal(err)
		}
		cfg = cert.Server
	case brokenTLS:
		// A config that can never finish a handshake with a TLS 1.2+
		// client: no certificate.
		cfg = &tls.Config{MaxVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return nil, errors.New("no certificate for you")
		}}
	}
	return startMTAServer(t, ip, port, cfg, password, nil), cert
}

// startMTAServer runs a fake MTA on ip:port offering STARTTLS with cfg
// (none when nil); tune, when set, adjusts the go-smtp server.
func startMTAServer(t testing.TB, ip string, port int, cfg *tls.Config, password string, tune func(*smtp.Server)) *fakeMTA {
	t.Helper()
	f := &fakeMTA{addr: net.JoinHostPort(ip, strconv.Itoa(port)), password: password}
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mtaSession{f: f, c: c, conn: c.Conn().RemoteAddr().String()}, nil
	}))
	s.Domain = "mx.fake"
	s.AllowInsecureAuth = true
	s.EnableSMTPUTF8 = !noSMTPUTF8[f.addr]
	s.TLSConfig = cfg
	if tune != nil {
		tune(s)
	}
	go s.Serve(&countingListener{Listener: l, f: f})
	t.Cleanup(func() { s.Close() })
	return f
}

// countingListener counts connections.
type countingListener struct {
	net.Listener
	f *fakeMTA
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.f.mu.Lock()
	l.f.conns++
	l.f.mu.Unlock()
	if no8BITMIME[l.f.addr] {
		c = &no8bitConn{Conn: c}
	}
	return &countedConn{Conn: c, f: l.f}, nil
}

// no8BITMIME lists fake MTA addresses whose EHLO reply leaves out
// 8BITMIME (go-smtp's server always offers it).
var no8BITMIME = map[string]bool{}

// no8bitConn removes the 8BITMIME line from what the server writes.
type no8bitConn struct{ net.Conn }

func (c *no8bitConn) Write(p []byte) (int, error) {
	q := bytes.ReplaceAll(p, []byte("250-8BITMIME\r\n"), nil)
	if _, err := c.Conn.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

type countedConn struct {
	net.Conn
	f *fakeMTA
}

type mtaSession struct {
	f        *fakeMTA
	c        *smtp.Conn
	conn     string
	from     string
	rcpts    []string
	mailOpts smtp.MailOptions
	rcptOpts []smtp.RcptOptions
	authed   bool
	inTx     bool
}

func (s *mtaSession) AuthMechanisms() []string {
	if s.f.password == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *mtaSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "relayuser" || password != s.f.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mtaSession) Reset() {
	s.endTx()
	s.from, s.rcpts, s.rcptOpts, s.mailOpts = "", nil, nil, smtp.MailOptions{}
}

// endTx ends the transaction count of this session, once.
func (s *mtaSession) endTx() {
	if s.inTx {
		s.inTx = false
		s.f.mu.Lock()
		s.f.active--
		s.f.mu.Unlock()
	}
}

func (s *mtaSession) Logout() error { return nil }
func (s *mtaSession) Mail(from string, opts *smtp.MailOptions) error {
	if opts != nil {
		s.mailOpts = *opts
	}
	if s.f.password != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	if !s.inTx {
		s.inTx = true
		s.f.mu.Lock()
		s.f.active++
		s.f.maxActive = max(s.f.maxActive, s.f.active)
		s.f.mu.Unlock()
	}
	s.from = from
	return nil
}
func (s *mtaSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.f.mu.Lock()
	fn := s.f.b.rcpt
	s.f.mu.Unlock()
	if fn != nil {
		if err := fn(to); err != nil {
			return err
		}
	}
	s.rcpts = append(s.rcpts, to)
	var o smtp.RcptOptions
	if opts != nil {
		o = *opts
	}
	s.rcptOpts = append(s.rcptOpts, o)
	return nil
}
func (s *mtaSession) Data(r io.Reader) error {
	defer s.endTx() // before go-smtp writes the reply
	s.f.mu.Lock()
	b := s.f.b
	s.f.mu.Unlock()
	if b.hangUpInData {
		io.ReadFull(r, make([]byte, 10))
		s.c.Conn().Close()
		return errors.New("hung up")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if b.data != nil {
		if err := b.data(); err != nil {
			return err
		}
	}
	_, isTLS := s.c.TLSConnectionState()
	s.f.mu.Lock()
	s.f.msgs = append(s.f.msgs, received{from: s.from, rcpts: s.rcpts, data: string(data), tls: isTLS, conn: s.conn,
		mailOpts: s.mailOpts, rcptOpts: s.rcptOpts})
	s.f.mu.Unlock()
	return nil
}

// noSMTPUTF8 lists fake MTA addresses started without SMTPUTF8.
var noSMTPUTF8 = map[string]bool{}

// freeLoopbackPort finds a port free on the given loopback addresses.
func freeLoopbackPort(t testing.TB, ips ...string) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		var ls []net.Listener
		for _, ip := range ips[1:] {
			l2, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l2)
		}
		l.Close()
		for _, l2 := range ls {
			l2.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no common free port")
	return 0
}

// env is a store with alice@example.com, a test DNS and a worker.
type env struct {
	st  store.Store
	q   store.Queue
	dns *testDNS
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateAccount(context.Background(), "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	return &env{st: st, q: st, dns: newTestDNS(t)}
}

// start runs a worker until the test ends.
func (e *env) start(t *testing.T, opts Options) *Worker {
	t.Helper()
	opts.DNSServer = e.dns.addr
	if opts.Hostname == "" {
		opts.Hostname = "mail.example.com"
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 5 * time.Second
	}
	w, err := New(e.st, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (e *env) enqueue(t *testing.T, body string, rcpts ...string) store.OutboundMessage {
	t.Helper()
	m, err := e.q.Enqueue(context.Background(), strings.NewReader(body), "alice@example.com", "alice@example.com", rcpts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queued returns the message, or false once it left the queue.
func (e *env) queued(t *testing.T, id int64) (store.OutboundMessage, bool) {
	t.Helper()
	m, err := e.q.QueuedMessage(context.Background(), id)
	if errors.Is(err, store.ErrNoSuchQueued) {
		return m, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return m, true
}

// inbox returns alice's INBOX messages' bodies.
func (e *env) inbox(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	mbs, err := e.st.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := e.st.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(b)
		b.Close()
		out = append(out, string(data))
	}
	return out
}
