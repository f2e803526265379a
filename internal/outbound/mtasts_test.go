package outbound

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// del removes name's records of type rrtype (all types when 0).
func (d *testDNS) del(name string, rrtype uint16) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = strings.ToLower(dns.Fqdn(name))
	var keep []dns.RR
	for _, rr := range d.rrs[name] {
		if rrtype != 0 && rr.Header().Rrtype != rrtype {
			keep = append(keep, rr)
		}
	}
	if len(keep) == 0 {
		delete(d.rrs, name)
	} else {
		d.rrs[name] = keep
	}
}

// policyServer is the HTTPS server of every mta-sts.DOMAIN in a test, on
// 127.0.1.1, with a certificate from the test CA for the name asked
// (SNI), or the answer a test sets for that host.
type policyServer struct {
	port    int
	mu      sync.Mutex
	answers map[string]policyAnswer // by host
	fetches map[string]int
}

type policyAnswer struct {
	status      int
	contentType string
	body        string
	location    string // a redirect
	badCert     bool   // a self-signed certificate instead of the CA's
}

func newPolicyServer(t *testing.T, ca *testCA) *policyServer {
	t.Helper()
	ps := &policyServer{answers: map[string]policyAnswer{}, fetches: map[string]int{}}
	self, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		ps.mu.Lock()
		a, ok := ps.answers[host]
		ps.fetches[host]++
		ps.mu.Unlock()
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		if a.location != "" {
			http.Redirect(w, r, a.location, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	l, err := net.Listen("tcp", "127.0.1.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.TLS = &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		ps.mu.Lock()
		bad := ps.answers[hello.ServerName].badCert
		ps.mu.Unlock()
		if bad {
			return &self.Server.Certificates[0], nil
		}
		c := ca.issue(t, time.Time{}, hello.ServerName)
		return &c, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ps.port = l.Addr().(*net.TCPAddr).Port
	return ps
}

func (ps *policyServer) set(domain string, a policyAnswer) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if a.status == 0 {
		a.status = 200
	}
	if a.contentType == "" {
		a.contentType = "text/plain; charset=utf-8"
	}
	ps.answers["mta-sts."+domain] = a
}

func (ps *policyServer) fetched(domain string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.fetches["mta-sts."+domain]
}

// stsEnv is env with a test CA, the policy server and helpers to publish
// a domain's MX and policy.
type stsEnv struct {
	*env
	ca   *testCA
	ps   *policyServer
	port int // the fake MTAs' SMTP port
	// rptDir holds the TLS-RPT records.
	rptDir string
}

func newSTSEnv(t *testing.T) *stsEnv {
	e := newEnv(t)
	ca := newTestCA(t)
	ips := []string{"127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5", "127.0.1.6", "127.0.1.7", "127.0.1.8", "127.0.1.9", "127.0.1.10", "127.0.1.11"}
	return &stsEnv{env: e, ca: ca, ps: newPolicyServer(t, ca), port: freeLoopbackPort(t, ips...), rptDir: t.TempDir()}
}

// publish gives domain the policy text (and its TXT record with id);
// an empty id publishes no TXT record.
func (s *stsEnv) publish(t *testing.T, domain, id, policy string) {
	t.Helper()
	s.dns.del("_mta-sts."+domain, 0)
	s.dns.del("mta-sts."+domain, 0)
	s.dns.add(t, "mta-sts."+domain+". 60 IN A 127.0.1.1")
	if id != "" {
		s.dns.add(t, `_mta-sts.`+domain+`. 60 IN TXT "v=STSv1; id=`+id+`;"`)
	}
	s.ps.set(domain, policyAnswer{body: policy})
}

// mx makes host the MX of domain at ip.
func (s *stsEnv) mx(t *testing.T, domain string, pref int, host, ip string) {
	t.Helper()
	s.dns.add(t, domain+". 60 IN MX "+strconv.Itoa(pref)+" "+host+".", host+". 60 IN A "+ip)
}

// opts are worker options for the test's MTAs, CA and policy server.
func (s *stsEnv) opts(t *testing.T) Options {
	return Options{Port: s.port, STSPort: s.ps.port, RootCAs: s.ca.pool, RetryFirst: time.Hour,
		STSCacheDir: filepath.Join(t.TempDir(), "mta-sts"), TLSRPTDir: s.rptDir}
}

// waitAttempted waits until every message was delivered or tried once.
func (s *stsEnv) waitAttempted(t *testing.T, ids ...int64) {
	t.Helper()
	eventually(t, "every message to be tried", func() bool {
		for _, id := range ids {
			if m, ok := s.queued(t, id); ok && m.Recipients[0].Attempts == 0 {
				return false
			}
		}
		return true
	})
}

func enforcePolicy(mx ...string) string {
	p := "version: STSv1\r\nmode: enforce\r\n"
	for _, m := range mx {
		p += "mx: " + m + "\r\n"
	}
	return p + "max_age: 86400\r\n"
}

// Under mode enforce a message goes only to an MX host the policy names,
// over STARTTLS with a certificate that chains to a trusted root and
// names the host; anything else defers (4.7.5, retried), never bounces
// and never falls back to plain text (RFC 8461 §4, §5).
func TestMTASTSEnforce(t *testing.T) {
	s := newSTSEnv(t)
	self, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	type tcase struct {
		domain  string
		mta     *fakeMTA
		deliver bool
		errText string
	}
	good := func(host string) *tls.Config { return serverConfig(s.ca.issue(t, time.Time{}, host)) }
	cases := []*tcase{
		{domain: "notls.test", mta: startMTAServer(t, "127.0.1.2", s.port, nil, "", nil), errText: "STARTTLS not offered"},
		{domain: "wrongname.test", mta: startMTAServer(t, "127.0.1.3", s.port, good("other.test"), "", nil), errText: "certificate is valid for other.test"},
		{domain: "untrusted.test", mta: startMTAServer(t, "127.0.1.4", s.port, serverConfig(newTestCA(t).issue(t, time.Time{}, "mx.untrusted.test")), "", nil), errText: "unknown authority"},
		{domain: "selfsigned.test", mta: startMTAServer(t, "127.0.1.10", s.port, self.Server, "", nil), errText: "certificate"},
		{domain: "expired.test", mta: startMTAServer(t, "127.0.1.8", s.port, serverConfig(s.ca.issue(t, time.Now().Add(-time.Hour), "mx.expired.test")), "", nil), errText: "expired"},
		{domain: "good.test", mta: startMTAServer(t, "127.0.1.5", s.port, good("mx.good.test"), "", nil), deliver: true},
		{domain: "wild.test", mta: startMTAServer(t, "127.0.1.6", s.port, good("*.wild.test"), "", nil), deliver: true},
		{domain: "elsewhere.test", mta: startMTAServer(t, "127.0.1.7", s.port, good("mx.elsewhere.test"), "", nil), errText: "no MX host of elsewhere.test matches"},
	}
	for i, c := range cases {
		s.mx(t, c.domain, 10, "mx."+c.domain, c.mta.addr[:strings.LastIndexByte(c.mta.addr, ':')])
		pol := enforcePolicy("mx." + c.domain)
		switch c.domain {
		case "wild.test":
			pol = enforcePolicy("*.wild.test")
		case "elsewhere.test":
			pol = enforcePolicy("mx.other.test", "*.mx.elsewhere.test")
		}
		s.publish(t, c.domain, "id"+strconv.Itoa(i), pol)
	}
	// Two MX hosts, the preferred one not in the policy (and without
	// TLS): only the second may be used.
	plain := startMTAServer(t, "127.0.1.9", s.port, nil, "", nil)
	s.mx(t, "mixed.test", 10, "plain.mixed.test", "127.0.1.9")
	s.dns.add(t, "mixed.test. 60 IN MX 20 mx.good.test.") // good.test's MTA
	s.publish(t, "mixed.test", "m1", enforcePolicy("mx.good.test"))

	ids := map[string]int64{}
	for _, c := range cases {
		ids[c.domain] = s.enqueue(t, testBody, "bob@"+c.domain).ID
	}
	mixedID := s.enqueue(t, testBody, "bob@mixed.test").ID
	s.start(t, s.opts(t))
	var all []int64
	for _, id := range ids {
		all = append(all, id)
	}
	s.waitAttempted(t, append(all, mixedID)...)
	for _, c := range cases {
		m, queued := s.queued(t, ids[c.domain])
		got := c.mta.messages()
		if c.deliver {
			n := 0
			for _, r := range got {
				if r.rcpts[0] == "bob@"+c.domain {
					n++
					if !r.tls {
						t.Errorf("%s: delivered without TLS", c.domain)
					}
				}
			}
			if queued || n != 1 {
				t.Errorf("%s: queued %v, %d deliveries, want delivered once", c.domain, queued, n)
			}
			continue
		}
		if len(got) != 0 {
			t.Errorf("%s: delivered %d messages despite the policy", c.domain, len(got))
		}
		if !queued {
			t.Errorf("%s: left the queue, want deferred", c.domain)
			continue
		}
		r := m.Recipients[0]
		if r.State != store.OutboundPending || r.Attempts != 1 || !strings.Contains(r.LastError, c.errText) {
			t.Errorf("%s: state %v attempts %d error %q, want pending after 1 attempt with %q", c.domain, r.State, r.Attempts, r.LastError, c.errText)
		}
	}
	if _, queued := s.queued(t, mixedID); queued || len(plain.messages()) != 0 {
		t.Errorf("mixed.test: queued %v, the MX outside the policy got %d", queued, len(plain.messages()))
	}
	if len(s.inbox(t)) != 0 {
		t.Error("a policy failure made a DSN; it must only defer")
	}
	// TLS-RPT (RFC 8460) saw each session with its result type.
	fail := func(rt string) tlsSummary { return tlsSummary{typ: "sts", failures: map[string]int{rt: 1}} }
	checkTLSReport(t, s.rptDir, "notls.test", fail("starttls-not-supported"))
	checkTLSReport(t, s.rptDir, "wrongname.test", fail("certificate-host-mismatch"))
	checkTLSReport(t, s.rptDir, "untrusted.test", fail("certificate-not-trusted"))
	checkTLSReport(t, s.rptDir, "expired.test", fail("certificate-expired"))
	checkTLSReport(t, s.rptDir, "elsewhere.test", fail("validation-failure"))
	checkTLSReport(t, s.rptDir, "good.test", tlsSummary{typ: "sts", success: 1})
	checkTLSReport(t, s.rptDir, "mixed.test", tlsSummary{typ: "sts", success: 1, failures: map[string]int{"validation-failure": 1}})
	rep := checkTLSReport(t, s.rptDir, "wrongname.test", fail("certificate-host-mismatch"))
	if f := rep.Policies[0].FailureDetails[0]; f.MX != "mx.wrongname.test" || f.ReceivingIP != "127.0.1.3" || f.SendingIP == "" {
		t.Errorf("failure details %+v", f)
	}
}

// Mode testing delivers what enforce would refuse (RFC 8461 §5), as does a
// domain without a policy, or with one of mode none.
func TestMTASTSTestingAndNone(t *testing.T) {
	s := newSTSEnv(t)
	cases := map[string]*fakeMTA{
		"testing.test":   startMTAServer(t, "127.0.1.2", s.port, nil, "", nil),
		"testcert.test":  startMTAServer(t, "127.0.1.3", s.port, serverConfig(s.ca.issue(t, time.Time{}, "other.test")), "", nil),
		"nopolicy.test":  startMTAServer(t, "127.0.1.4", s.port, nil, "", nil),
		"modenone.test":  startMTAServer(t, "127.0.1.5", s.port, nil, "", nil),
		"notfound.test":  startMTAServer(t, "127.0.1.6", s.port, nil, "", nil),
		"redirects.test": startMTAServer(t, "127.0.1.7", s.port, nil, "", nil),
	}
	for d, m := range cases {
		s.mx(t, d, 10, "mx."+d, m.addr[:strings.LastIndexByte(m.addr, ':')])
	}
	s.publish(t, "testing.test", "t1", "version: STSv1\nmode: testing\nmx: mx.testing.test\nmax_age: 600\n")
	s.publish(t, "testcert.test", "t2", "version: STSv1\nmode: testing\nmx: mx.testcert.test\nmax_age: 600\n")
	s.publish(t, "modenone.test", "n1", "version: STSv1\nmode: none\nmax_age: 600\n")
	// A TXT record whose policy cannot be fetched: as if there were none
	// (§5.1: nothing cached).
	s.publish(t, "notfound.test", "x1", "")
	s.ps.set("notfound.test", policyAnswer{status: 404, body: "no"})
	s.publish(t, "redirects.test", "r1", "")
	s.ps.set("redirects.test", policyAnswer{location: "https://mta-sts.good.test/.well-known/mta-sts.txt"})
	var ids []int64
	for d := range cases {
		ids = append(ids, s.enqueue(t, testBody, "bob@"+d).ID)
	}
	s.start(t, s.opts(t))
	eventually(t, "the queue to empty", func() bool {
		for _, id := range ids {
			if _, ok := s.queued(t, id); ok {
				return false
			}
		}
		return true
	})
	for d, m := range cases {
		if n := len(m.messages()); n != 1 {
			t.Errorf("%s: %d deliveries, want 1", d, n)
		}
	}
	if !cases["testcert.test"].messages()[0].tls {
		t.Error("testing mode with a wrong-name certificate: not sent over TLS")
	}
	if n := s.ps.fetched("good.test"); n != 0 {
		t.Errorf("a redirect was followed (%d fetches of its target)", n)
	}
	checkTLSReport(t, s.rptDir, "testing.test", tlsSummary{typ: "sts", failures: map[string]int{"starttls-not-supported": 1}})
	checkTLSReport(t, s.rptDir, "testcert.test", tlsSummary{typ: "sts", failures: map[string]int{"certificate-host-mismatch": 1}})
	checkTLSReport(t, s.rptDir, "nopolicy.test", tlsSummary{typ: "no-policy-found", failures: map[string]int{"starttls-not-supported": 1}})
	checkTLSReport(t, s.rptDir, "notfound.test", tlsSummary{typ: "no-policy-found", failures: map[string]int{"sts-policy-fetch-error": 1, "starttls-not-supported": 1}})
}

// A fetched policy is kept on disk for its max_age and applied by a new
// worker even when the TXT record and the policy host are gone (§5.1,
// §10.2: an attacker who strips them gains nothing); a new id in the TXT
// record makes it fetch again (§3.1).
func TestMTASTSCacheAndRefresh(t *testing.T) {
	s := newSTSEnv(t)
	good := startMTAServer(t, "127.0.1.2", s.port, serverConfig(s.ca.issue(t, time.Time{}, "mx.c.test")), "", nil)
	plain := startMTAServer(t, "127.0.1.3", s.port, nil, "", nil)
	s.mx(t, "c.test", 10, "mx.c.test", "127.0.1.2")
	s.publish(t, "c.test", "v1", enforcePolicy("mx.c.test"))
	opts := s.opts(t)
	run := func() func() {
		w, err := New(s.st, withTestDefaults(opts, s.env))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	id := s.enqueue(t, testBody, "bob@c.test").ID
	stop := run()
	eventually(t, "delivery", func() bool { _, ok := s.queued(t, id); return !ok })
	stop()
	if len(good.messages()) != 1 {
		t.Fatalf("%d deliveries to the good MX", len(good.messages()))
	}
	data, err := os.ReadFile(filepath.Join(opts.STSCacheDir, "c.test.json"))
	if err != nil || !strings.Contains(string(data), `"mode":"enforce"`) {
		t.Fatalf("cache file: %v %s", err, data)
	}

	// The attack: no TXT record, no policy host, the MX points to a
	// plain-text server. A new worker (a restart) still enforces.
	s.dns.del("_mta-sts.c.test", 0)
	s.ps.set("c.test", policyAnswer{status: 404})
	s.dns.del("mx.c.test", dns.TypeA)
	s.dns.add(t, "mx.c.test. 60 IN A 127.0.1.3")
	id = s.enqueue(t, testBody, "bob@c.test").ID
	stop = run()
	s.waitAttempted(t, id)
	stop()
	if m, ok := s.queued(t, id); !ok || !strings.Contains(m.Recipients[0].LastError, "STARTTLS not offered") || len(plain.messages()) != 0 {
		t.Fatalf("with the cached policy: queued %v %+v, plain MX got %d", ok, m.Recipients, len(plain.messages()))
	}
	fetches := s.ps.fetched("c.test")

	// The same id again: the cache is used, no fetch.
	s.dns.add(t, `_mta-sts.c.test. 60 IN TXT "v=STSv1; id=v1"`)
	s.q.RetryQueued(context.Background(), id, time.Now())
	stop = run()
	eventually(t, "a second attempt", func() bool { m, ok := s.queued(t, id); return ok && m.Recipients[0].Attempts == 2 })
	stop()
	if n := s.ps.fetched("c.test"); n != fetches {
		t.Errorf("policy fetched %d more times with an unchanged id", n-fetches)
	}

	// A new id: fetched again; the new policy (testing) lets it through.
	s.publish(t, "c.test", "v2", "version: STSv1\nmode: testing\nmx: mx.c.test\nmax_age: 600\n")
	s.q.RetryQueued(context.Background(), id, time.Now())
	stop = run()
	eventually(t, "delivery under the new policy", func() bool { _, ok := s.queued(t, id); return !ok })
	stop()
	if len(plain.messages()) != 1 {
		t.Errorf("plain MX got %d after the policy changed to testing", len(plain.messages()))
	}
}

// withTestDefaults fills in what env.start would.
func withTestDefaults(o Options, e *env) Options {
	o.DNSServer = e.dns.addr
	o.Hostname = "mail.example.com"
	o.ConnectTimeout, o.CommandTimeout = 2*time.Second, 5*time.Second
	return o
}

// The fetch itself (§3.3): 200 only, text/plain, at most 64 KB, a
// certificate valid for mta-sts.DOMAIN, no redirects; each failure has
// its TLS-RPT result type.
func TestMTASTSFetch(t *testing.T) {
	s := newSTSEnv(t)
	w, err := New(s.st, withTestDefaults(s.opts(t), s.env))
	if err != nil {
		t.Fatal(err)
	}
	okPolicy := "version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 60\n"
	cases := []struct {
		domain string
		a      policyAnswer
		want   string // result type, "" for success
	}{
		{"ok.test", policyAnswer{body: okPolicy}, ""},
		{"status.test", policyAnswer{status: 500, body: okPolicy}, "sts-policy-fetch-error"},
		{"redirect.test", policyAnswer{location: "https://mta-sts.ok.test/.well-known/mta-sts.txt"}, "sts-policy-fetch-error"},
		{"html.test", policyAnswer{contentType: "text/html", body: okPolicy}, "sts-policy-invalid"},
		{"big.test", policyAnswer{body: okPolicy + strings.Repeat("x: y\n", 14000)}, "sts-policy-invalid"},
		{"syntax.test", policyAnswer{body: "version: STSv1\nmode: enforce\nmax_age: 60\n"}, "sts-policy-invalid"},
		{"cert.test", policyAnswer{body: okPolicy, badCert: true}, "sts-webpki-invalid"},
	}
	for _, c := range cases {
		s.publish(t, c.domain, "", "")
		s.ps.set(c.domain, c.a)
	}
	for _, c := range cases {
		p, ferr := w.fetchSTS(context.Background(), c.domain)
		switch {
		case c.want == "" && ferr != nil:
			t.Errorf("%s: %v", c.domain, ferr.err)
		case c.want == "" && (p.Mode != stsEnforce || p.MaxAge != 60 || len(p.MX) != 1):
			t.Errorf("%s: policy %+v", c.domain, p)
		case c.want != "" && (ferr == nil || ferr.resultType != c.want):
			t.Errorf("%s: got %+v, want %s", c.domain, ferr, c.want)
		}
	}
	if _, ferr := w.fetchSTS(context.Background(), "nohost.test"); ferr == nil || ferr.resultType != "sts-policy-fetch-error" {
		t.Errorf("no policy host: %+v", ferr)
	}
}

func TestParseSTS(t *testing.T) {
	records := []struct {
		txts []string
		id   string // "" for an error
	}{
		{[]string{"v=STSv1; id=20160831085700Z;"}, "20160831085700Z"},
		{[]string{"v=STSv1;id=abc"}, "abc"},
		{[]string{"v=spf1 -all", "v=STSv1; id=a1; ext=val"}, "a1"},
		{[]string{"v=STSv1; id=a1", "v=STSv1; id=a2"}, ""},
		{[]string{"v=STSv1;"}, ""},
		{[]string{"v=STSv1; id=has-dash"}, ""},
		{[]string{"v=STSv1; id=" + strings.Repeat("a", 33)}, ""},
		{[]string{"v=STSv10; id=a"}, ""},
		{nil, ""},
	}
	for _, r := range records {
		id, err := parseSTSRecord(r.txts)
		if id != r.id || (r.id == "") != (err != nil) {
			t.Errorf("%q: id %q err %v, want %q", r.txts, id, err, r.id)
		}
	}
	p, err := parseSTSPolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\nfuture: x\r\n"))
	if err != nil || p.Mode != stsEnforce || p.MaxAge != 604800 || len(p.MX) != 3 {
		t.Fatalf("RFC 8461 §3.2 example: %+v %v", p, err)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.Example.com.": true, "foo.example.net": true,
		"example.net": false, "a.b.example.net": false, "xmail.example.com": false, "backupmx.example.com": true,
	} {
		if p.matches(host) != want {
			t.Errorf("matches(%q) = %v", host, !want)
		}
	}
	if p, err := parseSTSPolicy([]byte("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 99999999999\n")); err == nil {
		t.Errorf("11-digit max_age accepted: %+v", p)
	}
	if p, _ := parseSTSPolicy([]byte("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 99999999\n")); p.MaxAge != stsMaxAge {
		t.Errorf("max_age not capped at one year: %d", p.MaxAge)
	}
	for _, bad := range []string{
		"mode: enforce\nmx: a.test\nmax_age: 60\n",                    // no version
		"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 60\n",     // bad mode
		"version: STSv1\nmode: enforce\nmx: a.test\n",                 // no max_age
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",    // negative
		"version: STSv1\nmode: enforce\nmax_age: 60\n",                // no mx
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 60\nxyz", // not key: value
	} {
		if _, err := parseSTSPolicy([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := parseSTSPolicy([]byte("version: STSv1\nmode: none\nmax_age: 60\n")); err != nil {
		t.Errorf("mode none without mx: %v", err)
	}
}
