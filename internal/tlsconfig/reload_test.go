package tlsconfig

import (
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"
)

// A reload makes new handshakes present the new certificate.
func TestReloadableSwapsCertificate(t *testing.T) {
	dir := t.TempDir()
	certA, keyA := writeTestPair(t, dir, "a", "one.test")
	certB, keyB := writeTestPair(t, dir, "b", "two.test")
	r, err := NewReloadable(Options{CertFile: certA, KeyFile: keyA})
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			tls.Server(server, r.Config()).Handshake()
			server.Close()
		}()
		tc := tls.Client(client, &tls.Config{InsecureSkipVerify: true})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		return tc.ConnectionState().PeerCertificates[0].DNSNames[0]
	}
	if got := served(); got != "one.test" {
		t.Fatalf("before reload: %q", got)
	}
	if err := r.Reload(Options{CertFile: certB, KeyFile: keyB}); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "two.test" || r.Leaf().DNSNames[0] != "two.test" {
		t.Fatalf("after reload: %q", got)
	}
	// A failed reload keeps the current certificate.
	if err := r.Reload(Options{CertFile: certB + ".missing", KeyFile: keyB}); err == nil {
		t.Fatal("reload of a missing file succeeded")
	}
	if got := served(); got != "two.test" {
		t.Fatalf("after a failed reload: %q", got)
	}
}

func writeTestPair(t *testing.T, dir, name, host string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := makeSelfSigned([]string{host}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = dir+"/"+name+".crt", dir+"/"+name+".key"
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
