package outbound

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// TLS-RPT (RFC 8460): every connection attempt to a recipient domain's
// MX hosts is recorded with the policy that applied (MTA-STS "sts", DANE
// "tlsa" or "no-policy-found") and its result: a success, or a failure
// with its result type (§4.3). Records are JSON lines, one file per UTC
// day, under the TLS-RPT directory (DATA/tls-rpt); TLSReport aggregates a
// day of one domain into the report format of §4.4, which
// `letterbox queue tls-report DOMAIN` prints, or, with --send, mails to
// the domain's rua addresses through the outbound queue (TLSReportMessage;
// run it daily from cron or a systemd timer: the server does not send
// reports by itself).

// tlsEvent is one recorded session (or policy failure).
type tlsEvent struct {
	Time         time.Time `json:"time"`
	Domain       string    `json:"domain"`
	PolicyType   string    `json:"policy-type"`   // sts, tlsa, no-policy-found
	PolicyString []string  `json:"policy-string"` // the policy text or TLSA records
	PolicyMX     []string  `json:"mx-host,omitempty"`
	Result       string    `json:"result"` // "success" or an RFC 8460 result type
	SendingIP    string    `json:"sending-mta-ip,omitempty"`
	MX           string    `json:"receiving-mx-hostname,omitempty"`
	ReceivingIP  string    `json:"receiving-ip,omitempty"`
	Reason       string    `json:"failure-reason-code,omitempty"`
}

// tlsRecorder appends events to the day's file. Recording is best effort
// (a write error is logged, mail goes on) and not fsynced: a crash may
// lose the last sessions' counts, never mail.
type tlsRecorder struct {
	dir string
	mu  sync.Mutex
	day string // the file last written; a new day prunes old files
}

// tlsKeepDays is how long daily files are kept.
const tlsKeepDays = 31

