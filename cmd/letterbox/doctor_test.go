package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/tlsconfig"
)

// fakeDNS answers doctor's lookups from maps.
type fakeDNS struct {
	hosts map[string][]string
	mx    map[string][]*net.MX
	txt   map[string][]string
}

func (f fakeDNS) LookupHost(_ context.Context, h string) ([]string, error) {
	if a, ok := f.hosts[h]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func (f fakeDNS) LookupMX(_ context.Context, d string) ([]*net.MX, error) {
	if m, ok := f.mx[d]; ok {
		return m, nil
	}
	return nil, errors.New("no such host")
}

func (f fakeDNS) LookupTXT(_ context.Context, n string) ([]string, error) { return f.txt[n], nil }

// doctor says ok for a sound deployment and names each fault of a broken
// one: open data directory, a certificate without the hostname, missing
// MX, duplicate SPF, a port that does not answer.
func TestDoctor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsconfig.Load(tlsconfig.Options{DataDir: dir, Hostnames: []string{"mail.example.com"}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	cfg := filepath.Join(t.TempDir(), "letterbox.toml")
	write := func(hostname string) {
		text := fmt.Sprintf("hostname = %q\nlocal_domains = [\"example.com\"]\n[listen]\nsmtp = \"\"\nsubmission = \"\"\nsubmissions = \"\"\nlmtp = \"\"\npop3 = \"\"\npop3s = \"\"\nimap = %q\nimaps = \"\"\njmap = \"\"\n", hostname, ln.Addr().String())
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("mail.example.com")
	old := doctorResolver
	defer func() { doctorResolver = old }()
	doctorResolver = fakeDNS{
		hosts: map[string][]string{"mail.example.com": {"192.0.2.10"}},
		mx:    map[string][]*net.MX{"example.com": {{Host: "mail.example.com.", Pref: 10}}},
		txt:   map[string][]string{"example.com": {"v=spf1 mx -all"}, "_dmarc.example.com": {"v=DMARC1; p=reject"}},
	}
	r := letterbox(t, "", nil, "doctor", "--data", dir, "--config", cfg)
	r.want(t, 0, `no problems found`)
	for _, want := range []string{"ok    data directory", "ok    certificate", "ok    DNS: MX of example.com: mail.example.com (10)", "ok    DNS: SPF record", "ok    DNS: DMARC record", "ok    listen.imap", "warn  certificate is self-signed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sound deployment: no %q in\n%s", want, r.stdout)
		}
	}

	os.Chmod(dir, 0o755)
	write("other.example.net")
	cfgText, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(cfgText), "imaps = \"\"", "imaps = \""+deadAddr+"\"", 1)), 0o600)
	doctorResolver = fakeDNS{
		hosts: map[string][]string{},
		mx:    map[string][]*net.MX{},
		txt:   map[string][]string{"example.com": {"v=spf1 mx -all", "v=spf1 a -all"}},
	}
	r = letterbox(t, "", nil, "doctor", "--data", dir, "--config", cfg)
	if r.code != 1 {
		t.Fatalf("broken deployment: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"FAIL  data directory " + dir + " is open to others",
		"warn  the self-signed certificate does not name other.example.net yet",
		"FAIL  DNS: other.example.net has no A/AAAA record",
		"FAIL  DNS: example.com has no MX record",
		"FAIL  DNS: example.com has 2 SPF records",
		"warn  DNS: _dmarc.example.com has no DMARC record",
		"FAIL  listen.imaps " + deadAddr + " does not answer",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("broken deployment: no %q in\n%s", want, r.stdout)
		}
	}
}
