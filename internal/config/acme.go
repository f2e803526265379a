package config

import (
	"fmt"
	"net/url"
	"strings"
)

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// ACMEDomainNames are the names the ACME certificate is requested for:
// tls.acme_domains, or else the hostname.
func (c Config) ACMEDomainNames() []string {
	if len(c.TLS.ACMEDomains) > 0 {
		return c.TLS.ACMEDomains
	}
	if c.Hostname != "" {
		return []string{c.Hostname}
	}
	return nil
}

// validateACME checks the [tls] acme keys and that a challenge can be
// answered: HTTP-01 needs listen.acme_http (port 80 as the CA sees it),
// TLS-ALPN-01 the HTTPS listener (listen.jmap, port 443).
func (c Config) validateACME(bad func(key, format string, args ...any)) {
	t := c.TLS
	if !t.ACME {
		if c.Listen.ACMEHTTP != "" {
			bad("listen.acme_http", "set only with tls.acme = true")
		}
		return
	}
	if t.CertFile != "" || t.KeyFile != "" {
		bad("tls.acme", "cannot be used with cert_file and key_file")
	}
	names := c.ACMEDomainNames()
	if len(names) == 0 {
		bad("tls.acme_domains", "set hostname or acme_domains: the names to request the certificate for")
	}
	for i, d := range names {
		// HTTP-01 and TLS-ALPN-01 cannot validate wildcards (RFC 8555
		// §7.1.3), and a CA issues only for names under a public suffix.
		if !isDomainName(d) || !strings.Contains(d, ".") {
			bad(fmt.Sprintf("tls.acme_domains[%d]", i), "%q is not a fully qualified domain name", d)
		}
	}
	if u, err := url.Parse(t.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("tls.acme_directory", "%q is not an https:// URL", t.ACMEDirectory)
	}
	if t.ACMEEmail != "" && !strings.Contains(t.ACMEEmail, "@") {
		bad("tls.acme_email", "%q is not an email address", t.ACMEEmail)
	}
	if t.ACMERenewBefore < 0 {
		bad("tls.acme_renew_before", "must not be negative (0: a third of the certificate's lifetime)")
	}
	if c.Listen.ACMEHTTP == "" && c.Listen.JMAP == "" {
		bad("tls.acme", "needs listen.acme_http (port 80, HTTP-01) or listen.jmap (port 443, TLS-ALPN-01) to answer the CA")
	}
}
