package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// TestQueueCommands: `letterbox queue` lists, shows, retries and drops
// queued messages; unknown IDs and bad arguments are refused clearly.
func TestQueueCommands(t *testing.T) {
	dir := t.TempDir()
	data := "--data=" + dir
	letterbox(t, "", nil, "queue", "list", data).want(t, 0, `^queue is empty\n$`)
	letterbox(t, "pw\n", nil, "user", "add", data, "alice@example.com").want(t, 0, `created`)
	st, err := sqlite.Open(sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Enqueue(context.Background(), strings.NewReader("Subject: queued one\r\n\r\nbody\r\n"),
		"alice@example.com", "alice@example.com", []string{"bob@remote.test", "carol@remote.test"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(m.ID, 10)
	letterbox(t, "", nil, "queue", "list", data).want(t, 0,
		`(?s)ID +QUEUED.*\n`+id+` +\S+ \S+ +\d+ +<alice@example.com> +bob@remote.test +pending +0 .*\n +carol@remote.test +pending +0`)
	letterbox(t, "", nil, "queue", "show", data, id).want(t, 0,
		`(?s)id: `+id+`\naccount: alice@example.com\nfrom: <alice@example.com>\n.*recipient: bob@remote.test\n  state: pending\n.*headers:\n  Subject: queued one\n$`)
	letterbox(t, "", nil, "queue", "retry", data, "all").want(t, 0, `^1 message\(s\) due now`)
	letterbox(t, "", nil, "queue", "retry", data, id).want(t, 0, `^1 message\(s\) due now`)
	wantErr(t, letterbox(t, "", nil, "queue", "show", data, "999"), 1, `no queued message 999`)
	wantErr(t, letterbox(t, "", nil, "queue", "drop", data, "x"), 2, `"x" is not a queue ID`)
	letterbox(t, "", nil, "queue", "drop", data, id).want(t, 0, `^message `+id+` dropped`)
	letterbox(t, "", nil, "queue", "list", data).want(t, 0, `^queue is empty\n$`)
	wantErr(t, letterbox(t, "", nil, "queue", "drop", data, id), 1, `no queued message `+id)
}

// TestDKIMCommands: `letterbox dkim generate` writes two keys and prints
// their TXT records; a second run needs --replace; `records` prints them
// again.
func TestDKIMCommands(t *testing.T) {
	dir := t.TempDir()
	data := "--data=" + dir
	letterbox(t, "", nil, "dkim", "records", data).want(t, 0, `no DKIM keys`)
	letterbox(t, "", nil, "dkim", "generate", data, "Example.com").want(t, 0,
		`(?s)keys written to .*/dkim/example.com.*\nlb\d{8}e\._domainkey\.example\.com\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/=]{44}"\n`+
			`lb\d{8}r\._domainkey\.example\.com\. IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+" "[A-Za-z0-9+/=]+"\n$`)
	wantErr(t, letterbox(t, "", nil, "dkim", "generate", data, "example.com"), 1, `already has keys`)
	letterbox(t, "", nil, "dkim", "generate", data, "example.com", "--replace").want(t, 0, `k=ed25519`)
	letterbox(t, "", nil, "dkim", "records", data).want(t, 0, `(?s)k=ed25519.*k=rsa`)
	wantErr(t, letterbox(t, "", nil, "dkim", "generate", data), 2, `want a domain`)
}

// wantErr checks a failing command's exit code and standard error.
func wantErr(t *testing.T, r result, code int, stderrRe string) {
	t.Helper()
	if r.code != code || !regexp.MustCompile(stderrRe).MatchString(r.stderr) {
		t.Fatalf("exit %d (want %d), stderr %q (want /%s/)", r.code, code, r.stderr, stderrRe)
	}
}

// TestQueueTLSReport: `letterbox queue tls-report DOMAIN` prints the
// RFC 8460 report of the sessions the worker recorded in DATA/tls-rpt.
func TestQueueTLSReport(t *testing.T) {
	dir := t.TempDir()
	data := "--data=" + dir
	day := "2026-03-04"
	if err := os.MkdirAll(filepath.Join(dir, "tls-rpt"), 0o700); err != nil {
		t.Fatal(err)
	}
	lines := `{"time":"2026-03-04T10:00:00Z","domain":"a.test","policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.a.test","max_age: 60"],"mx-host":["mx.a.test"],"result":"success"}
{"time":"2026-03-04T11:00:00Z","domain":"a.test","policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.a.test","max_age: 60"],"mx-host":["mx.a.test"],"result":"certificate-expired","receiving-mx-hostname":"mx.a.test","receiving-ip":"192.0.2.7"}
{"time":"2026-03-04T12:00:00Z","domain":"b.test","policy-type":"no-policy-found","result":"success"}
`
	if err := os.WriteFile(filepath.Join(dir, "tls-rpt", day+".jsonl"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	letterbox(t, "", nil, "queue", "tls-report", data, "a.test", "--date", day).want(t, 0,
		`(?s)"date-range": \{\s+"start-datetime": "2026-03-04T00:00:00Z",\s+"end-datetime": "2026-03-04T23:59:59Z".*`+
			`"policy-type": "sts".*"policy-domain": "a.test".*"total-successful-session-count": 1,\s+"total-failure-session-count": 1.*`+
			`"result-type": "certificate-expired",.*"receiving-ip": "192.0.2.7",\s+"failed-session-count": 1`)
	letterbox(t, "", nil, "queue", "tls-report", data, "c.test", "--date", day).want(t, 0, `"policies": \[\]`)
	wantErr(t, letterbox(t, "", nil, "queue", "tls-report", data, "a.test", "--date", "someday"), 2, `want YYYY-MM-DD`)
	letterbox(t, "", nil, "queue", "tls-report", data, "a.test", "--date", "yesterday").want(t, 0, `"policies": \[\]`)
	wantErr(t, letterbox(t, "", nil, "queue", "tls-report", data, "a.test", "--send"), 2, `--send needs --from`)
	letterbox(t, "", nil, "queue", "tls-report", data, "c.test", "--date", day, "--send", "--from", "alice@example.com").want(t, 0, `nothing to send`)
	wantErr(t, letterbox(t, "", nil, "queue", "tls-report", data), 2, `want a domain`)
}