func (r *tlsRecorder) record(ev tlsEvent) error {
	if r == nil || r.dir == "" {
		return nil
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return err
	}
	day := ev.Time.UTC().Format(time.DateOnly)
	if day != r.day {
		r.day = day
		r.prune(ev.Time)
	}
	f, err := os.OpenFile(filepath.Join(r.dir, day+".jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// prune removes the files of days more than tlsKeepDays before now.
func (r *tlsRecorder) prune(now time.Time) {
	old := now.UTC().AddDate(0, 0, -tlsKeepDays).Format(time.DateOnly)
	files, _ := filepath.Glob(filepath.Join(r.dir, "*.jsonl"))
	for _, f := range files {
		if day := strings.TrimSuffix(filepath.Base(f), ".jsonl"); len(day) == len(old) && day < old {
			os.Remove(f)
		}
	}
}

// policyOf describes the policy of a hop for TLS-RPT (§4.4): DANE's TLSA
// records, MTA-STS's policy, or none.
func policyOf(h hop) (typ string, text, mx []string) {
	switch {
	case h.sec.dane:
		for _, t := range h.sec.tlsa {
			text = append(text, fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, t.Certificate))
		}
		return "tlsa", text, nil
	case h.sec.sts != nil:
		return "sts", h.sec.sts.Text, h.sec.sts.MX
	}
	return "no-policy-found", nil, nil
}

// report records one session or failure for domain; h may be the zero
// hop (a failure before any host was chosen).
func (w *Worker) report(domain string, h hop, ip, result, reason string, local string) {
	typ, text, mx := policyOf(h)
	ev := tlsEvent{Time: w.opts.Now(), Domain: domain, PolicyType: typ, PolicyString: text, PolicyMX: mx,
		Result: result, SendingIP: local, MX: h.name, ReceivingIP: ip, Reason: oneLine(reason)}
	if err := w.tlsrpt.record(ev); err != nil {
		w.opts.Logger.Warn("outbound: recording a TLS-RPT result", "domain", domain, "err", err)
	}
}

// reportPolicyFailure records a failure of policy discovery itself
// (sts-policy-fetch-error, dnssec-invalid, …): no session was made.
func (w *Worker) reportPolicyFailure(domain, policyType, result string, mx, ip string, err error) {
	ev := tlsEvent{Time: w.opts.Now(), Domain: domain, PolicyType: policyType, Result: result, MX: mx, ReceivingIP: ip}
	if err != nil {
		ev.Reason = oneLine(err.Error())
	}
	if rerr := w.tlsrpt.record(ev); rerr != nil {
		w.opts.Logger.Warn("outbound: recording a TLS-RPT result", "domain", domain, "err", rerr)
	}
}

// TLSReport is an aggregate report (RFC 8460 §4.4).
type TLSReport struct {
	OrganizationName string         `json:"organization-name"`
	DateRange        TLSReportRange `json:"date-range"`
	ContactInfo      string         `json:"contact-info"`
	ReportID         string         `json:"report-id"`
	Policies         []TLSPolicy    `json:"policies"`
}

// TLSReportRange is the report's period.
type TLSReportRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// TLSPolicy is one policy's results.
type TLSPolicy struct {
	Policy struct {
		Type   string   `json:"policy-type"`
		String []string `json:"policy-string,omitempty"`
		Domain string   `json:"policy-domain"`
		MX     []string `json:"mx-host,omitempty"`
	} `json:"policy"`
	Summary struct {
		Successful int `json:"total-successful-session-count"`
		Failed     int `json:"total-failure-session-count"`
	} `json:"summary"`
	FailureDetails []TLSFailure `json:"failure-details,omitempty"`
}

// TLSFailure counts failed sessions of one kind.
type TLSFailure struct {
	ResultType  string `json:"result-type"`
	SendingIP   string `json:"sending-mta-ip,omitempty"`
	MX          string `json:"receiving-mx-hostname,omitempty"`
	ReceivingIP string `json:"receiving-ip,omitempty"`
	Count       int    `json:"failed-session-count"`
	Reason      string `json:"failure-reason-code,omitempty"`
}

// BuildTLSReport aggregates the sessions recorded under dir for domain
// on the UTC day of day. org names the reporting organization (our host
// name) and contact how to reach it.
func BuildTLSReport(dir, domain string, day time.Time, org, contact string) (TLSReport, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	start := day.UTC().Truncate(24 * time.Hour)
	rep := TLSReport{
		OrganizationName: org, ContactInfo: contact,
		DateRange: TLSReportRange{Start: start, End: start.Add(24*time.Hour - time.Second)},
		ReportID:  start.Format(time.DateOnly) + "_" + domain + "@" + org,
		Policies:  []TLSPolicy{},
	}
	f, err := os.Open(filepath.Join(dir, start.Format(time.DateOnly)+".jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	defer f.Close()
	index := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev tlsEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Domain != domain {
			continue // a torn last line after a crash, or another domain
		}
		key := ev.PolicyType + "\x00" + strings.Join(ev.PolicyString, "\n")
		i, ok := index[key]
		if !ok {
			var p TLSPolicy
			p.Policy.Type, p.Policy.String, p.Policy.Domain, p.Policy.MX = ev.PolicyType, ev.PolicyString, domain, ev.PolicyMX
			rep.Policies = append(rep.Policies, p)
			i = len(rep.Policies) - 1
			index[key] = i
		}
		p := &rep.Policies[i]
		if ev.Result == "success" {
			p.Summary.Successful++
			continue
		}
		p.Summary.Failed++
		j := slices.IndexFunc(p.FailureDetails, func(d TLSFailure) bool {
			return d.ResultType == ev.Result && d.SendingIP == ev.SendingIP && d.MX == ev.MX && d.ReceivingIP == ev.ReceivingIP
		})
		if j < 0 {
			p.FailureDetails = append(p.FailureDetails, TLSFailure{ResultType: ev.Result, SendingIP: ev.SendingIP,
				MX: ev.MX, ReceivingIP: ev.ReceivingIP, Reason: ev.Reason})
			j = len(p.FailureDetails) - 1
		}
		p.FailureDetails[j].Count++
	}
	return rep, sc.Err()
}

// oneLine keeps a failure reason on one short line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// TLSRPTAddresses returns the mailto: addresses of domain's TLS-RPT
// record (RFC 8460 §3): the one TXT record at _smtp._tls.DOMAIN that
// starts with "v=TLSRPTv1", its rua= URIs separated by commas; https:
// URIs are left out (we only mail reports).
func TLSRPTAddresses(ctx context.Context, r *net.Resolver, domain string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, "_smtp._tls."+strings.TrimSuffix(domain, "."))
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if rest, ok := strings.CutPrefix(t, "v=TLSRPTv1"); ok && (rest == "" || rest[0] == ';' || rest[0] == ' ') {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("%s has %d TLS-RPT records, want 1", domain, len(recs))
	}
	var out []string
	for _, f := range strings.Split(recs[0], ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || strings.TrimSpace(k) != "rua" {
			continue
		}
		for _, u := range strings.Split(v, ",") {
			u = strings.TrimSpace(u)
			if len(u) <= 7 || !strings.EqualFold(u[:7], "mailto:") {
				continue
			}
			addr, _, _ := strings.Cut(u[7:], "?")
			if dec, err := url.PathUnescape(addr); err == nil && strings.Contains(dec, "@") {
				out = append(out, dec)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the TLS-RPT record of %s names no mailto: address", domain)
	}
	return out, nil
}

// TLSReportMessage is the report as mail (RFC 8460 §5.3): a
// multipart/report of report-type "tlsrpt" with a short text and the
// gzipped JSON (application/tlsrpt+gzip, named as §5.1 says), with the
// TLS-Report-Domain and TLS-Report-Submitter fields. The outbound worker
// DKIM-signs it on the way out when the sender's domain has keys (§5.3
// requires a signature).
func TLSReportMessage(rep TLSReport, domain, from string, to []string, now time.Time) ([]byte, error) {
	data, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	submitter := rep.OrganizationName
	name := fmt.Sprintf("%s!%s!%d!%d.json.gz", submitter, domain, rep.DateRange.Start.Unix(), rep.DateRange.End.Unix())
	boundary := "tlsrpt-" + strings.ToLower(rand.Text()[:20])
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: <%s>", from)
	w("To: %s", "<"+strings.Join(to, ">, <")+">")
	w("Subject: Report Domain: %s Submitter: %s Report-ID: <%s>", domain, submitter, rep.ReportID)
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>", strings.ToLower(rand.Text()), submitter)
	w("TLS-Report-Domain: %s", domain)
	w("TLS-Report-Submitter: %s", submitter)
	w("Auto-Submitted: auto-generated")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"%s\"", boundary)
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=us-ascii")
	w("")
	w("This is an aggregate TLS report from %s for %s, %s.", submitter, domain, rep.DateRange.Start.Format(time.DateOnly))
	w("")
	w("--%s", boundary)
	w("Content-Type: application/tlsrpt+gzip")
	w("Content-Transfer-Encoding: base64")
	w("Content-Disposition: attachment; filename=\"%s\"", name)
	w("")
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())
	for len(enc) > 76 {
		w("%s", enc[:76])
		enc = enc[76:]
	}
	w("%s", enc)
	w("")
	w("--%s--", boundary)
	return []byte(b.String()), nil
}
