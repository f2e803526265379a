package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// DANE for SMTP (RFC 7672): an MX host whose TLSA records at
// _25._tcp.HOST are DNSSEC-signed must be reached over TLS and present a
// certificate those records match.
//
// DNSSEC validation is not done here: letterbox asks one resolver, which
// must be on loopback, with the DO and AD bits set, and trusts the AD
// (authenticated data) bit of its answers (RFC 6840 §5.7, RFC 4035 §3.2.3)
// — what Postfix does with smtp_dns_support_level = dnssec. That resolver
// (unbound, a DNSSEC-validating systemd-resolved, …) does the validation;
// a resolver across a network could be impersonated on the path, so a
// non-loopback one is refused (newDANE).

// daneResolver asks the validating resolver.
type daneResolver struct {
	server string // host:port, on loopback
}

// newDANE picks the resolver DANE trusts: server ("host:port", the
// [outbound] dns_server) or the first nameserver of /etc/resolv.conf; it
// must be a loopback address.
func newDANE(server string) (*daneResolver, error) {
	if server == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cc.Servers) == 0 {
			return nil, fmt.Errorf("DANE: no resolver in /etc/resolv.conf: %v", err)
		}
		server = net.JoinHostPort(cc.Servers[0], cc.Port)
	}
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		return nil, fmt.Errorf("DANE: resolver %q: %w", server, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.IsLoopback() {
		return nil, fmt.Errorf("DANE: the resolver %s is not on loopback: its DNSSEC (AD) answers could be forged on the way; run a validating resolver on 127.0.0.1 or turn dane off", server)
	}
	return &daneResolver{server: server}, nil
}

// query asks for name/qtype with DO and AD set (over TCP when the UDP
// answer is truncated); secure is the answer's AD bit.
func (d *daneResolver) query(ctx context.Context, name string, qtype uint16) (m *dns.Msg, secure bool, err error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = true
	q.AuthenticatedData = true
	q.SetEdns0(4096, true)
	c := &dns.Client{Net: "udp"}
	m, _, err = c.ExchangeContext(ctx, q, d.server)
	if err == nil && m.Truncated {
		c.Net = "tcp"
		m, _, err = c.ExchangeContext(ctx, q, d.server)
	}
	if err != nil {
		return nil, false, err
	}
	return m, m.AuthenticatedData, nil
}

// errDNSSEC: a DNSSEC lookup for DANE failed (SERVFAIL, often a bogus
// signature); the host must not be used (RFC 7672 §2.2).
var errDNSSEC = errors.New("DNSSEC lookup failed")

// tlsaFor returns host's usable TLSA records and whether it has TLSA
// records at all (then TLS is mandatory even when none is usable,
// RFC 7672 §2.2). Only a host whose address records are secure is looked
// up (§2.2.2); insecure TLSA records are ignored (§2.2). A failed lookup
// is an error: the host is skipped, the delivery deferred if no other
// host is left.
func (d *daneResolver) tlsaFor(ctx context.Context, host string) (usable []*dns.TLSA, present bool, err error) {
	am, secure, err := d.query(ctx, host, dns.TypeA)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %s A: %v", errDNSSEC, host, err)
	}
	if am.Rcode != dns.RcodeSuccess && am.Rcode != dns.RcodeNameError {
		return nil, false, fmt.Errorf("%w: %s A: %s", errDNSSEC, host, dns.RcodeToString[am.Rcode])
	}
	if !secure {
		return nil, false, nil
	}
	tm, secure, err := d.query(ctx, "_25._tcp."+host, dns.TypeTLSA)
	if err != nil {
		return nil, false, fmt.Errorf("%w: TLSA of %s: %v", errDNSSEC, host, err)
	}
	switch {
	case tm.Rcode == dns.RcodeNameError:
		return nil, false, nil
	case tm.Rcode != dns.RcodeSuccess:
		return nil, false, fmt.Errorf("%w: TLSA of %s: %s", errDNSSEC, host, dns.RcodeToString[tm.Rcode])
	case !secure:
		return nil, false, nil
	}
	for _, rr := range tm.Answer {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		present = true
		// §3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP; the
		// selectors and matching types of RFC 6698 §2.1.
		if (t.Usage == 2 || t.Usage == 3) && t.Selector <= 1 && t.MatchingType <= 2 {
			usable = append(usable, t)
		}
	}
	return usable, present, nil
}

// tlsaMatches reports whether cert matches the record's selector and
// matching type (RFC 6698 §2.1.2-§2.1.3).
func tlsaMatches(t *dns.TLSA, cert *x509.Certificate) bool {
	s, err := dns.CertificateToDANE(t.Selector, t.MatchingType, cert)
	return err == nil && strings.EqualFold(s, t.Certificate)
}

// verifyDANE checks the session against usable TLSA records (RFC 7672
// §3.1): DANE-EE(3) matches the server's own certificate, with no name,
// chain or expiry check (§3.1.1); DANE-TA(2) matches a certificate the
// server sent in its chain, which then serves as the only trust anchor
// for the usual chain and name check against the MX host name (§3.1.2,
// §3.2.2).
func verifyDANE(cs tls.ConnectionState, records []*dns.TLSA, host string) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	var lastErr error
	for _, t := range records {
		switch t.Usage {
		case 3:
			if tlsaMatches(t, certs[0]) {
				return nil
			}
		case 2:
			for i, ta := range certs[1:] {
				if !tlsaMatches(t, ta) {
					continue
				}
				roots := x509.NewCertPool()
				roots.AddCert(ta)
				inter := x509.NewCertPool()
				for _, c := range certs[1 : i+1] {
					inter.AddCert(c)
				}
				_, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
				if err == nil {
					return nil
				}
				lastErr = err
			}
		}
	}
	if lastErr != nil {
		return fmt.Errorf("DANE-TA: %w", lastErr)
	}
	return errors.New("no TLSA record matches the certificate")
}
