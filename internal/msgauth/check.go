// Package msgauth checks inbound mail from other servers: SPF (RFC 7208,
// with blitiri.com.ar/go/spf, chasquid's well-kept implementation), DKIM
// (RFC 6376, go-msgauth) and DMARC (RFC 7489: policy lookup with
// go-msgauth, alignment and evaluation here), and formats the result as an
// Authentication-Results header field (RFC 8601, go-msgauth's authres).
// It depends on no other letterbox package.
package msgauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/textproto"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// checkTimeout bounds the DNS work of one message's checks.
const checkTimeout = 30 * time.Second

// Checker runs the checks with one resolver.
type Checker struct {
	// Hostname is the authserv-id of the Authentication-Results field.
	Hostname string
	Resolver *net.Resolver
}

// DKIMResult is one signature's outcome.
type DKIMResult struct {
	Domain, Selector string
	Pass             bool
	Temp             bool   // temperror rather than fail
	Reason           string // why it failed
}

// Verdict is what the checks found.
type Verdict struct {
	SPF       spf.Result
	SPFDomain string // the domain SPF checked (MAIL FROM's, or HELO's)
	SPFFrom   string // smtp.mailfrom for the header
	Helo      string
	DKIM      []DKIMResult
	// DMARC is "pass", "fail", "none", "temperror" or "permerror".
	DMARC      string
	FromDomain string       // RFC5322.From's domain
	Policy     dmarc.Policy // the policy in force for FromDomain ("" without one)
}

// Reject reports whether DMARC asks to reject this message (p=reject and
// the message failed; pct is not sampled: a failing message is rejected).
func (v Verdict) Reject() bool { return v.DMARC == "fail" && v.Policy == dmarc.PolicyReject }

// Check evaluates a message received from ip, which said helo, with
// envelope sender from ("" for the null sender). msg is the message as
// received (no trace fields of ours).
func (c *Checker) Check(ctx context.Context, ip netip.Addr, helo, from string, msg []byte) Verdict {
	return c.CheckReader(ctx, ip, helo, from, func() io.Reader { return bytes.NewReader(msg) })
}

// CheckReader is Check on a message read twice through open (once for
// DKIM, once for the From field), so a large one need not be in memory.
func (c *Checker) CheckReader(ctx context.Context, ip netip.Addr, helo, from string, open func() io.Reader) Verdict {
	// All lookups together get checkTimeout; what has not answered by
	// then is a temperror.
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	v := Verdict{Helo: helo}
	// SPF (RFC 7208 §2.4): MAIL FROM's domain, or postmaster@HELO.
	sender := from
	if sender == "" {
		sender = "postmaster@" + helo
	}
	v.SPFFrom = sender
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		v.SPFDomain = strings.ToLower(sender[i+1:])
	}
	res, _ := spf.CheckHostWithSender(net.IP(ip.AsSlice()), helo, sender,
		spf.WithResolver(c.Resolver), spf.WithContext(ctx))
	v.SPF = res

	// DKIM: every signature.
	verifs, err := dkim.VerifyWithOptions(open(), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return c.Resolver.LookupTXT(ctx, name) },
	})
	if err == nil {
		for _, vf := range verifs {
			r := DKIMResult{Domain: strings.ToLower(vf.Domain), Pass: vf.Err == nil}
			if vf.Err != nil {
				r.Reason = vf.Err.Error()
				r.Temp = dkim.IsTempFail(vf.Err)
			}
			v.DKIM = append(v.DKIM, r)
		}
	}

	// DMARC (RFC 7489 §6.6).
	v.FromDomain, err = fromDomain(open())
	if err != nil {
		v.DMARC = "permerror"
		return v
	}
	rec, subdomain, err := c.policy(ctx, v.FromDomain)
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		v.DMARC = "none"
		return v
	case dmarc.IsTempFail(err):
		v.DMARC = "temperror"
		return v
	case err != nil:
		v.DMARC = "permerror"
		return v
	}
	v.Policy = rec.Policy
	if subdomain && rec.SubdomainPolicy != "" {
		v.Policy = rec.SubdomainPolicy
	}
	v.DMARC = "fail"
	if v.SPF == spf.Pass && aligned(v.SPFDomain, v.FromDomain, rec.SPFAlignment) {
		v.DMARC = "pass"
	}
	for _, d := range v.DKIM {
		if d.Pass && aligned(d.Domain, v.FromDomain, rec.DKIMAlignment) {
			v.DMARC = "pass"
		}
	}
	return v
}

