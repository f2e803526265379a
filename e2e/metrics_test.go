//go:build e2e

package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// [listen] metrics serves Prometheus counters of logins (by result),
// connections, commands and deliveries of the running server, the change
// feed's lag to an idling session, and the outbound queue: messages by
// state, the oldest one's age, attempts by result and DSNs.
func TestMetricsEndpoint(t *testing.T) {
	var port, deadSMTP int // picked inside the config edit, clear of its listeners
	d := startDNS(t)
	// later.example's MX refuses connections (deferred); gone.example does
	// not exist (failed at once, and a bounce).
	d.add(t, "later.example. 60 IN MX 10 mx.later.example.", "mx.later.example. 60 IN A 127.0.0.1")
	s := startServerWith(t, func(cfg string) string {
		// Ports freed by freePorts may come back for the server's own
		// listeners: take two that the configuration does not name.
		ports := freePortsNotIn(t, 2, cfg)
		port, deadSMTP = ports[0], ports[1]
		cfg = regexp.MustCompile(`(?m)^metrics = .*$`).ReplaceAllString(cfg, fmt.Sprintf(`metrics = "127.0.0.1:%d"`, port))
		cfg = regexp.MustCompile(`(?m)^dns_server = .*$`).ReplaceAllString(cfg, `dns_server = "`+d.addr+`"`)
		return regexp.MustCompile(`(?m)^port = 25$`).ReplaceAllString(cfg, "port = "+strconv.Itoa(deadSMTP))
	})
	s.addUser(alice, alicePass)

	if _, err := dialIMAPSNoLogin(t, s).Login(alice, "wrong password").Wait(), error(nil); err != nil {
		t.Fatal(err)
	}
	// An IMAP session in IDLE hears the SMTP delivery: one feed-lag sample.
	idle, err := tls.Dial("tcp", s.addr("imaps"), s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(20 * time.Second))
	ir := bufio.NewReader(idle)
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := ir.ReadString('\n')
			if err != nil {
				t.Fatalf("IMAP: waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	expect("* OK")
	fmt.Fprintf(idle, "a LOGIN %q %q\r\nb SELECT INBOX\r\nc IDLE\r\n", alice, alicePass)
	expect("b OK")
	expect("+ ")
	if err := sendSMTP(s.addr("smtp"), "someone@remote.example", []string{alice}, []byte("Subject: counted\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	expect("* 1 EXISTS")
	fmt.Fprintf(idle, "DONE\r\nd LOGOUT\r\n")
	expect("c OK")

	// One JMAP call (plain HTTP on loopback, as allow_plaintext_auth's
	// default permits).
	req, _ := http.NewRequest("POST", "http://"+s.addr("jmap")+"/jmap/", strings.NewReader(
		`{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"x":1},"c1"]]}`))
	req.SetBasicAuth(alice, alicePass)
	req.Header.Set("Content-Type", "application/json")
	jr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	jr.Body.Close()
	if jr.StatusCode != 200 {
		t.Fatalf("JMAP Core/echo: %s", jr.Status)
	}

	scrape := func() string {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(body)
	}
	text := scrape()
	for _, want := range []string{
		`letterbox_logins_total{protocol="imap",result="ok"} 1`,
		`letterbox_logins_total{protocol="imap",result="fail"} 1`,
		`letterbox_deliveries_total{protocol="smtp",result="ok"} 1`,
		`letterbox_command_duration_seconds_count{command="LOGIN",protocol="imap"} 2`,
		`letterbox_delivered_bytes_total{protocol="smtp"}`,
		`letterbox_command_duration_seconds_count{command="Core/echo",protocol="jmap"} 1`,
		`letterbox_logins_total{protocol="jmap",result="ok"} 1`,
		`letterbox_store_messages 1`,
		`letterbox_accounts 1`,
		`go_goroutines`,
		`letterbox_feed_lag_seconds_count{protocol="imap"} 1`,
		`letterbox_outbound_queue_messages{state="new"} 0`,
		`letterbox_outbound_queue_messages{state="deferred"} 0`,
		"\nletterbox_outbound_queue_oldest_seconds 0\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The harness's start-up probes connect too: at least our two.
	m := regexp.MustCompile(`letterbox_connections_total\{protocol="imap"\} (\d+)`).FindStringSubmatch(text)
	if n := 0; m == nil {
		t.Errorf("no IMAP connection count")
	} else if n, _ = strconv.Atoi(m[1]); n < 2 {
		t.Errorf("%d IMAP connections counted, want at least 2", n)
	}
	if strings.Contains(text, "letterbox_outbound_attempts_total{") {
		t.Errorf("outbound attempts counted before any submission")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}

	// One message to a recipient whose MX refuses (deferred, stays queued)
	// and one whose domain does not exist (failed, bounced to alice).
	s.submit(t, alice, alicePass, []string{"bob@later.example", "carol@gone.example"}, []byte("Subject: out\r\n\r\nbody\r\n"))
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(text, `letterbox_outbound_dsn_total{action="failed"} 1`) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		text = scrape()
	}
	for _, want := range []string{
		`letterbox_outbound_attempts_total{result="deferred"} 1`,
		`letterbox_outbound_attempts_total{result="failed"} 1`,
		`letterbox_outbound_dsn_total{action="failed"} 1`,
		`letterbox_outbound_queue_messages{state="new"} 0`,
		`letterbox_outbound_queue_messages{state="deferred"} 1`,
		`letterbox_outbound_queue_recipients{state="pending"} 1`,
		`letterbox_outbound_queue_recipients{state="failed"} 1`,
		`letterbox_store_messages 2`, // the bounce in alice's INBOX
	} {
		if !strings.Contains(text, want) {
			t.Errorf("after the submission, metrics lack %q", want)
		}
	}
	if m := regexp.MustCompile(`(?m)^letterbox_outbound_queue_oldest_seconds (\S+)$`).FindStringSubmatch(text); m == nil {
		t.Errorf("no oldest-message age")
	} else if age, _ := strconv.ParseFloat(m[1], 64); age <= 0 || age > 60 {
		t.Errorf("oldest queued message %v s old", age)
	}
	if t.Failed() {
		t.Logf("metrics after the submission:\n%s", text)
	}
}
