package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/outbound"
)

// doctor compares each DKIM key on disk with the TXT record at its
// selector: published as printed (also split into strings and with
// folding whitespace) is ok; missing, another key, another key type,
// revoked or two records each FAIL with the record to publish; a mail
// domain without keys is a warning.
func TestDoctorDKIM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keys, err := outbound.GenerateDKIM(filepath.Join(dir, "dkim"), "example.com", time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	other, err := outbound.GenerateDKIM(t.TempDir(), "example.com", time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	var ed, rsa, otherRSA outbound.DKIMKey
	for _, k := range keys {
		if k.Algorithm() == "ed25519" {
			ed = k
		} else {
			rsa = k
		}
	}
	for _, k := range other {
		if k.Algorithm() == "rsa" {
			otherRSA = k
		}
	}
	record := func(k outbound.DKIMKey) (string, string) {
		name, text, err := k.TXTRecord()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(name, "."), text
	}
	edName, edText := record(ed)
	rsaName, rsaText := record(rsa)
	_, otherText := record(otherRSA)
	cfg := filepath.Join(t.TempDir(), "letterbox.toml")
	if err := os.WriteFile(cfg, []byte("hostname = \"mail.example.com\"\nlocal_domains = [\"example.com\", \"example.org\"]\n[listen]\nsmtp = \"\"\nsubmission = \"\"\nsubmissions = \"\"\nlmtp = \"\"\npop3 = \"\"\npop3s = \"\"\nimap = \"\"\nimaps = \"\"\njmap = \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := doctorResolver
	defer func() { doctorResolver = old }()
	doctor := func(txt map[string][]string) string {
		t.Helper()
		doctorResolver = fakeDNS{txt: txt}
		return letterbox(t, "", nil, "doctor", "--data", dir, "--config", cfg).stdout
	}
	// The RSA record as a zone file splits it: strings joined, with a
	// folded p= (RFC 6376 §3.6.2.2).
	folded := strings.Replace(rsaText, "p=", "p= ", 1)
	folded = folded[:len(folded)-40] + " \t" + folded[len(folded)-40:]
	out := doctor(map[string][]string{edName: {"some other text", edText}, rsaName: {folded}})
	for _, want := range []string{
		"ok    DKIM: " + edName + " (ed25519) matches the key on disk",
		"ok    DKIM: " + rsaName + " (rsa) matches the key on disk",
		"warn  DKIM: no signing key for example.org",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("published keys: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL  DKIM") {
		t.Errorf("published keys: a DKIM failure in\n%s", out)
	}

	edAsRSA := strings.Replace(edText, "k=ed25519", "k=rsa", 1)
	for name, c := range map[string]struct {
		txt  map[string][]string
		want string
	}{
		"missing":       {map[string][]string{rsaName: {rsaText}}, "FAIL  DKIM: no key record at " + edName},
		"another key":   {map[string][]string{edName: {edText}, rsaName: {otherText}}, "FAIL  DKIM: the record at " + rsaName + " holds another key than example.com/" + rsa.Selector + ".pem"},
		"another k=":    {map[string][]string{edName: {edAsRSA}, rsaName: {rsaText}}, "FAIL  DKIM: the record at " + edName + " holds another key"},
		"k= defaulted":  {map[string][]string{edName: {strings.Replace(edText, " k=ed25519;", "", 1)}, rsaName: {rsaText}}, "FAIL  DKIM: the record at " + edName + " holds another key"},
		"revoked":       {map[string][]string{edName: {"v=DKIM1; k=ed25519; p="}, rsaName: {rsaText}}, "FAIL  DKIM: the record at " + edName + " is revoked"},
		"two records":   {map[string][]string{edName: {edText, edText}, rsaName: {rsaText}}, "FAIL  DKIM: " + edName + " has 2 key records"},
		"other version": {map[string][]string{edName: {strings.Replace(edText, "DKIM1", "DKIM2", 1)}, rsaName: {rsaText}}, "FAIL  DKIM: no key record at " + edName},
	} {
		out := doctor(c.txt)
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: no %q in\n%s", name, c.want, out)
		}
		if strings.Contains(c.want, "no key record") || strings.Contains(c.want, "holds another") {
			zone, _ := ed.ZoneLines()
			if strings.Contains(c.want, rsaName) {
				zone, _ = rsa.ZoneLines()
			}
			if !strings.Contains(out, zone) {
				t.Errorf("%s: the record to publish is not named in\n%s", name, out)
			}
		}
	}
}
