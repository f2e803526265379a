package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/tlsconfig"
)

// acmeOptions turns the [tls] acme keys into the manager's options:
// HTTP-01 when listen.acme_http is set, TLS-ALPN-01 when the HTTPS (JMAP)
// listener is.
func acmeOptions(cfg config.Config, dataDir string, log *slog.Logger) tlsconfig.ACMEOptions {
	return tlsconfig.ACMEOptions{
		Domains:         cfg.ACMEDomainNames(),
		Email:           cfg.TLS.ACMEEmail,
		DirectoryURL:    cfg.TLS.ACMEDirectory,
		DirectoryCAFile: cfg.TLS.ACMEDirectoryCA,
		DataDir:         dataDir,
		RenewBefore:     cfg.TLS.ACMERenewBefore,
		HTTP01:          cfg.Listen.ACMEHTTP != "",
		TLSALPN01:       cfg.Listen.JMAP != "",
		Logger:          log,
	}
}

// printACMEBanner says which ACME certificate serves, or that one is
// being requested.
func printACMEBanner(w io.Writer, cfg config.Config, m *tlsconfig.ACME) {
	names := strings.Join(cfg.ACMEDomainNames(), ", ")
	if leaf := m.Leaf(); leaf != nil {
		fmt.Fprintf(w, "TLS: ACME certificate for %s from %s, valid until %s (%s), renewed automatically\n",
			names, leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339), m.Paths().Cert)
		return
	}
	fmt.Fprintf(w, "TLS: ACME: requesting a certificate for %s from %s; the self-signed certificate serves until it is issued\n",
		names, cfg.TLS.ACMEDirectory)
}

// checkACMECertificate is doctor's view of ACME: the stored certificate
// (valid, naming every domain, not left to expire), and the reason of
// the last failed attempt, which `serve` records.
func checkACMECertificate(r *doctorReport, s *setup, hostname string) {
	p := tlsconfig.ACMEStatePaths(s.dataDir, s.cfg.TLS.ACMEDirectory)
	names := s.cfg.ACMEDomainNames()
	now := time.Now()
	cert, err := tlsconfig.LoadACMECertificate(p, names, now)
	switch {
	case err == nil:
		leaf := cert.Leaf
		left := leaf.NotAfter.Sub(now)
		// Renewal starts at a third of the lifetime (30 days of 90): a
		// certificate this close to expiry means renewals are failing.
		if life := leaf.NotAfter.Sub(leaf.NotBefore); left < life/6 {
			r.warn("ACME certificate %s expires in %s (%s) and was not renewed: see the server log", p.Cert, left.Round(time.Minute), leaf.NotAfter.UTC().Format(time.RFC3339))
		} else {
			r.ok("ACME certificate %s for %s from %s valid until %s", p.Cert, strings.Join(leaf.DNSNames, ", "), leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format("2006-01-02"))
		}
	case errors.Is(err, fs.ErrNotExist):
		r.warn("ACME: no certificate yet in %s: `letterbox serve` requests one from %s at start", p.Dir, s.cfg.TLS.ACMEDirectory)
	default:
		r.fail("ACME certificate %s is not usable: %v (`letterbox serve` requests a new one)", p.Cert, err)
	}
	if at, text, failed := tlsconfig.ReadACMELastError(p); failed {
		r.fail("ACME: the last attempt to get a certificate for %s failed at %s: %s", strings.Join(names, ", "), at.Format(time.RFC3339), strings.ReplaceAll(text, "\n", " "))
	}
	if !slices.Contains(names, hostname) {
		r.warn("ACME: hostname %s is not among tls.acme_domains (%s): clients connecting by it get a name mismatch", hostname, strings.Join(names, ", "))
	}
}
