//go:build e2e

package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestCLIClient drives `letterbox client` (the binary's own mail client)
// against the server over IMAPS and POP3S: list, search by subject, read.
func TestCLIClient(t *testing.T) {
	s := startWithUsers(t)
	m1 := message("Carol <carol@remote.example>", alice, "Quarterly numbers", "the numbers\n")
	m2 := message("Dave <dave@remote.example>", alice, "Lunch plans", "noon?\n")
	s.mustSend(t, alice, m1)
	s.mustSend(t, alice, m2)

	client := func(url string, args ...string) result {
		t.Helper()
		all := append([]string{"client", "--url", url, "--ca", s.certFile()}, args...)
		return mustRun(t, time.Minute, []string{"LETTERBOX_PASSWORD=" + alicePass}, "", letterboxBin, all...)
	}
	for _, url := range []string{
		"imaps://" + strings.ReplaceAll(alice, "@", "%40") + "@127.0.0.1:" + s.port("imaps"),
		"pop3s://" + strings.ReplaceAll(alice, "@", "%40") + "@127.0.0.1:" + s.port("pop3s"),
	} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			r := client(url, "list")
			if !strings.Contains(r.stdout, "Quarterly numbers") || !strings.Contains(r.stdout, "Lunch plans") {
				t.Errorf("client list lacks a subject:\n%s", r)
			}
			r = client(url, "search", "--subject", "quarterly")
			if !strings.Contains(r.stdout, "Quarterly numbers") || strings.Contains(r.stdout, "Lunch plans") {
				t.Errorf("client search --subject quarterly:\n%s", r)
			}
			id := "2"
			r = client(url, "read", id, "--peek", "--raw")
			if got := stripTrace([]byte(r.stdout)); !bytes.Equal(got, m2) && !bytes.Equal(bytes.ReplaceAll(got, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(m2, []byte("\r\n"), []byte("\n"))) {
				t.Errorf("client read %s differs:\n%s", id, diffBytes(m2, got))
			}
		})
	}
}
