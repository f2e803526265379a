package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"sync"
)

// Reloadable is a server TLS configuration whose certificate can be
// replaced while connections are served (SIGHUP after a renewal): new
// handshakes take the new certificate, established connections keep
// theirs.
type Reloadable struct {
	mu   sync.RWMutex
	cert *tls.Certificate
	cfg  *tls.Config
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
		return r.cert, nil
	}
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
	return r.cert.Leaf
}
