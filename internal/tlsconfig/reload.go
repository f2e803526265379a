package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"sync"

	"golang.org/x/crypto/acme"
)

// Reloadable is a server TLS configuration whose certificate can be
// replaced while connections are served (SIGHUP after a renewal, or an ACME
// issuance): new handshakes take the new certificate, established
// connections keep theirs.
type Reloadable struct {
	mu   sync.RWMutex
	cert *tls.Certificate // from the files, or self-signed
	// issued, when set, is served instead of cert: the certificate an
	// ACME CA issued (acme.go). cert stays the fallback.
	issued *tls.Certificate
	// challenge answers a TLS-ALPN-01 validation handshake (RFC 8737 §3)
	// with the certificate for the SNI name, nil when none is pending.
	challenge func(serverName string) *tls.Certificate
	cfg       *tls.Config
}

// NewReloadable loads the certificate as Load does.
func NewReloadable(opts Options) (*Reloadable, error) {
	cfg, err := Load(opts)
	if err != nil {
		return nil, err
	}
	r := &Reloadable{cert: &cfg.Certificates[0]}
	// crypto/tls calls GetCertificate only when Certificates is empty (or
	// the client sent SNI).
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		r.mu.RLock()
		defer r.mu.RUnlock()
		if r.issued != nil {
			return r.issued, nil
		}
		return r.cert, nil
	}
	cfg.GetConfigForClient = r.configForClient
	r.cfg = cfg
	return r, nil
}

// Config is the *tls.Config to hand to the servers.
func (r *Reloadable) Config() *tls.Config { return r.cfg }

// Reload loads the certificate again with opts (new files, or the same
// files rewritten). On error the current certificate stays.
func (r *Reloadable) Reload(opts Options) error {
	cfg, err := Load(opts)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.cert = &cfg.Certificates[0]
	r.mu.Unlock()
	return nil
}

// Leaf is the certificate new handshakes present.
func (r *Reloadable) Leaf() *x509.Certificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.issued != nil {
		return r.issued.Leaf
	}
	return r.cert.Leaf
}

// setIssued makes new handshakes present cert (its Leaf parsed).
func (r *Reloadable) setIssued(cert *tls.Certificate) {
	r.mu.Lock()
	r.issued = cert
	r.mu.Unlock()
}

func (r *Reloadable) setChallenge(f func(serverName string) *tls.Certificate) {
	r.mu.Lock()
	r.challenge = f
	r.mu.Unlock()
}

// configForClient answers an ACME TLS-ALPN-01 validation: a ClientHello
// offering only the "acme-tls/1" protocol (RFC 8737 §3) gets the
// validation certificate for its SNI name and that protocol. Every other
// hello gets the main configuration, whose NextProtos stay empty so a mail
// client offering ALPN "imap" is not refused (crypto/tls refuses a client
// whose protocols do not overlap a non-empty list).
func (r *Reloadable) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if !slices.Equal(hello.SupportedProtos, []string{acme.ALPNProto}) {
		return nil, nil
	}
	r.mu.RLock()
	f := r.challenge
	r.mu.RUnlock()
	if f == nil {
		return nil, nil
	}
	cert := f(hello.ServerName)
	if cert == nil {
		return nil, nil
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{acme.ALPNProto},
		Certificates: []tls.Certificate{*cert},
	}, nil
}
