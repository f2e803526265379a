//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// [listen] metrics serves Prometheus counters of logins (by result),
// connections, commands and deliveries of the running server.
func TestMetricsEndpoint(t *testing.T) {
	port := freePorts(t, 1)[0]
	s := startServerWith(t, func(cfg string) string {
		return regexp.MustCompile(`(?m)^metrics = .*$`).ReplaceAllString(cfg, fmt.Sprintf(`metrics = "127.0.0.1:%d"`, port))
	})
	s.addUser(alice, alicePass)

	if _, err := dialIMAPSNoLogin(t, s).Login(alice, "wrong password").Wait(), error(nil); err != nil {
		t.Fatal(err)
	}
	c := s.dialIMAPS(t, alice, alicePass)
	c.Close()
	if err := sendSMTP(s.addr("smtp"), "someone@remote.example", []string{alice}, []byte("Subject: counted\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}

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

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
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
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}
