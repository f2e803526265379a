package outbound

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/atomicfile"
)

// MTA-STS (RFC 8461): a recipient domain publishes, over HTTPS with a
// WebPKI certificate, which MX hosts may receive its mail and whether TLS
// with a valid certificate is required; a TXT record at _mta-sts.DOMAIN
// announces the policy and its id, so a sender refetches only when the id
// changes. Policies are cached (durably, as JSON files under the data
// directory) for their max_age and applied even when DNS or the HTTPS
// fetch fails later: that is what defeats an attacker who strips the TXT
// record (§5.1, §10.2).

// STS modes (RFC 8461 §5).
const (
	stsEnforce = "enforce"
	stsTesting = "testing"
	stsNone    = "none"
)

// Limits on the policy fetch.
const (
	stsMaxPolicySize = 64 << 10 // §3.3: senders may limit the body to 64 KB
	stsMaxAge        = 31557600 // §3.2: at most one year
	// DefaultSTSFetchTimeout bounds the HTTPS fetch of a policy (§3.3
	// asks for a timeout; the policy host is often slow or absent).
	DefaultSTSFetchTimeout = 20 * time.Second
)

// stsPolicy is a fetched MTA-STS policy and where it came from.
type stsPolicy struct {
	ID      string    `json:"id"` // the TXT record's id when it was fetched
	Mode    string    `json:"mode"`
	MX      []string  `json:"mx"`
	MaxAge  int64     `json:"max_age"` // seconds
	Fetched time.Time `json:"fetched"`
	// Text is the policy as served (for TLS-RPT's policy-string).
	Text []string `json:"text"`
}

func (p *stsPolicy) expires() time.Time {
	return p.Fetched.Add(time.Duration(p.MaxAge) * time.Second)
}

// matches reports whether host is one of the policy's MX patterns
// (§4.1): an exact name, or "*.suffix" matching exactly one label more
// than suffix. Comparison ignores case and a trailing dot.
func (p *stsPolicy) matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		pat = strings.ToLower(strings.TrimSuffix(pat, "."))
		if suffix, ok := strings.CutPrefix(pat, "*."); ok {
			if label, rest, found := strings.Cut(host, "."); found && label != "" && rest == suffix {
				return true
			}
			continue
		}
		if pat == host {
			return true
		}
	}
	return false
}

// parseSTSRecord picks the policy id from a domain's _mta-sts TXT records
// (§3.1): records not starting with "v=STSv1" are ignored; exactly one
// must remain, with an id of 1 to 32 letters and digits.
func parseSTSRecord(txts []string) (string, error) {
	var recs []string
	for _, t := range txts {
		if rest, ok := strings.CutPrefix(t, "v=STSv1"); ok && (rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t') {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return "", errNoSTSRecord
	case 1:
	default:
		return "", fmt.Errorf("%d MTA-STS TXT records", len(recs))
	}
	id := ""
	for i, f := range strings.Split(recs[0], ";") {
		f = strings.Trim(f, " \t")
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", fmt.Errorf("MTA-STS TXT record: field %q has no value", f)
		}
		if i == 0 {
			continue // v=STSv1
		}
		if k == "id" && id == "" {
			if len(v) < 1 || len(v) > 32 || !isAlnum(v) {
				return "", fmt.Errorf("MTA-STS TXT record: bad id %q", v)
			}
			id = v
		}
	}
	if id == "" {
		return "", errors.New("MTA-STS TXT record without id")
	}
	return id, nil
}

var errNoSTSRecord = errors.New("no MTA-STS TXT record")

func isAlnum(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// parseSTSPolicy parses a policy body (§3.2): "key: value" lines ended by
// LF or CRLF; version STSv1, mode, max_age and (unless mode is none) at
// least one mx are required; unknown keys are extensions and ignored;
// of a repeated key other than mx the first counts.
func parseSTSPolicy(body []byte) (stsPolicy, error) {
	var p stsPolicy
	seen := map[string]bool{}
	version := ""
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return p, fmt.Errorf("policy line %q is not key: value", line)
		}
		k, v = strings.TrimSpace(k), strings.Trim(v, " \t")
		p.Text = append(p.Text, k+": "+v)
		if k != "mx" && seen[k] {
			continue
		}
		seen[k] = true
		switch k {
		case "version":
			version = v
		case "mode":
			p.Mode = v
		case "max_age":
			if v == "" || len(v) > 10 || strings.Trim(v, "0123456789") != "" {
				return p, fmt.Errorf("policy max_age %q is not a number", v)
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			p.MaxAge = min(n, stsMaxAge)
		case "mx":
			if v == "" || strings.ContainsAny(v, " \t") {
				return p, fmt.Errorf("policy mx %q is not a host pattern", v)
			}
			p.MX = append(p.MX, v)
		}
	}
	switch {
	case version != "STSv1":
		return p, fmt.Errorf("policy version %q, want STSv1", version)
	case p.Mode != stsEnforce && p.Mode != stsTesting && p.Mode != stsNone:
		return p, fmt.Errorf("policy mode %q, want enforce, testing or none", p.Mode)
	case !seen["max_age"]:
		return p, errors.New("policy has no max_age")
	case p.Mode != stsNone && len(p.MX) == 0:
		return p, errors.New("policy has no mx")
	}
	return p, nil
}

// stsCache keeps policies by domain: in memory, and in dir as one JSON
// file per domain when dir is set, so a restart keeps them (§5.1: a
// cached policy is applied for its max_age whatever DNS says).
type stsCache struct {
	dir string
	mu  sync.Mutex
	mem map[string]stsPolicy
}

