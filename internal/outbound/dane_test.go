package outbound

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// tlsaRecord is the zone line of a TLSA record for host matching cert.
func tlsaRecord(t *testing.T, host string, usage, selector, matching uint8, cert *x509.Certificate) string {
	t.Helper()
	data, err := dns.CertificateToDANE(selector, matching, cert)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("_25._tcp.%s. 60 IN TLSA %d %d %d %s", host, usage, selector, matching, data)
}

// With DANE on and a validating resolver (the test DNS sets the AD bit),
// a host with TLSA records gets mail only over TLS with a certificate
// they match: DANE-EE ignores names, roots and expiry, DANE-TA makes the
// matched certificate the only trust anchor and checks the MX name.
// Failures defer. Insecure (no AD) records are ignored; a SERVFAIL skips
// the host; records that are all unusable (PKIX-EE) still demand TLS.
func TestDANE(t *testing.T) {
	s := newSTSEnv(t)
	s.dns.validating = true
	s.dns.insecure = map[string]bool{"_25._tcp.mx.insecure.test.": true}
	s.dns.servfail = map[string]bool{"_25._tcp.mx.servfail.test.": true}
	self, err := testcert.New() // self-signed, named mail.test
	if err != nil {
		t.Fatal(err)
	}
	selfLeaf := self.Server.Certificates[0].Leaf
	otherCA := newTestCA(t) // not among the worker's RootCAs
	taCert := otherCA.issue(t, time.Time{}, "mx.ta.test")
	expired := otherCA.issue(t, time.Now().Add(-time.Hour), "mx.eeexpired.test")
	type tcase struct {
		domain  string
		tls     *tls.Config
		tlsa    func(host string) []string
		deliver bool
		errText string
	}
	ee := func(c *x509.Certificate, sel, match uint8) func(string) []string {
		return func(h string) []string { return []string{tlsaRecord(t, h, 3, sel, match, c)} }
	}
	otherLeaf := otherCA.issue(t, time.Time{}, "x.test").Leaf
	cases := []tcase{
		{domain: "ee.test", tls: self.Server, tlsa: ee(selfLeaf, 1, 1), deliver: true},
		{domain: "eefull.test", tls: self.Server, tlsa: ee(selfLeaf, 0, 0), deliver: true},
		{domain: "ee512.test", tls: self.Server, tlsa: ee(selfLeaf, 0, 2), deliver: true},
		{domain: "eeexpired.test", tls: serverConfig(expired), tlsa: ee(expired.Leaf, 1, 1), deliver: true},
		{domain: "eemismatch.test", tls: self.Server, tlsa: ee(otherLeaf, 1, 1), errText: "no TLSA record matches"},
		{domain: "ta.test", tls: serverConfig(taCert), tlsa: func(h string) []string {
			return []string{tlsaRecord(t, h, 2, 0, 1, otherCA.cert)}
		}, deliver: true},
		{domain: "tawrongname.test", tls: serverConfig(otherCA.issue(t, time.Time{}, "other.test")), tlsa: func(h string) []string {
			return []string{tlsaRecord(t, h, 2, 1, 1, otherCA.cert)}
		}, errText: "DANE-TA"},
		{domain: "notls.test", tls: nil, tlsa: ee(selfLeaf, 1, 1), errText: "STARTTLS not offered"},
		{domain: "insecure.test", tls: nil, tlsa: ee(selfLeaf, 1, 1), deliver: true},
		{domain: "servfail.test", tls: self.Server, tlsa: ee(selfLeaf, 1, 1), errText: "DNSSEC lookup failed"},
		{domain: "pkixonly.test", tls: self.Server, tlsa: func(h string) []string {
			return []string{tlsaRecord(t, h, 1, 1, 1, selfLeaf)}
		}, deliver: true},
		{domain: "pkixnotls.test", tls: nil, tlsa: func(h string) []string {
			return []string{tlsaRecord(t, h, 1, 1, 1, selfLeaf)}
		}, errText: "STARTTLS not offered"},
	}
	mtas := map[string]*fakeMTA{}
	ids := map[string]int64{}
	for i, c := range cases {
		ip := fmt.Sprintf("127.0.2.%d", i+1)
		mtas[c.domain] = startMTAServer(t, ip, s.port, c.tls, "", nil)
		host := "mx." + c.domain
		s.mx(t, c.domain, 10, host, ip)
		s.dns.add(t, c.tlsa(host)...)
		ids[c.domain] = s.enqueue(t, testBody, "bob@"+c.domain).ID
	}
	opts := s.opts(t)
	opts.DANE = true
	s.start(t, opts)
	var all []int64
	for _, id := range ids {
		all = append(all, id)
	}
	s.waitAttempted(t, all...)
	for _, c := range cases {
		m, queued := s.queued(t, ids[c.domain])
		got := mtas[c.domain].messages()
		if c.deliver {
			if queued || len(got) != 1 {
				t.Errorf("%s: queued %v, %d deliveries (%+v), want delivered", c.domain, queued, len(got), m.Recipients)
			} else if got[0].tls != (c.tls != nil) {
				t.Errorf("%s: tls %v", c.domain, got[0].tls)
			}
			continue
		}
		if !queued || len(got) != 0 {
			t.Errorf("%s: queued %v, %d deliveries, want deferred", c.domain, queued, len(got))
			continue
		}
		r := m.Recipients[0]
		if r.State != store.OutboundPending || !strings.Contains(r.LastError, c.errText) {
			t.Errorf("%s: %v %q, want pending with %q", c.domain, r.State, r.LastError, c.errText)
		}
	}
	checkTLSReport(t, s.rptDir, "ee.test", tlsSummary{typ: "tlsa", success: 1})
	checkTLSReport(t, s.rptDir, "eemismatch.test", tlsSummary{typ: "tlsa", failures: map[string]int{"validation-failure": 1}})
	checkTLSReport(t, s.rptDir, "notls.test", tlsSummary{typ: "tlsa", failures: map[string]int{"starttls-not-supported": 1}})
	checkTLSReport(t, s.rptDir, "servfail.test", tlsSummary{typ: "tlsa", failures: map[string]int{"dnssec-invalid": 1}})
	checkTLSReport(t, s.rptDir, "insecure.test", tlsSummary{typ: "no-policy-found", failures: map[string]int{"starttls-not-supported": 1}})
}

// DANE trusts only a resolver on loopback; and with DANE off, TLSA
// records change nothing.
func TestDANEResolverAndOff(t *testing.T) {
	e := newEnv(t)
	if _, err := New(e.st, Options{DANE: true, DNSServer: "192.0.2.1:53"}); err == nil || !strings.Contains(err.Error(), "not on loopback") {
		t.Errorf("remote resolver: %v", err)
	}
	if _, err := New(e.st, Options{DANE: true, DNSServer: "[::1]:53"}); err != nil {
		t.Errorf("::1: %v", err)
	}
	s := newSTSEnv(t)
	s.dns.validating = true
	mta := startMTAServer(t, "127.0.1.2", s.port, nil, "", nil)
	s.mx(t, "off.test", 10, "mx.off.test", "127.0.1.2")
	c, _ := testcert.New()
	s.dns.add(t, tlsaRecord(t, "mx.off.test", 3, 1, 1, c.Server.Certificates[0].Leaf))
	id := s.enqueue(t, testBody, "bob@off.test").ID
	s.start(t, s.opts(t))
	eventually(t, "delivery", func() bool { _, ok := s.queued(t, id); return !ok })
	if len(mta.messages()) != 1 {
		t.Error("not delivered with DANE off")
	}
}
