package config

import (
	"strings"
	"testing"
)

// The [tls] acme keys: defaults, the hostname as the default name, and
// each refusal naming its key.
func TestACMEConfig(t *testing.T) {
	cfg, err := Parse("hostname = \"Mail.Example.com\"\n[tls]\nacme = true\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ACMEDomainNames(); len(got) != 1 || got[0] != "mail.example.com" {
		t.Fatalf("domains %v", got)
	}
	if cfg.TLS.ACMEDirectory != DefaultACMEDirectory {
		t.Fatalf("directory %q", cfg.TLS.ACMEDirectory)
	}
	cfg, err = Parse("[tls]\nacme = true\nacme_domains = [\"IMAP.example.org.\", \"mail.example.org\"]\n[listen]\njmap = \"\"\nacme_http = \":80\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ACMEDomainNames(); len(got) != 2 || got[0] != "imap.example.org" {
		t.Fatalf("domains %v", got)
	}
	for doc, want := range map[string]string{
		"[tls]\nacme = true\n": "tls.acme_domains: set hostname or acme_domains",
		"hostname = \"mail.example.com\"\n[tls]\nacme = true\ncert_file = \"c\"\nkey_file = \"k\"\n": "tls.acme: cannot be used with cert_file",
		"[tls]\nacme = true\nacme_domains = [\"*.example.com\"]\n":                                   "tls.acme_domains[0]",
		"[tls]\nacme = true\nacme_domains = [\"localhost\"]\n":                                       "tls.acme_domains[0]",
		"hostname = \"a.example\"\n[tls]\nacme = true\nacme_directory = \"http://ca.example/dir\"\n": "tls.acme_directory",
		"hostname = \"a.example\"\n[tls]\nacme = true\nacme_email = \"nobody\"\n":                    "tls.acme_email",
		"hostname = \"a.example\"\n[tls]\nacme = true\nacme_renew_before = \"-1h\"\n":                "tls.acme_renew_before",
		"hostname = \"a.example\"\n[tls]\nacme = true\n[listen]\njmap = \"\"\n":                      "tls.acme: needs listen.acme_http",
		"[listen]\nacme_http = \":80\"\n":                                                            "listen.acme_http: set only with tls.acme",
	} {
		if _, err := Parse(doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}
