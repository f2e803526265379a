package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hop is one host to try: its name (for TLS and logs) and its addresses,
// IPv6 first.
type hop struct {
	name  string
	addrs []netip.Addr
	sec   hopSecurity // what TLS it must offer (MTA-STS, DANE)
}

// permanentError fails a recipient for good (no retry), with an RFC 3463
// status.
type permanentError struct {
	status string
	text   string
}

func (e *permanentError) Error() string { return e.text }

// route returns the hosts to try for domain, in order (RFC 5321 §5.1):
// its MX hosts by preference (equal preferences in the random order the
// resolver gives), or, when the domain has no MX records, the domain
// itself (the implicit MX). A domain without MX and address records, or
// with a null MX (RFC 7505), is a permanent error; a failed lookup a
// temporary one.
func (w *Worker) route(ctx context.Context, domain string) ([]hop, error) {
	if w.opts.Relay.Host != "" {
		return w.resolveHops(ctx, []string{w.opts.Relay.Host})
	}
	if lit, ok := strings.CutPrefix(domain, "["); ok {
		// An address literal (RFC 5321 §4.1.3): that host only.
		lit = strings.TrimPrefix(strings.TrimSuffix(lit, "]"), "IPv6:")
		a, err := netip.ParseAddr(lit)
		if err != nil {
			return nil, &permanentError{"5.1.2", fmt.Sprintf("bad address literal %q", domain)}
		}
		return []hop{{name: a.String(), addrs: []netip.Addr{a.Unmap()}}}, nil
	}
	mxs, err := w.opts.Resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == ""):
		return nil, &permanentError{"5.1.10", fmt.Sprintf("%s does not accept mail (null MX, RFC 7505)", domain)}
	case err == nil && len(mxs) > 0:
		names := make([]string, 0, len(mxs))
		for _, mx := range mxs {
			names = append(names, strings.TrimSuffix(mx.Host, "."))
		}
		hops, herr := w.resolveHops(ctx, names)
		if len(hops) == 0 && herr == nil {
			herr = fmt.Errorf("no MX host of %s has an address", domain)
		}
		return hops, herr
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		// No MX records: the domain is its own mail host (§5.1).
		hops, herr := w.resolveHops(ctx, []string{domain})
		if len(hops) == 0 && herr == nil {
			return nil, &permanentError{"5.1.2", fmt.Sprintf("%s has no MX and no address records", domain)}
		}
		return hops, herr
	case err != nil:
		return nil, fmt.Errorf("MX lookup for %s: %w", domain, err)
	}
	return nil, &permanentError{"5.1.2", fmt.Sprintf("%s has no mail host", domain)}
}

// resolveHops looks up the addresses of each name. A name that does not
// exist is skipped; a temporary failure is returned only when no name
// resolved.
func (w *Worker) resolveHops(ctx context.Context, names []string) ([]hop, error) {
	var hops []hop
	var tempErr error
	for _, name := range names {
		if a, err := netip.ParseAddr(name); err == nil {
			hops = append(hops, hop{name: name, addrs: []netip.Addr{a.Unmap()}})
			continue
		}
		ips, err := w.opts.Resolver.LookupNetIP(ctx, "ip", name)
		var dnsErr *net.DNSError
		if err != nil {
			if !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
				tempErr = fmt.Errorf("address lookup for %s: %w", name, err)
			}
			continue
		}
		var v6, v4 []netip.Addr
		for _, ip := range ips {
			ip = ip.Unmap()
			if ip.Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
		hops = append(hops, hop{name: name, addrs: append(v6, v4...)})
	}
	if len(hops) == 0 {
		return nil, tempErr
	}
	return hops, nil
}
