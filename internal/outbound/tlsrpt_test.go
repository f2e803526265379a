package outbound

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
