//go:build e2e

package e2e

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP: a new certificate is used by the next handshake without a
// restart, the log level changes, and a changed key that needs a restart
// is named in the log; sessions keep running.
func TestSIGHUPReload(t *testing.T) {
	s := startWithUsers(t)
	c := s.dialIMAPS(t, alice, alicePass) // a session across the reload
	defer c.Close()
	before := servedCert(t, s.addr("imaps"))

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "new.crt"), filepath.Join(dir, "new.key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=reloaded.test",
		"-addext", "subjectAltName=DNS:reloaded.test").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl (Debian package openssl): %v\n%s", err, out)
	}
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), `cert_file = ""`, `cert_file = "`+certFile+`"`, 1)
	text = strings.Replace(text, `key_file = ""`, `key_file = "`+keyFile+`"`, 1)
	text = strings.Replace(text, `level = "info"`, `level = "debug"`, 1)
	text = strings.Replace(text, `idle_timeout = "30m"`, `idle_timeout = "31m"`, 1)
	if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.log.String(), "SIGHUP: reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload in the log:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	log := s.log.String()
	if !strings.Contains(log, "log.level") || !strings.Contains(log, "imap.idle_timeout") || !strings.Contains(log, "after a restart") {
		t.Errorf("reload log does not name the applied and restart keys:\n%s", log)
	}
	after := servedCert(t, s.addr("imaps"))
	if after == before || after != "reloaded.test" {
		t.Fatalf("certificate after reload %q (before %q), want reloaded.test", after, before)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("session across the reload: %v", err)
	}
}

// servedCert is the first DNS name of the certificate addr presents.
func servedCert(t *testing.T, addr string) string {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	return tc.ConnectionState().PeerCertificates[0].DNSNames[0]
}