// stsFileName is the cache file of a domain, or "" for a name that is not
// a plain host name (it never becomes a path).
func (c *stsCache) fileName(domain string) string {
	if c.dir == "" || domain == "" || domain[0] == '.' || strings.Trim(domain, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return ""
	}
	return filepath.Join(c.dir, domain+".json")
}

func (c *stsCache) get(domain string) (stsPolicy, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.mem[domain]; ok {
		return p, true
	}
	name := c.fileName(domain)
	if name == "" {
		return stsPolicy{}, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return stsPolicy{}, false
	}
	var p stsPolicy
	if json.Unmarshal(data, &p) != nil {
		return stsPolicy{}, false
	}
	c.mem[domain] = p
	return p, true
}

// put caches p; the file is replaced atomically (write, fsync, rename).
func (c *stsCache) put(domain string, p stsPolicy) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem[domain] = p
	name := c.fileName(domain)
	if name == "" {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return atomicfile.Write(name, data, 0o600)
}

// stsFailure is why no live policy could be had, as a TLS-RPT result type
// (RFC 8460 §4.3.2.3).
type stsFailure struct {
	resultType string // sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid
	err        error
}

func (e *stsFailure) Error() string { return e.err.Error() }

// mtaSTS returns the policy to apply to mail for domain, or nil: a live
// policy when the TXT record names an id we have not cached, else the
// cached one while it has not expired (§5.1), even when the TXT lookup or
// the fetch fails. A policy of mode none is returned too (it ends
// enforcement). fetchErr tells why a fetch failed (for TLS-RPT).
func (w *Worker) mtaSTS(ctx context.Context, domain string) (pol *stsPolicy, fetchErr *stsFailure) {
	now := w.opts.Now()
	cached, have := w.sts.get(domain)
	if have && !now.Before(cached.expires()) {
		have = false
	}
	txts, err := w.opts.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	id := ""
	if err == nil {
		id, err = parseSTSRecord(txts)
	}
	if err != nil {
		// No record, an invalid one, or DNS failing: the cached policy if
		// any (§5.1: "MUST apply that cached policy").
		if have {
			return &cached, nil
		}
		return nil, nil
	}
	if have && cached.ID == id {
		return &cached, nil
	}
	p, ferr := w.fetchSTS(ctx, domain)
	if ferr != nil {
		w.opts.Logger.Info("outbound: MTA-STS policy fetch failed", "domain", domain, "err", ferr.err)
		if have {
			return &cached, ferr
		}
		return nil, ferr
	}
	p.ID, p.Fetched = id, now
	if err := w.sts.put(domain, p); err != nil {
		w.opts.Logger.Warn("outbound: caching MTA-STS policy", "domain", domain, "err", err)
	}
	w.opts.Logger.Info("outbound: MTA-STS policy", "domain", domain, "id", id, "mode", p.Mode, "mx", strings.Join(p.MX, ","), "max_age", p.MaxAge)
	return &p, nil
}

// fetchSTS gets https://mta-sts.DOMAIN/.well-known/mta-sts.txt (§3.3): a
// WebPKI-valid certificate for that name, no redirects, 200 only, a
// text/plain body of at most 64 KB, within the fetch timeout.
func (w *Worker) fetchSTS(ctx context.Context, domain string) (stsPolicy, *stsFailure) {
	host := "mta-sts." + domain
	url := "https://" + host
	if w.opts.STSPort != 0 && w.opts.STSPort != 443 {
		url += ":" + strconv.Itoa(w.opts.STSPort)
	}
	url += "/.well-known/mta-sts.txt"
	ctx, cancel := context.WithTimeout(ctx, w.opts.STSFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return stsPolicy{}, &stsFailure{"sts-policy-fetch-error", err}
	}
	resp, err := w.stsClient.Do(req)
	if err != nil {
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			return stsPolicy{}, &stsFailure{"sts-webpki-invalid", err}
		}
		return stsPolicy{}, &stsFailure{"sts-policy-fetch-error", err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return stsPolicy{}, &stsFailure{"sts-policy-fetch-error", fmt.Errorf("%s: HTTP %s", url, resp.Status)}
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return stsPolicy{}, &stsFailure{"sts-policy-invalid", fmt.Errorf("%s: media type %q, want text/plain", url, resp.Header.Get("Content-Type"))}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, stsMaxPolicySize+1))
	if err != nil {
		return stsPolicy{}, &stsFailure{"sts-policy-fetch-error", err}
	}
	if len(body) > stsMaxPolicySize {
		return stsPolicy{}, &stsFailure{"sts-policy-invalid", fmt.Errorf("%s: policy larger than 64 KB", url)}
	}
	p, err := parseSTSPolicy(body)
	if err != nil {
		return stsPolicy{}, &stsFailure{"sts-policy-invalid", fmt.Errorf("%s: %w", url, err)}
	}
	return p, nil
}

// newSTSClient is the HTTPS client of policy fetches: names resolved by
// our resolver, connections by our dialer, certificates verified against
// RootCAs (the system's when nil), no redirects (§3.3), no proxy.
func newSTSClient(o Options) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: o.STSFetchTimeout,
		MaxIdleConns:        4,
		IdleConnTimeout:     30 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := o.Resolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			var lastErr error
			for _, ip := range ips {
				c, err := o.Dial(ctx, "tcp", net.JoinHostPort(ip.Unmap().String(), port))
				if err == nil {
					return c, nil
				}
				lastErr = err
			}
			if lastErr == nil {
				lastErr = fmt.Errorf("%s has no address", host)
			}
			return nil, lastErr
		},
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is then refused as not 200
		},
	}
}
