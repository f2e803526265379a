package outbound

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

const dkimBody = "From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: signed\r\n" +
	"Date: Fri, 04 Dec 2026 14:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nHello,  signed   world.\r\n\r\n\r\n"

// dkimFixture generates keys for example.com and signs dkimBody.
func dkimFixture(t *testing.T) (keys []DKIMKey, txt map[string]string, signed []byte) {
	t.Helper()
	dir := t.TempDir()
	keys, err := GenerateDKIM(dir, "Example.COM", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateDKIM(dir, "example.com", time.Now(), false); err == nil {
		t.Error("a second generate without --replace succeeded")
	}
	loaded, err := LoadDKIM(dir)
	if err != nil || len(loaded["example.com"]) != 2 {
		t.Fatalf("LoadDKIM: %v %v", loaded, err)
	}
	txt = map[string]string{}
	for _, k := range keys {
		name, text, err := k.TXTRecord()
		if err != nil {
			t.Fatal(err)
		}
		txt[name] = text
	}
	sig, err := DKIMSigner(loaded)("example.com", strings.NewReader(dkimBody))
	if err != nil {
		t.Fatal(err)
	}
	if none, err := DKIMSigner(loaded)("other.test", strings.NewReader(dkimBody)); none != nil || err != nil {
		t.Errorf("signed for a domain without keys: %q %v", none, err)
	}
	return keys, txt, append(sig, dkimBody...)
}

// Both signatures (Ed25519, RFC 8463, and RSA-SHA256) verify with
// go-msgauth's verifier against the records GenerateDKIM prints, and fail
// when the body changes.
func TestDKIMSignVerify(t *testing.T) {
	keys, txt, signed := dkimFixture(t)
	if keys[0].Algorithm() != "ed25519" || keys[1].Algorithm() != "rsa" || keys[0].Selector != "lb20261204e" {
		t.Errorf("keys %v %v %v", keys[0].Algorithm(), keys[1].Algorithm(), keys[0].Selector)
	}
	lookup := func(name string) ([]string, error) { return []string{txt[name+"."]}, nil }
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(verifs) != 2 {
		t.Fatalf("Verify: %v %v", verifs, err)
	}
	for _, v := range verifs {
		if v.Err != nil || v.Domain != "example.com" {
			t.Errorf("signature %+v: %v", v, v.Err)
		}
	}
	tampered := bytes.Replace(signed, []byte("signed   world"), []byte("signed   World"), 1)
	verifs, _ = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup})
	for _, v := range verifs {
		if v.Err == nil {
			t.Error("a tampered body verified")
		}
	}
}

// The signatures verify with an independent implementation: Debian's
// python3-dkim (dkimpy, the library behind its dkimverify), asked through
// the dkimverify script's own interpreter with the test's records in
// place of DNS.
func TestDKIMVerifiesWithDkimpy(t *testing.T) {
	path, err := exec.LookPath("dkimverify")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dkimverify (Debian python3-dkim) is missing")
		}
		t.Skip("dkimverify (Debian python3-dkim) is missing")
	}
	interp := "python3"
	if f, err := os.Open(path); err == nil {
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "#!"); ok && !strings.Contains(p, " ") {
			interp = p
		}
	}
	_, txt, signed := dkimFixture(t)
	dir := t.TempDir()
	var records strings.Builder
	for name, text := range txt {
		records.WriteString(name + "\t" + text + "\n")
	}
	os.WriteFile(filepath.Join(dir, "records"), []byte(records.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "msg"), signed, 0o644)
	os.WriteFile(filepath.Join(dir, "tampered"), bytes.Replace(signed, []byte("Subject: signed"), []byte("Subject: forged"), 1), 0o644)
	script := `
import sys, dkim
recs = dict(l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1]))
def dns(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    if not n.endswith("."): n += "."
    v = recs.get(n)
    return v.encode() if v is not None else None
for f in sys.argv[2:]:
    msg = open(f, "rb").read()
    d = dkim.DKIM(msg)
    n = len([l for l in msg.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"dkim-signature:")])
    print(f.rsplit("/", 1)[1], [d.verify(idx=i, dnsfunc=dns) for i in range(n)])
`
	out, err := exec.CommandContext(context.Background(), interp, "-c", script, filepath.Join(dir, "records"),
		filepath.Join(dir, "msg"), filepath.Join(dir, "tampered")).CombinedOutput()
	if err != nil {
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if got != "msg [True, True]\ntampered [False, False]" {
		t.Errorf("dkimpy says:\n%s", got)
	}
}
