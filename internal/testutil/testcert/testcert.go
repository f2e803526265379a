// Package testcert makes a throwaway self-signed certificate for tests'
// loopback servers (127.0.0.1, localhost, mail.test), in the forms they
// need: a server *tls.Config, PEM for a CA file or for Dovecot, and a
// client pool that trusts it.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"time"
)

// Cert is a self-signed ECDSA P-256 end-entity certificate valid for an
// hour either side of its making.
type Cert struct {
	CertPEM []byte // the certificate: also the CA file a client trusts
	KeyPEM  []byte // PKCS #8 private key
	Server  *tls.Config
	Pool    *x509.CertPool // holds the certificate
}

// New makes a certificate for 127.0.0.1, localhost and mail.test.
func New() (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mail.test"},
		DNSNames:     []string{"mail.test", "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Server:  &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}, MinVersion: tls.VersionTLS12},
		Pool:    pool,
	}, nil
}

// WriteCA writes CertPEM to path (the file a user passes as --ca).
func (c *Cert) WriteCA(path string) error { return os.WriteFile(path, c.CertPEM, 0o644) }
