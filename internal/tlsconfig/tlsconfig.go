// Package tlsconfig builds the server's *tls.Config: from a configured
// certificate and key, or from a self-signed certificate made on first start
// and kept under the data directory.
package tlsconfig

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/atomicfile"
)

// Options say where the certificate comes from.
type Options struct {
	// CertFile and KeyFile are PEM files of a real certificate (chain first
	// leaf) and its key. Both or neither.
	CertFile, KeyFile string
	// DataDir holds the self-signed certificate (DataDir/tls/cert.pem and
	// key.pem) used when no CertFile is configured.
	DataDir string
	// Hostnames go into the self-signed certificate's SANs, besides
	// "localhost", 127.0.0.1 and ::1. Entries that parse as IP addresses
	// become IP SANs.
	Hostnames []string
	// Now is the clock for certificate validity. Nil: time.Now.
	Now func() time.Time
}

// SelfSignedPaths returns where the self-signed certificate and key of a
// data directory live.
func SelfSignedPaths(dataDir string) (certFile, keyFile string) {
	dir := filepath.Join(dataDir, "tls")
	return filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
}

// Load returns a server TLS configuration with TLS 1.2 as the floor
// (RFC 8996 deprecates 1.0 and 1.1). Without CertFile/KeyFile it loads the
// self-signed certificate under DataDir, making it first if it is missing,
// expiring within renewBefore, or does not cover Hostnames.
func Load(opts Options) (*tls.Config, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var cert tls.Certificate
	var err error
	switch {
	case opts.CertFile != "" && opts.KeyFile != "":
		cert, err = tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: loading certificate %s and key %s: %w", opts.CertFile, opts.KeyFile, err)
		}
	case opts.CertFile != "" || opts.KeyFile != "":
		return nil, errors.New("tls: cert_file and key_file must be set together")
	case opts.DataDir == "":
		return nil, errors.New("tls: no certificate configured and no data directory for a self-signed one")
	default:
		cert, err = loadOrMakeSelfSigned(opts.DataDir, opts.Hostnames, now())
		if err != nil {
			return nil, err
		}
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: parsing certificate: %w", err)
		}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}, nil
}

// Fingerprint is the SHA-256 of a certificate's DER encoding, as
// colon-separated hex: what a user compares or pins when accepting a
// self-signed certificate.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func loadOrMakeSelfSigned(dataDir string, hostnames []string, now time.Time) (tls.Certificate, error) {
	certFile, keyFile := SelfSignedPaths(dataDir)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	switch {
	case err == nil:
		leaf, perr := x509.ParseCertificate(cert.Certificate[0])
		if perr == nil && stillGood(leaf, hostnames, now) {
			cert.Leaf = leaf
			return cert, nil
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		// A damaged pair (say, a crash between the two writes on a
		// filesystem without atomic rename) is replaced, never half used.
	}
	certPEM, keyPEM, err := makeSelfSigned(hostnames, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: %w", err)
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// stillGood reports whether a stored self-signed certificate can be kept:
// not close to expiry and naming every configured host.
func stillGood(leaf *x509.Certificate, hostnames []string, now time.Time) bool {
	if now.Add(renewBefore).After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return false
	}
	for _, h := range hostnames {
		if h != "" && leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writeFileAtomic replaces name with data (internal/atomicfile), with
// errors that say they come from the TLS setup.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	if err := atomicfile.Write(name, data, perm); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}
