package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
	"github.com/letterbox/letterbox/internal/tlsconfig"
)

// pebbleCA is Let's Encrypt's test CA, Pebble, run in-process: the ACME
// directory over HTTPS on loopback, its VA validating HTTP-01 on httpPort
// and TLS-ALPN-01 on tlsPort of 127.0.0.1, with names resolved by a test
// DNS server where mail.test is 127.0.0.1 and every other name is
// NXDOMAIN.
type pebbleCA struct {
	dirURL string
	caFile string         // the directory's HTTPS certificate (acme_directory_ca)
	roots  *x509.CertPool // Pebble's issuing root
	orders atomic.Int32   // new-order requests (RFC 8555 §7.4)
}

func startPebble(t *testing.T, httpPort, tlsPort int, validitySeconds uint64) *pebbleCA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once, not after 0-15 s
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no random badNonce
	t.Setenv("PEBBLE_AUTHZREUSE", "0")      // every order validates again
	var logBuf syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble log:\n%s", logBuf.String())
		}
	})
	logger := log.New(&logBuf, "pebble ", log.Lmicroseconds)
	dnsAddr := startTestDNS(t)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "test", ValidityPeriod: validitySeconds},
	})
	validator := va.New(logger, httpPort, tlsPort, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	p := &pebbleCA{roots: x509.NewCertPool()}
	handler := front.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.dirURL = srv.URL + wfe.DirectoryPath
	p.caFile = filepath.Join(t.TempDir(), "pebble-wfe.pem")
	if err := os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	p.roots.AddCert(authority.GetRootCert(0).Cert)
	return p
}

// startTestDNS answers over TCP (Pebble's VA asks over TCP): A of
// mail.test is 127.0.0.1, AAAA of it is empty, everything else NXDOMAIN.
func startTestDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		switch {
		case name != "mail.test.":
			m.Rcode = dns.RcodeNameError
		case q.Question[0].Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// acmeServe is one `letterbox serve` run that the test stops itself.
type acmeServe struct {
	addrs     map[string]string
	out, errb *syncBuffer
	stop      func()
}

func runACMEServe(t *testing.T, dir string) *acmeServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &acmeServe{addrs: map[string]string{}, out: &syncBuffer{}, errb: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(&env{ctx: ctx, stdin: strings.NewReader(""), stdout: s.out, stderr: s.errb,
			getenv: func(k string) string {
				if k == cheapHashEnv {
					return "1"
				}
				return ""
			}}, []string{"serve", "--data", dir})
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("serve exited %d; stderr %s", code, s.errb.String())
				}
			case <-time.After(20 * time.Second):
				t.Errorf("serve did not stop after cancel")
			}
		})
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.out.String(), "add a user with:") {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d: %s%s", code, s.out.String(), s.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q stderr %q", s.out.String(), s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range regexp.MustCompile(`listening: (\S+) +(\S+)`).FindAllStringSubmatch(s.out.String(), -1) {
		s.addrs[m[1]] = m[2]
	}
	return s
}

