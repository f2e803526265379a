package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// hopSecurity is what TLS one MX host must (or, in MTA-STS testing mode,
// should) give us.
type hopSecurity struct {
	// sts is the recipient domain's MTA-STS policy in mode enforce or
	// testing (nil: none); stsMatch whether this host is one of its mx.
	sts      *stsPolicy
	stsMatch bool
	// dane: the host has DNSSEC-signed TLSA records (RFC 7672), so TLS
	// is mandatory; tlsa are the usable ones the certificate must match
	// (none usable: TLS without authentication, §2.2).
	dane bool
	tlsa []*dns.TLSA
}

// enforced reports whether this host may only be used over TLS: DANE,
// or MTA-STS enforce (RFC 8461 §5) with a WebPKI-verified certificate.
// DANE takes precedence over MTA-STS for a host that has TLSA records
// (RFC 8461 §2: MTA-STS never overrides a failing DANE check).
func (s hopSecurity) enforced() bool {
	return s.dane || (s.sts != nil && s.sts.Mode == stsEnforce)
}

// securityError: a host did not give the TLS a policy demands. It is a
// temporary failure (RFC 8461 §5: "the sender MUST NOT deliver ... and
// SHOULD treat the failure as temporary"), never a bounce of its own.
type securityError struct {
	resultType string // RFC 8460 §4.3.2 result type
	host       string
	err        error
	local      string // our address on the refused connection
}

func (e *securityError) Error() string {
	if e.host == "" {
		return e.err.Error()
	}
	return e.host + ": " + e.err.Error()
}

// applyPolicies looks up each hop's DANE TLSA records and the domain's
// MTA-STS policy, and marks each hop with what it must offer. A host
// whose TLSA lookup fails is skipped (RFC 7672 §2.2). Under MTA-STS
// enforce, hosts the policy does not name are dropped (RFC 8461 §4.1, §5)
// unless DANE covers them. When no host is left the delivery is deferred.
func (w *Worker) applyPolicies(ctx context.Context, domain string, hops []hop) ([]hop, error) {
	if w.opts.Relay.Host != "" || len(hops) == 0 || strings.HasPrefix(domain, "[") {
		return hops, nil // a smarthost, or an address literal: no policy
	}
	var daneErr error
	if w.dane != nil {
		kept := hops[:0:0]
		for _, h := range hops {
			if _, err := netip.ParseAddr(h.name); err == nil {
				kept = append(kept, h) // an address has no TLSA records
				continue
			}
			usable, present, err := w.dane.tlsaFor(ctx, h.name)
			if err != nil {
				w.opts.Logger.Info("outbound: DANE: skipping a host whose TLSA lookup failed", "domain", domain, "host", h.name, "err", err)
				w.reportPolicyFailure(domain, "tlsa", "dnssec-invalid", h.name, "", err)
				daneErr = &securityError{resultType: "dnssec-invalid", host: h.name, err: err}
				continue
			}
			h.sec.dane, h.sec.tlsa = present, usable
			kept = append(kept, h)
		}
		if len(kept) == 0 {
			return nil, daneErr
		}
		hops = kept
	}
	var pol *stsPolicy
	if !w.opts.DisableMTASTS {
		var ferr *stsFailure
		pol, ferr = w.mtaSTS(ctx, domain)
		if ferr != nil {
			typ := "no-policy-found"
			if pol != nil {
				typ = "sts" // the cached policy applies
			}
			w.reportPolicyFailure(domain, typ, ferr.resultType, "", "", ferr.err)
		}
		if pol != nil && pol.Mode == stsNone {
			pol = nil
		}
	}
	if pol == nil {
		return hops, nil
	}
	out := hops[:0:0]
	for _, h := range hops {
		if h.sec.dane {
			out = append(out, h)
			continue
		}
		h.sec.sts = pol
		h.sec.stsMatch = pol.matches(h.name)
		if !h.sec.stsMatch {
			if pol.Mode == stsEnforce {
				w.opts.Logger.Info("outbound: MTA-STS: skipping an MX host the policy does not name", "domain", domain, "host", h.name)
				w.report(domain, h, "", "validation-failure", "MX host not in the MTA-STS policy", "")
				continue
			}
			w.opts.Logger.Info("outbound: MTA-STS testing: MX host not in the policy", "domain", domain, "host", h.name)
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, &securityError{resultType: "validation-failure",
			err: fmt.Errorf("MTA-STS: no MX host of %s matches its policy (mx %v)", domain, pol.MX)}
	}
	return out, nil
}

// checkPeer verifies a TLS session against the hop's requirements: under
// MTA-STS, a certificate that chains to a trusted root and names the MX
// host (RFC 8461 §4.2; RFC 6125 matching with a leftmost wildcard).
func (w *Worker) checkPeer(cs tls.ConnectionState, h hop) error {
	if h.sec.dane {
		if len(h.sec.tlsa) == 0 {
			return nil // §2.2: no usable record: encrypted, not authenticated
		}
		if err := verifyDANE(cs, h.sec.tlsa, h.name); err != nil {
			return &securityError{resultType: "validation-failure", host: h.name, err: fmt.Errorf("DANE: %w", err)}
		}
		return nil
	}
	if h.sec.enforced() {
		if err := w.verifyPKIX(cs, h.name); err != nil {
			return &securityError{resultType: certResultType(err), host: h.name, err: fmt.Errorf("MTA-STS: certificate: %w", err)}
		}
	}
	return nil
}

// verifyPKIX checks that the peer's certificate chains to RootCAs (the
// system's when nil) and names host.
func (w *Worker) verifyPKIX(cs tls.ConnectionState, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter, Roots: w.opts.RootCAs})
	return err
}

// certResultType maps a certificate verification error to its RFC 8460
// §4.3.2.2 result type.
func certResultType(err error) string {
	var host x509.HostnameError
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &host):
		return "certificate-host-mismatch"
	case errors.As(err, &unknown):
		return "certificate-not-trusted"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "certificate-expired"
	}
	return "validation-failure"
}

// tlsOutcome looks at a connection that was made and records it for
// TLS-RPT. Under MTA-STS testing a session that enforce would have refused
// is only logged and reported (RFC 8461 §5: "testing" mode reports and
// delivers); under enforce or DANE it passed checkPeer.
func (w *Worker) tlsOutcome(domain string, h hop, ip netip.Addr, cn *conn) {
	if w.opts.Relay.Host != "" {
		return // not the domain's own MX: nothing for its TLS-RPT
	}
	result, reason := "success", ""
	switch {
	case h.sec.dane || h.sec.enforced():
	case h.sec.sts != nil: // testing
		switch {
		case !h.sec.stsMatch:
			result, reason = "validation-failure", "MX host not in the MTA-STS policy"
		case !cn.tls:
			result = "starttls-not-supported"
		case !cn.verified:
			result, reason = certResultType(cn.verifyErr), cn.verifyErr.Error()
		}
		if result != "success" {
			w.opts.Logger.Warn("outbound: MTA-STS testing: this delivery would fail under enforce", "domain", domain, "host", h.name, "result", result, "err", cn.verifyErr)
		}
	case !cn.tls:
		result = "starttls-not-supported"
	}
	w.report(domain, h, ip.String(), result, reason, cn.local)
}

// connectFailed records a connection refused for its TLS (TLS-RPT).
func (w *Worker) connectFailed(domain string, h hop, ip netip.Addr, err error) {
	var se *securityError
	if errors.As(err, &se) {
		w.report(domain, h, ip.String(), se.resultType, se.err.Error(), se.local)
	}
}
