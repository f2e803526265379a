package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// hopSecurity is what TLS one MX host must (or, in MTA-STS testing mode,
// should) give us.
type hopSecurity struct {
	// sts is the recipient domain's MTA-STS policy in mode enforce or
	// testing (nil: none); stsMatch whether this host is one of its mx.
	sts      *stsPolicy
	stsMatch bool
}

// enforced reports whether this host may only be used over TLS with a
// verified certificate: MTA-STS enforce (RFC 8461 §5).
func (s hopSecurity) enforced() bool {
	return s.sts != nil && s.sts.Mode == stsEnforce
}

// securityError: a host did not give the TLS a policy demands. It is a
// temporary failure (RFC 8461 §5: "the sender MUST NOT deliver ... and
// SHOULD treat the failure as temporary"), never a bounce of its own.
type securityError struct {
	resultType string // RFC 8460 §4.3.2 result type
	host       string
	err        error
}

func (e *securityError) Error() string {
	if e.host == "" {
		return e.err.Error()
	}
	return e.host + ": " + e.err.Error()
}

// applyPolicies fetches the domain's MTA-STS policy and marks each hop
// with what it must offer. Under enforce, hosts the policy does not name
// are dropped (§4.1, §5); when none is left the delivery is deferred.
func (w *Worker) applyPolicies(ctx context.Context, domain string, hops []hop) ([]hop, error) {
	if w.opts.Relay.Host != "" || len(hops) == 0 {
		return hops, nil
	}
	var pol *stsPolicy
	if !w.opts.DisableMTASTS {
		pol, _ = w.mtaSTS(ctx, domain)
		if pol != nil && pol.Mode == stsNone {
			pol = nil
		}
	}
	if pol == nil {
		return hops, nil
	}
	out := hops[:0:0]
	for _, h := range hops {
		h.sec.sts = pol
		h.sec.stsMatch = pol.matches(h.name)
		if !h.sec.stsMatch {
			if pol.Mode == stsEnforce {
				w.opts.Logger.Info("outbound: MTA-STS: skipping an MX host the policy does not name", "domain", domain, "host", h.name)
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

// tlsOutcome looks at a connection that was made: under MTA-STS testing
// a session that enforce would have refused is only logged (RFC 8461 §5:
// "testing" mode reports and delivers).
func (w *Worker) tlsOutcome(domain string, h hop, cn *conn) {
	if h.sec.sts == nil || h.sec.sts.Mode != stsTesting {
		return
	}
	var why string
	switch {
	case !h.sec.stsMatch:
		why = "validation-failure"
	case !cn.tls:
		why = "starttls-not-supported"
	case !cn.verified:
		why = certResultType(cn.verifyErr)
	default:
		return
	}
	w.opts.Logger.Warn("outbound: MTA-STS testing: this delivery would fail under enforce", "domain", domain, "host", h.name, "result", why, "err", cn.verifyErr)
}
