package outbound

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
)

// tlsSummary is what a test expects of one domain's TLS-RPT report:
// policy type → successes and failures by result type.
type tlsSummary struct {
	typ      string
	success  int
	failures map[string]int
}

// checkTLSReport builds today's report of domain from the worker's
// records and compares it with want (every policy of the report).
func checkTLSReport(t *testing.T, dir, domain string, want ...tlsSummary) TLSReport {
	t.Helper()
	rep, err := BuildTLSReport(dir, domain, time.Now(), "mail.example.com", "mailto:postmaster@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var got []tlsSummary
	for _, p := range rep.Policies {
		s := tlsSummary{typ: p.Policy.Type, success: p.Summary.Successful, failures: map[string]int{}}
		n := 0
		for _, f := range p.FailureDetails {
			s.failures[f.ResultType] += f.Count
			n += f.Count
		}
		if n != p.Summary.Failed {
			t.Errorf("%s: %d failures in the details, %d in the summary", domain, n, p.Summary.Failed)
		}
		got = append(got, s)
	}
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		w := want[i]
		if w.failures == nil {
			w.failures = map[string]int{}
		}
		same = got[i].typ == w.typ && got[i].success == w.success && len(got[i].failures) == len(w.failures)
		for k, v := range w.failures {
			same = same && got[i].failures[k] == v
		}
	}
	if !same {
		t.Errorf("%s: TLS-RPT %+v, want %+v", domain, got, want)
	}
	return rep
}

// The report's JSON has RFC 8460 §4.4's field names.
func TestTLSReportFormat(t *testing.T) {
	dir := t.TempDir()
	r := &tlsRecorder{dir: dir}
	now := time.Now()
	pol := []string{"version: STSv1", "mode: enforce", "mx: mx.a.test", "max_age: 60"}
	for _, res := range []string{"success", "success", "certificate-expired"} {
		if err := r.record(tlsEvent{Time: now, Domain: "a.test", PolicyType: "sts", PolicyString: pol, PolicyMX: []string{"mx.a.test"},
			Result: res, SendingIP: "192.0.2.1", MX: "mx.a.test", ReceivingIP: "192.0.2.2"}); err != nil {
			t.Fatal(err)
		}
	}
	r.record(tlsEvent{Time: now, Domain: "b.test", PolicyType: "no-policy-found", Result: "success"})
	rep := checkTLSReport(t, dir, "A.test.", tlsSummary{typ: "sts", success: 2, failures: map[string]int{"certificate-expired": 1}})
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"organization-name":"mail.example.com"`, `"date-range":{"start-datetime":"`, `"end-datetime":"`,
		`"contact-info":"mailto:postmaster@example.com"`, `"report-id":"`, `"policy-type":"sts"`, `"policy-string":["version: STSv1",`,
		`"policy-domain":"a.test"`, `"mx-host":["mx.a.test"]`, `"total-successful-session-count":2`, `"total-failure-session-count":1`,
		`"result-type":"certificate-expired"`, `"sending-mta-ip":"192.0.2.1"`, `"receiving-mx-hostname":"mx.a.test"`,
		`"receiving-ip":"192.0.2.2"`, `"failed-session-count":1`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %s:\n%s", want, data)
		}
	}
	if !slices.Equal(rep.Policies[0].Policy.String, pol) {
		t.Errorf("policy string %v", rep.Policies[0].Policy.String)
	}
	if rep, _ := BuildTLSReport(dir, "a.test", now.Add(-48*time.Hour), "x", "y"); len(rep.Policies) != 0 {
		t.Errorf("another day: %+v", rep.Policies)
	}
	// A day's first record prunes files older than tlsKeepDays.
	r2 := &tlsRecorder{dir: dir}
	r2.record(tlsEvent{Time: now.AddDate(0, 0, -40), Domain: "a.test", Result: "success"})
	r2.record(tlsEvent{Time: now.AddDate(0, 0, -10), Domain: "a.test", Result: "success"})
	r2.record(tlsEvent{Time: now, Domain: "a.test", Result: "success"})
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) != 2 {
		t.Errorf("files after pruning: %v", files)
	}
}

// RFC 8460 §3: the rua mailto: addresses of the one v=TLSRPTv1 record.
func TestTLSRPTAddresses(t *testing.T) {
	d := newTestDNS(t)
	d.add(t, `_smtp._tls.a.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tls%2Breports@a.test,https://r.a.test/tls, mailto:second@b.test?subject=x"`,
		`_smtp._tls.a.test. 60 IN TXT "v=spf1 -all"`,
		`_smtp._tls.two.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:x@two.test"`,
		`_smtp._tls.two.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:y@two.test"`,
		`_smtp._tls.https.test. 60 IN TXT "v=TLSRPTv1; rua=https://r.https.test/"`)
	o := Options{DNSServer: d.addr}.withDefaults()
	got, err := TLSRPTAddresses(context.Background(), o.Resolver, "a.test.")
	if err != nil || strings.Join(got, ",") != "tls+reports@a.test,second@b.test" {
		t.Errorf("a.test: %v %v", got, err)
	}
	for _, bad := range []string{"two.test", "https.test", "none.test"} {
		if got, err := TLSRPTAddresses(context.Background(), o.Resolver, bad); err == nil {
			t.Errorf("%s: %v", bad, got)
		}
	}
}

// RFC 8460 §5.3: the report mail is a multipart/report of report-type
// tlsrpt with the TLS-Report-Domain/-Submitter fields, the §5.3 subject
// and the gzipped JSON as application/tlsrpt+gzip named per §5.1.
func TestTLSReportMessage(t *testing.T) {
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	(&tlsRecorder{dir: dir}).record(tlsEvent{Time: day.Add(time.Hour), Domain: "a.test", PolicyType: "no-policy-found", Result: "success"})
	rep, err := BuildTLSReport(dir, "a.test", day, "mail.example.com", "mailto:postmaster@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := TLSReportMessage(rep, "a.test", "postmaster@example.com", []string{"r@a.test"}, day.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e, err := gomessage.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := e.Header.ContentType()
	if mt != "multipart/report" || params["report-type"] != "tlsrpt" || e.Header.Get("TLS-Report-Domain") != "a.test" ||
		e.Header.Get("TLS-Report-Submitter") != "mail.example.com" ||
		e.Header.Get("Subject") != "Report Domain: a.test Submitter: mail.example.com Report-ID: <"+rep.ReportID+">" {
		t.Fatalf("header:\n%s", msg)
	}
	mr := e.MultipartReader()
	var found bool
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pt, _, _ := p.Header.ContentType(); pt != "application/tlsrpt+gzip" {
			continue
		}
		found = true
		if _, dp, _ := p.Header.ContentDisposition(); dp["filename"] != "mail.example.com!a.test!1772582400!1772668799.json.gz" {
			t.Errorf("file name %q", dp["filename"])
		}
		zr, err := gzip.NewReader(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		var back TLSReport
		if err := json.NewDecoder(zr).Decode(&back); err != nil || back.ReportID != rep.ReportID || len(back.Policies) != 1 || back.Policies[0].Summary.Successful != 1 {
			t.Errorf("report in the mail: %+v %v", back, err)
		}
	}
	if !found {
		t.Errorf("no application/tlsrpt+gzip part:\n%s", msg)
	}
}
