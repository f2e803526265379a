//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// e2eCA issues certificates for the MTA-STS test; its PEM is the
// server's [outbound] ca_file.
type e2eCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newE2ECA(t *testing.T) *e2eCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &e2eCA{cert: cert, key: key}
}

func (ca *e2eCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// countingMTA accepts every message and counts them.
type countingMTA struct {
	mu sync.Mutex
	n  int
}

type countingSession struct{ m *countingMTA }

func (s *countingSession) Reset()                               {}
func (s *countingSession) Logout() error                        { return nil }
func (s *countingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *countingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *countingSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	s.m.mu.Lock()
	s.m.n++
	s.m.mu.Unlock()
	return nil
}

func (m *countingMTA) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// startCountingMTA runs one on l, with STARTTLS when cfg is set.
func startCountingMTA(t *testing.T, l net.Listener, cfg *tls.Config) *countingMTA {
	m := &countingMTA{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &countingSession{m}, nil }))
	srv.Domain = "mx.remote.test"
	srv.TLSConfig = cfg
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return m
}

// The built binary applies MTA-STS (RFC 8461) with the test DNS and a
// policy server trusted through [outbound] ca_file: a domain whose enforce
// policy names an MX without STARTTLS keeps its message queued (deferred,
// 4.7.5), one whose MX has a valid certificate gets it over TLS; `queue
// tls-report` shows both sessions (RFC 8460).
func TestOutboundMTASTS(t *testing.T) {
	ca := newE2ECA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	// One port free on 127.0.0.2 and 127.0.0.3 ([outbound] port is one
	// port for every MX).
	var plainL, goodL net.Listener
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatal(err)
		}
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)))
		if err == nil {
			plainL, goodL = l, l2
			break
		}
		l.Close()
	}
	if plainL == nil {
		t.Fatal("no common free port")
	}
	port := plainL.Addr().(*net.TCPAddr).Port
	plain := startCountingMTA(t, plainL, nil)
	good := startCountingMTA(t, goodL, &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "mx.good.test")}})

	policies := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		domain := strings.TrimPrefix(host, "mta-sts.")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "version: STSv1\r\nmode: enforce\r\nmx: mx."+domain+"\r\nmax_age: 86400\r\n")
	}))
	policies.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := ca.issue(t, h.ServerName)
		return &c, nil
	}}
	policies.StartTLS()
	t.Cleanup(policies.Close)
	policyPort := policies.Listener.Addr().(*net.TCPAddr).Port

	d := startDNS(t)
	for _, dom := range []string{"enforce.test", "good.test"} {
		d.add(t, `_mta-sts.`+dom+`. 60 IN TXT "v=STSv1; id=e2e1"`, "mta-sts."+dom+". 60 IN A 127.0.0.1",
			dom+". 60 IN MX 10 mx."+dom+".")
	}
	d.add(t, "mx.enforce.test. 60 IN A 127.0.0.2", "mx.good.test. 60 IN A 127.0.0.3")

	const alice = "alice@a.test"
	a := startServerWith(t, func(cfg string) string {
		cfg = setOutbound(cfg, "mx.a.test", d.addr, port)
		cfg = regexp.MustCompile(`(?m)^mta_sts_port = .*$`).ReplaceAllString(cfg, "mta_sts_port = "+strconv.Itoa(policyPort))
		return regexp.MustCompile(`(?m)^ca_file = .*$`).ReplaceAllString(cfg, `ca_file = "`+caFile+`"`)
	})
	a.addUser(alice, alicePass)
	a.submit(t, alice, alicePass, []string{"r@enforce.test"}, message(alice, "r@enforce.test", "enforced", "x\n"))
	a.submit(t, alice, alicePass, []string{"r@good.test"}, message(alice, "r@good.test", "good", "x\n"))

	deadline := time.Now().Add(20 * time.Second)
	var list string
	for {
		out, _ := exec.Command(letterboxBin, a.args("queue", "list")...).CombinedOutput()
		list = string(out)
		// The MTA counts before its 250 reaches the queue: wait for both.
		if good.count() == 1 && !strings.Contains(list, "r@good.test") && strings.Contains(list, "r@enforce.test") && strings.Contains(list, "STARTTLS not offered") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("good MTA got %d; queue:\n%s\nserver log:\n%s", good.count(), list, a.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if plain.count() != 0 {
		t.Errorf("plain MX got %d; queue:\n%s", plain.count(), list)
	}
	if _, err := os.Stat(filepath.Join(a.dataDir, "mta-sts", "good.test.json")); err != nil {
		t.Errorf("policy cache: %v", err)
	}
	for dom, want := range map[string]string{
		"good.test":    `"total-successful-session-count": 1`,
		"enforce.test": `"result-type": "starttls-not-supported"`,
	} {
		out, err := exec.Command(letterboxBin, a.args("queue", "tls-report", dom)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), `"policy-type": "sts"`) {
			t.Errorf("tls-report %s: %v\n%s", dom, err, out)
		}
	}
}

