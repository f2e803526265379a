package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func leafOf(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	if len(cfg.Certificates) != 1 || cfg.Certificates[0].Leaf == nil {
		t.Fatalf("config has %d certificates, leaf parsed: %v", len(cfg.Certificates), len(cfg.Certificates) == 1 && cfg.Certificates[0].Leaf != nil)
	}
	return cfg.Certificates[0].Leaf
}

func TestSelfSignedIsEndEntityServerCert(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load(Options{DataDir: dir, Hostnames: []string{"mail.example.com", "192.0.2.7"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", cfg.MinVersion)
	}
	leaf := leafOf(t, cfg)
	if leaf.IsCA || !leaf.BasicConstraintsValid {
		t.Fatalf("IsCA=%v BasicConstraintsValid=%v; want an end-entity certificate", leaf.IsCA, leaf.BasicConstraintsValid)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("KeyUsage = %v", leaf.KeyUsage)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Fatalf("ExtKeyUsage = %v", leaf.ExtKeyUsage)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("key algorithm %v", leaf.PublicKeyAlgorithm)
	}
	for _, h := range []string{"mail.example.com", "localhost", "127.0.0.1", "::1", "192.0.2.7"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if err := leaf.VerifyHostname("other.example.com"); err == nil {
		t.Error("certificate covers an unrelated name")
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 800*24*time.Hour || d > 826*24*time.Hour {
		t.Errorf("validity %v", d)
	}
	certFile, keyFile := SelfSignedPaths(dir)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	if _, err := os.Stat(certFile); err != nil {
		t.Fatal(err)
	}
	// A client that trusts (pins) this certificate completes a handshake,
	// by name and by address.
	for _, name := range []string{"localhost", "127.0.0.1", "mail.example.com"} {
		handshake(t, cfg, leaf, name, 0)
	}
}

func TestSelfSignedIsReused(t *testing.T) {
	dir := t.TempDir()
	first, err := Load(Options{DataDir: dir, Hostnames: []string{"mail.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Load(Options{DataDir: dir, Hostnames: []string{"mail.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(leafOf(t, first)) != Fingerprint(leafOf(t, second)) {
		t.Fatal("second start made a new certificate")
	}
	// No host names configured: the stored certificate still serves.
	third, err := Load(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(leafOf(t, first)) != Fingerprint(leafOf(t, third)) {
		t.Fatal("start without host names made a new certificate")
	}
}

func TestSelfSignedRenewed(t *testing.T) {
	dir := t.TempDir()
	first, err := Load(Options{DataDir: dir, Hostnames: []string{"a.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	fp := Fingerprint(leafOf(t, first))
	// A new host name is added: the certificate must cover it.
	second, err := Load(Options{DataDir: dir, Hostnames: []string{"a.example.com", "b.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(leafOf(t, second)) == fp {
		t.Fatal("certificate not renewed for a new host name")
	}
	if err := leafOf(t, second).VerifyHostname("b.example.com"); err != nil {
		t.Fatal(err)
	}
	// Close to expiry: renewed.
	later := time.Now().Add(validity - renewBefore + time.Hour)
	third, err := Load(Options{DataDir: dir, Hostnames: []string{"a.example.com"}, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if !leafOf(t, third).NotAfter.After(later.Add(renewBefore)) {
		t.Fatalf("certificate expiring at %v not renewed", leafOf(t, third).NotAfter)
	}
}

func TestDamagedSelfSignedReplaced(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(Options{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	certFile, _ := SelfSignedPaths(dir)
	if err := os.WriteFile(certFile, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{DataDir: dir})
	if err != nil {
		t.Fatalf("damaged pair not replaced: %v", err)
	}
	leafOf(t, cfg)
}

func TestConfiguredCertificate(t *testing.T) {
	// Make a pair in one directory, then configure it by path.
	src := t.TempDir()
	if _, err := Load(Options{DataDir: src, Hostnames: []string{"real.example.com"}}); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := SelfSignedPaths(src)
	data := t.TempDir()
	cfg, err := Load(Options{CertFile: certFile, KeyFile: keyFile, DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if err := leafOf(t, cfg).VerifyHostname("real.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "tls")); !os.IsNotExist(err) {
		t.Fatalf("self-signed certificate made although one is configured: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]Options{
		"cert without key": {CertFile: filepath.Join(dir, "c.pem"), DataDir: dir},
		"key without cert": {KeyFile: filepath.Join(dir, "k.pem"), DataDir: dir},
		"missing files":    {CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")},
		"nothing":          {},
	}
	for name, opts := range tests {
		if _, err := Load(opts); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "tls: ") {
			t.Errorf("%s: error %q lacks context", name, err)
		}
	}
}

func TestTLS11Refused(t *testing.T) {
	cfg, err := Load(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, cfg, leafOf(t, cfg), "localhost", tls.VersionTLS11)
}

func TestFingerprint(t *testing.T) {
	cfg, err := Load(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fp := Fingerprint(leafOf(t, cfg))
	if len(fp) != 32*3-1 || strings.Count(fp, ":") != 31 || strings.ToUpper(fp) != fp {
		t.Fatalf("fingerprint %q", fp)
	}
}

// handshake connects a client trusting only leaf. With maxVersion 0 it must
// succeed; otherwise the client is capped at maxVersion and must fail.
func handshake(t *testing.T, server *tls.Config, leaf *x509.Certificate, serverName string, maxVersion uint16) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		c.Close()
	}()
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := tls.Client(conn, &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS10, MaxVersion: maxVersion})
	err = c.Handshake()
	if maxVersion == 0 && err != nil {
		t.Fatalf("handshake as %s: %v", serverName, err)
	}
	if maxVersion != 0 && err == nil {
		t.Fatalf("handshake with TLS version %x succeeded", maxVersion)
	}
}