// waitLog waits until the server's log has a line containing want.
func (s *acmeServe) waitLog(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.errb.String(), "\n") {
			if strings.Contains(line, want) {
				return line
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line with %q after %v; log:\n%s", want, timeout, s.errb.String())
	return ""
}

// served connects to addr over TLS as a client that trusts only roots and
// asks for serverName (and offers ALPN protos), and returns the chain it
// got; with roots nil the chain is not verified.
func served(t *testing.T, addr, serverName string, roots *x509.CertPool, protos ...string) []*x509.Certificate {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: serverName, RootCAs: roots, InsecureSkipVerify: roots == nil, NextProtos: protos})
	if err != nil {
		t.Fatalf("TLS to %s as %s: %v", addr, serverName, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates
}

func writeACMEConfig(t *testing.T, dir, hostname string, p *pebbleCA, listen string, extraTLS string) {
	t.Helper()
	cfg := fmt.Sprintf(`
hostname = %q
[tls]
acme = true
acme_email = "postmaster@mail.test"
acme_directory = %q
acme_directory_ca = %q
%s
[listen]
smtp = ""
submission = ""
submissions = "127.0.0.1:0"
lmtp = ""
pop3 = ""
pop3s = "127.0.0.1:0"
imap = ""
imaps = "127.0.0.1:0"
%s
`, hostname, p.dirURL, p.caFile, extraTLS, listen)
	if err := os.WriteFile(filepath.Join(dir, "letterbox.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// HTTP-01 on [listen] acme_http: the certificate Pebble issues serves
// IMAPS, POP3S and submissions for mail.test, is stored, and a restart
// serves it again from the data directory without a new order.
func TestACMEHTTP01IssueAndReuse(t *testing.T) {
	ports, err := loopback.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	httpPort, unusedTLSPort := ports[0], ports[1]
	p := startPebble(t, httpPort, unusedTLSPort, 0)
	dir := t.TempDir()
	writeACMEConfig(t, dir, "mail.test", p, fmt.Sprintf("jmap = \"\"\nmetrics = \"127.0.0.1:0\"\nacme_http = %q", loopback.Addr(httpPort)), "")

	s := runACMEServe(t, dir)
	if !strings.Contains(s.out.String(), "TLS: ACME: requesting a certificate for mail.test") {
		t.Fatalf("banner does not say a certificate is being requested: %q", s.out.String())
	}
	line := s.waitLog(t, "ACME: certificate issued", 60*time.Second)
	if !strings.Contains(line, "challenge=http-01") {
		t.Fatalf("issued by another challenge: %s", line)
	}
	var fingerprint string
	for _, key := range []string{"imaps", "pop3s", "submissions"} {
		chain := served(t, s.addrs[key], "mail.test", p.roots)
		if fp := tlsconfig.Fingerprint(chain[0]); fingerprint == "" {
			fingerprint = fp
		} else if fp != fingerprint {
			t.Fatalf("%s serves another certificate", key)
		}
		if !strings.HasPrefix(chain[0].Issuer.CommonName, "Pebble Intermediate CA") {
			t.Fatalf("%s: issuer %q", key, chain[0].Issuer.CommonName)
		}
	}
	// A client that sends no SNI gets the same certificate.
	if got := served(t, s.addrs["imaps"], "", nil); tlsconfig.Fingerprint(got[0]) != fingerprint {
		t.Fatal("a client without SNI gets another certificate")
	}
	// The IMAP greeting comes over that connection.
	c, err := tls.Dial("tcp", s.addrs["imaps"], &tls.Config{ServerName: "mail.test", RootCAs: p.roots})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if greeting, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("IMAPS greeting %q, %v", greeting, err)
	}
	c.Close()
	if n := p.orders.Load(); n != 1 {
		t.Fatalf("%d orders for one certificate", n)
	}
	// The expiry gauge follows the issued certificate.
	leaf := served(t, s.addrs["imaps"], "mail.test", p.roots)[0]
	resp, err := http.Get("http://" + s.addrs["metrics"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("\nletterbox_tls_certificate_expiry_timestamp_seconds %g\n", float64(leaf.NotAfter.Unix())); !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %q", want)
	}
	paths := tlsconfig.ACMEStatePaths(dir, p.dirURL)
	for _, f := range []string{paths.Key, paths.Account} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v (mode %v)", f, err, fi.Mode())
		}
	}
	if _, err := os.Stat(paths.LastError); !os.IsNotExist(err) {
		t.Fatalf("last-error after a success: %v", err)
	}
	s.stop()

	// Restart: the stored certificate serves from the first handshake, and
	// no order is placed.
	s2 := runACMEServe(t, dir)
	if !regexp.MustCompile(`TLS: ACME certificate for mail.test from Pebble Intermediate CA \S+, valid until`).MatchString(s2.out.String()) {
		t.Fatalf("banner after restart: %q", s2.out.String())
	}
	s2.waitLog(t, "ACME: serving the stored certificate", 5*time.Second)
	if got := served(t, s2.addrs["imaps"], "mail.test", p.roots); tlsconfig.Fingerprint(got[0]) != fingerprint {
		t.Fatal("after a restart IMAPS serves another certificate")
	}
	time.Sleep(500 * time.Millisecond) // room for a wrong background order
	if n := p.orders.Load(); n != 1 {
		t.Fatalf("restart placed %d new order(s)", n-1)
	}
	if strings.Contains(s2.errb.String(), "ACME: certificate issued") {
		t.Fatalf("restart issued again: %s", s2.errb.String())
	}
	s2.stop()
	fakeDoctorDNS(t)
	r := letterbox(t, "", nil, "doctor", "--data", dir)
	if !regexp.MustCompile(`(?m)^ok    ACME certificate .*cert\.pem for mail\.test from Pebble Intermediate CA`).MatchString(r.stdout) {
		t.Fatalf("doctor on an issued certificate:\n%s", r.stdout)
	}
}

// TLS-ALPN-01 on the HTTPS (JMAP) listener, and renewal: with Pebble
// issuing 12-second certificates the server renews after about two
// thirds of the lifetime, serves the new certificate without a restart
// and stores it. A mail client offering ALPN "imap" is unaffected by the
// acme-tls/1 protocol being answered.
func TestACMETLSALPN01AndRenewal(t *testing.T) {
	ports, err := loopback.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	unusedHTTPPort, tlsPort := ports[0], ports[1]
	p := startPebble(t, unusedHTTPPort, tlsPort, 12)
	dir := t.TempDir()
	writeACMEConfig(t, dir, "mail.test", p, fmt.Sprintf("jmap = %q", loopback.Addr(tlsPort)), "")

	s := runACMEServe(t, dir)
	line := s.waitLog(t, "ACME: certificate issued", 60*time.Second)
	if !strings.Contains(line, "challenge=tls-alpn-01") {
		t.Fatalf("issued by another challenge: %s", line)
	}
	first := served(t, s.addrs["jmap"], "mail.test", p.roots)[0]
	if got := served(t, s.addrs["imaps"], "mail.test", p.roots, "imap"); tlsconfig.Fingerprint(got[0]) != tlsconfig.Fingerprint(first) {
		t.Fatal("IMAPS and JMAP serve different certificates")
	}
	// Renewal: a new certificate within the old one's lifetime.
	deadline := first.NotAfter.Add(5 * time.Second)
	var renewed *x509.Certificate
	for time.Now().Before(deadline) {
		if got := served(t, s.addrs["imaps"], "mail.test", p.roots)[0]; tlsconfig.Fingerprint(got) != tlsconfig.Fingerprint(first) {
			renewed = got
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if renewed == nil {
		t.Fatalf("no renewal before %v; log:\n%s", deadline, s.errb.String())
	}
	if renewed.NotAfter.Before(first.NotAfter) {
		t.Fatalf("renewed certificate expires %v, before the first one (%v)", renewed.NotAfter, first.NotAfter)
	}
	if n := p.orders.Load(); n < 2 {
		t.Fatalf("%d orders after a renewal", n)
	}
	// The renewal is on disk (or a later one, at this lifetime).
	stored, err := tlsconfig.LoadACMECertificate(tlsconfig.ACMEStatePaths(dir, p.dirURL), []string{"mail.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tlsconfig.Fingerprint(stored.Leaf) == tlsconfig.Fingerprint(first) {
		t.Fatal("the renewed certificate was not stored")
	}

	// Stopped past the stored certificate's renewal time, the server
	// renews at start with the stored account and serves the new one.
	s.stop()
	paths := tlsconfig.ACMEStatePaths(dir, p.dirURL)
	accountKey, err := os.ReadFile(paths.Account)
	if err != nil {
		t.Fatal(err)
	}
	last, err := tlsconfig.LoadACMECertificate(paths, []string{"mail.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(last.Leaf.NotAfter.Add(-3 * time.Second)))
	orders := p.orders.Load()
	s2 := runACMEServe(t, dir)
	s2.waitLog(t, "ACME: certificate issued", 30*time.Second)
	if p.orders.Load() == orders {
		t.Fatal("no order after a restart past the renewal time")
	}
	if got := served(t, s2.addrs["imaps"], "mail.test", p.roots)[0]; tlsconfig.Fingerprint(got) == tlsconfig.Fingerprint(last.Leaf) {
		t.Fatal("the certificate due for renewal still serves after the renewal")
	}
	if again, _ := os.ReadFile(paths.Account); !bytes.Equal(again, accountKey) {
		t.Fatal("the account key was replaced")
	}
}

// A failed issuance (the name does not resolve for the CA) is one clear
// log line with the CA's reason, the self-signed certificate keeps
// serving, and `letterbox doctor` reports the failure.
func TestACMEFailureIsReported(t *testing.T) {
	ports, err := loopback.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	p := startPebble(t, ports[0], ports[1], 0)
	dir := t.TempDir()
	writeACMEConfig(t, dir, "nowhere.test", p, fmt.Sprintf("jmap = \"\"\nacme_http = %q", loopback.Addr(ports[0])), "")

	s := runACMEServe(t, dir)
	line := s.waitLog(t, "ACME: certificate not issued", 60*time.Second)
	t.Logf("log: %s", line)
	for _, want := range []string{"level=ERROR", "self-signed certificate stays", "domains=nowhere.test", "nowhere.test", "retry_in=5m0s"} {
		if !strings.Contains(line, want) {
			t.Errorf("failure line lacks %q: %s", want, line)
		}
	}
	leaf := served(t, s.addrs["imaps"], "nowhere.test", nil)[0]
	if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) || leaf.VerifyHostname("nowhere.test") != nil {
		t.Fatalf("after a failed issuance IMAPS serves %v issued by %v", leaf.Subject, leaf.Issuer)
	}
	s.stop()
	fakeDoctorDNS(t)
	r := letterbox(t, "", nil, "doctor", "--data", dir)
	t.Logf("doctor:\n%s", r.stdout)
	if r.code == 0 || !regexp.MustCompile(`(?m)^FAIL  ACME: the last attempt to get a certificate for nowhere\.test failed at \S+: .*nowhere\.test`).MatchString(r.stdout) {
		t.Fatalf("doctor after a failed issuance (exit %d):\n%s", r.code, r.stdout)
	}
}

// fakeDoctorDNS keeps doctor's DNS checks off the network.
func fakeDoctorDNS(t *testing.T) {
	old := doctorResolver
	doctorResolver = fakeDNS{}
	t.Cleanup(func() { doctorResolver = old })
}