// The built binary with [outbound] dane = true and the test DNS (on
// loopback, answering with the AD bit as a validating resolver would):
// an MX whose DANE-EE TLSA record matches its self-signed certificate gets
// the message over TLS; one whose record does not match keeps it queued.
func TestOutboundDANE(t *testing.T) {
	ca := newE2ECA(t) // only to make certificates; nobody trusts it
	matching, other := ca.issue(t, "mx.dane.test"), ca.issue(t, "unrelated.test")
	var okL, badL net.Listener
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.4:0")
		if err != nil {
			t.Fatal(err)
		}
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.5", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)))
		if err == nil {
			okL, badL = l, l2
			break
		}
		l.Close()
	}
	if okL == nil {
		t.Fatal("no common free port")
	}
	port := okL.Addr().(*net.TCPAddr).Port
	okMTA := startCountingMTA(t, okL, &tls.Config{Certificates: []tls.Certificate{matching}})
	badMTA := startCountingMTA(t, badL, &tls.Config{Certificates: []tls.Certificate{matching}})
	d := startDNS(t)
	d.validating = true
	leaf, _ := x509.ParseCertificate(matching.Certificate[0])
	otherLeaf, _ := x509.ParseCertificate(other.Certificate[0])
	tlsa := func(host string, c *x509.Certificate) string {
		data, err := dns.CertificateToDANE(1, 1, c)
		if err != nil {
			t.Fatal(err)
		}
		return "_25._tcp." + host + ". 60 IN TLSA 3 1 1 " + data
	}
	d.add(t, "dane.test. 60 IN MX 10 mx.dane.test.", "mx.dane.test. 60 IN A 127.0.0.4", tlsa("mx.dane.test", leaf),
		"wrong.test. 60 IN MX 10 mx.wrong.test.", "mx.wrong.test. 60 IN A 127.0.0.5", tlsa("mx.wrong.test", otherLeaf))
	const alice = "alice@a.test"
	a := startServerWith(t, func(cfg string) string {
		cfg = setOutbound(cfg, "mx.a.test", d.addr, port)
		return regexp.MustCompile(`(?m)^dane = .*$`).ReplaceAllString(cfg, "dane = true")
	})
	a.addUser(alice, alicePass)
	a.submit(t, alice, alicePass, []string{"r@dane.test"}, message(alice, "r@dane.test", "dane", "x\n"))
	a.submit(t, alice, alicePass, []string{"r@wrong.test"}, message(alice, "r@wrong.test", "wrong", "x\n"))
	deadline := time.Now().Add(20 * time.Second)
	var list string
	for {
		out, _ := exec.Command(letterboxBin, a.args("queue", "list")...).CombinedOutput()
		list = string(out)
		if okMTA.count() == 1 && !strings.Contains(list, "r@dane.test") && strings.Contains(list, "r@wrong.test") && strings.Contains(list, "DANE") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("matching MTA got %d; queue:\n%s\nserver log:\n%s", okMTA.count(), list, a.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if badMTA.count() != 0 {
		t.Errorf("mismatching MX got %d; queue:\n%s", badMTA.count(), list)
	}
}
