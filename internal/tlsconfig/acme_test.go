package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// Renewal starts a third of the lifetime (at most 30 days) before expiry,
// or RenewBefore before it, but never before half the lifetime.
func TestACMERenewAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		life, renewBefore, want time.Duration // want: before expiry
	}{
		{90 * day, 0, 30 * day},
		{180 * day, 0, 30 * day},
		{6 * day, 0, 2 * day},
		{90 * day, 10 * day, 10 * day},
		{90 * day, 80 * day, 45 * day},
		{12 * time.Second, 0, 4 * time.Second},
	} {
		a := &ACME{opts: ACMEOptions{RenewBefore: c.renewBefore}}
		leaf := &x509.Certificate{NotBefore: start, NotAfter: start.Add(c.life)}
		if got := leaf.NotAfter.Sub(a.renewAt(leaf)); got != c.want {
			t.Errorf("lifetime %v, renew_before %v: renews %v before expiry, want %v", c.life, c.renewBefore, got, c.want)
		}
	}
}

// Only a ClientHello offering exactly acme-tls/1 gets the validation
// certificate (RFC 8737 §3); a mail client offering its own ALPN, or none,
// gets the server certificate, and a validation without a pending
// challenge gets no acme-tls/1.
func TestTLSALPNChallengeHandshake(t *testing.T) {
	dir := t.TempDir()
	r, err := NewReloadable(Options{DataDir: dir, Hostnames: []string{"mail.test"}})
	if err != nil {
		t.Fatal(err)
	}
	client := &acme.Client{Key: mustKey(t)}
	chal, err := client.TLSALPN01ChallengeCert("token", "mail.test")
	if err != nil {
		t.Fatal(err)
	}
	pending := map[string]*tls.Certificate{"mail.test": &chal}
	r.setChallenge(func(name string) *tls.Certificate { return pending[name] })
	serverLeaf := r.Leaf()
	handshake := func(name string, protos ...string) (*x509.Certificate, string) {
		t.Helper()
		cs, ss := net.Pipe()
		defer cs.Close()
		go func() {
			tls.Server(ss, r.Config()).Handshake()
			ss.Close()
		}()
		c := tls.Client(cs, &tls.Config{InsecureSkipVerify: true, ServerName: name, NextProtos: protos})
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.Handshake(); err != nil {
			t.Fatalf("handshake %s %v: %v", name, protos, err)
		}
		st := c.ConnectionState()
		return st.PeerCertificates[0], st.NegotiatedProtocol
	}
	if leaf, proto := handshake("mail.test", acme.ALPNProto); proto != acme.ALPNProto || leaf.Equal(serverLeaf) {
		t.Fatalf("validation handshake: protocol %q, server certificate %v", proto, leaf.Equal(serverLeaf))
	}
	for _, protos := range [][]string{nil, {"imap"}, {"h2", acme.ALPNProto}} {
		if leaf, proto := handshake("mail.test", protos...); proto == acme.ALPNProto || !leaf.Equal(serverLeaf) {
			t.Fatalf("client offering %v: protocol %q, server certificate %v", protos, proto, leaf.Equal(serverLeaf))
		}
	}
	if leaf, proto := handshake("other.test", acme.ALPNProto); proto != "" || !leaf.Equal(serverLeaf) {
		t.Fatalf("no pending challenge: protocol %q, server certificate %v", proto, leaf.Equal(serverLeaf))
	}
}

// A stored certificate is used only when its key matches, it is valid now
// and it names every domain.
func TestLoadACMECertificate(t *testing.T) {
	dir := t.TempDir()
	p := ACMEStatePaths(dir, "https://ca.example:14000/dir")
	if p.Dir != dir+"/acme/ca.example_14000" {
		t.Fatalf("state directory %s", p.Dir)
	}
	if _, err := LoadACMECertificate(p, []string{"a.test"}, time.Now()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("nothing stored: %v", err)
	}
	os.MkdirAll(p.Dir, 0o700)
	now := time.Now()
	certPEM, keyPEM, err := makeSelfSigned([]string{"a.test", "b.test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p.Cert, certPEM, 0o644)
	os.WriteFile(p.Key, keyPEM, 0o600)
	if _, err := LoadACMECertificate(p, []string{"a.test", "b.test"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadACMECertificate(p, []string{"a.test", "c.test"}, now); err == nil {
		t.Fatal("a certificate without c.test was used for it")
	}
	if _, err := LoadACMECertificate(p, []string{"a.test"}, now.Add(validity+time.Hour)); err == nil {
		t.Fatal("an expired certificate was used")
	}
	_, otherKey, _ := makeSelfSigned([]string{"a.test"}, now)
	os.WriteFile(p.Key, otherKey, 0o600)
	if _, err := LoadACMECertificate(p, []string{"a.test"}, now); err == nil {
		t.Fatal("a certificate with another key was used")
	}
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