// policy finds the DMARC record of domain, or of its organizational
// domain (§6.6.3); subdomain is true for the latter.
func (c *Checker) policy(ctx context.Context, domain string) (*dmarc.Record, bool, error) {
	opts := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) {
		return c.Resolver.LookupTXT(ctx, name)
	}}
	rec, err := dmarc.LookupWithOptions(domain, opts)
	if !errors.Is(err, dmarc.ErrNoPolicy) {
		return rec, false, err
	}
	org := orgDomain(domain)
	if org == domain {
		return nil, false, err
	}
	rec, err = dmarc.LookupWithOptions(org, opts)
	return rec, true, err
}

// orgDomain is the organizational domain (§3.2): one label below the
// public suffix.
func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// aligned applies identifier alignment (§3.1): strict is equality,
// relaxed equal organizational domains.
func aligned(a, b string, mode dmarc.AlignmentMode) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if mode == dmarc.AlignmentStrict {
		return a == b
	}
	return a != "" && orgDomain(a) == orgDomain(b)
}

// fromDomain is the domain of the message's one From address (§6.6.1: a
// message with none or several cannot be evaluated).
func fromDomain(msg io.Reader) (string, error) {
	hdr, err := textproto.NewReader(bufio.NewReader(msg)).ReadMIMEHeader()
	if err != nil && len(hdr) == 0 {
		return "", err
	}
	froms := hdr.Values("From")
	if len(froms) != 1 {
		return "", errors.New("not exactly one From field")
	}
	addrs, err := mail.ParseAddressList(froms[0])
	if err != nil || len(addrs) != 1 {
		return "", errors.New("not exactly one From address")
	}
	i := strings.LastIndexByte(addrs[0].Address, '@')
	if i < 0 {
		return "", errors.New("From address without a domain")
	}
	return strings.ToLower(addrs[0].Address[i+1:]), nil
}

// Header is the Authentication-Results field (RFC 8601) for v, folded,
// with its CRLF.
func (c *Checker) Header(v Verdict) []byte {
	var results []authres.Result
	spfFrom := v.SPFFrom
	results = append(results, &authres.SPFResult{Value: authres.ResultValue(v.SPF), From: spfFrom})
	if len(v.DKIM) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, d := range v.DKIM {
		val := authres.ResultValue(authres.ResultPass)
		switch {
		case d.Temp:
			val = authres.ResultTempError
		case !d.Pass:
			val = authres.ResultFail
		}
		results = append(results, &authres.DKIMResult{Value: val, Domain: d.Domain, Reason: d.Reason})
	}
	results = append(results, &authres.DMARCResult{Value: authres.ResultValue(v.DMARC), From: v.FromDomain})
	return []byte("Authentication-Results: " + authres.Format(c.Hostname, results) + "\r\n")
}

// StripForged returns r's header without the Authentication-Results
// fields that claim our authserv-id (RFC 8601 §5: a forged result must
// not pass as ours), followed by the rest of r unchanged.
func StripForged(r io.Reader, authservID string) io.Reader {
	br := bufio.NewReader(r)
	var out bytes.Buffer
	dropping := false
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			break
		}
		if line == "\r\n" || line == "\n" {
			out.WriteString(line)
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !dropping {
				out.WriteString(line)
			}
			continue
		}
		dropping = false
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Authentication-Results") {
			id := strings.TrimSpace(strings.SplitN(strings.TrimSpace(value), ";", 2)[0])
			if fields := strings.Fields(id); len(fields) > 0 && strings.EqualFold(fields[0], authservID) {
				dropping = true
				continue
			}
		}
		out.WriteString(line)
		if err != nil {
			break
		}
	}
	return io.MultiReader(&out, br)
}
