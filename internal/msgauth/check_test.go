package msgauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"

	"github.com/letterbox/letterbox/internal/testutil/dnstest"
)

// testResolver serves records from a DNS server on loopback.
func testResolver(t *testing.T, records ...string) *net.Resolver {
	return dnstest.Resolver(t, records...)
}

// signer makes an Ed25519 key for selector s1 of domain and its record.
func signer(t *testing.T, domain string) (sign func(msg string) string, record string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	record = `s1._domainkey.` + domain + `. 60 IN TXT "v=DKIM1; k=ed25519; p=` + base64.StdEncoding.EncodeToString(pub) + `"`
	return func(msg string) string {
		var b bytes.Buffer
		if err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: key, Hash: crypto.SHA256}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}, record
}

const msgFromA = "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\nbody\r\n"

var (
	goodIP   = netip.MustParseAddr("192.0.2.10")
	forgerIP = netip.MustParseAddr("203.0.113.66")
)

// The cases of RFC 7489 §6.6 and RFC 7208 §2.6 that decide a verdict.
func TestVerdicts(t *testing.T) {
	signA, keyA := signer(t, "a.test")
	signThird, keyThird := signer(t, "mailer.test")
	r := testResolver(t,
		`a.test. 60 IN TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`_dmarc.a.test. 60 IN TXT "v=DMARC1; p=reject; sp=quarantine"`,
		`soft.test. 60 IN TXT "v=spf1 ip4:192.0.2.10 ~all"`,
		`_dmarc.soft.test. 60 IN TXT "v=DMARC1; p=none"`,
		`mailer.test. 60 IN TXT "v=spf1 ip4:203.0.113.66 -all"`,
		`nodmarc.test. 60 IN TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`strict.test. 60 IN TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`_dmarc.strict.test. 60 IN TXT "v=DMARC1; p=reject; aspf=s"`,
		keyA, keyThird,
	)
	c := &Checker{Hostname: "mx.b.test", Resolver: r}
	cases := []struct {
		name           string
		ip             netip.Addr
		from, msg      string
		spf            spf.Result
		dkim, dmarcRes string
		policy         dmarc.Policy
		reject         bool
	}{
		{"aligned SPF and DKIM", goodIP, "alice@a.test", signA(msgFromA), spf.Pass, "pass", "pass", dmarc.PolicyReject, false},
		{"aligned DKIM only, forwarded", forgerIP, "alice@a.test", signA(msgFromA), spf.Fail, "pass", "pass", dmarc.PolicyReject, false},
		{"forged: wrong IP, no signature", forgerIP, "alice@a.test", msgFromA, spf.Fail, "", "fail", dmarc.PolicyReject, true},
		{"forged: signature of another domain, its own envelope", forgerIP, "bounce@mailer.test", signThird(msgFromA), spf.Pass, "pass", "fail", dmarc.PolicyReject, true},
		{"tampered signature", goodIP, "x@mailer.test", strings.Replace(signA(msgFromA), "body", "b0dy", 1), spf.Fail, "fail", "fail", dmarc.PolicyReject, true},
		{"softfail, p=none", forgerIP, "s@soft.test", strings.Replace(msgFromA, "a.test>", "soft.test>", 1), spf.SoftFail, "", "fail", dmarc.PolicyNone, false},
		{"no DMARC record", goodIP, "n@nodmarc.test", strings.Replace(msgFromA, "a.test>", "nodmarc.test>", 1), spf.Pass, "", "none", "", false},
		{"subdomain: sp= of the organizational domain", forgerIP, "x@news.a.test", strings.Replace(msgFromA, "a.test>", "news.a.test>", 1), spf.None, "", "fail", dmarc.PolicyQuarantine, false},
		{"relaxed SPF alignment: subdomain envelope", goodIP, "alice@a.test", strings.Replace(msgFromA, "a.test>", "news.a.test>", 1), spf.Pass, "", "pass", dmarc.PolicyQuarantine, false},
		{"strict SPF alignment refuses the subdomain", goodIP, "x@strict.test", strings.Replace(msgFromA, "a.test>", "news.strict.test>", 1), spf.Pass, "", "fail", dmarc.PolicyReject, true},
	}
	for _, tc := range cases {
		v := c.Check(context.Background(), tc.ip, "client.test", tc.from, []byte(tc.msg))
		dk := ""
		if len(v.DKIM) > 0 {
			dk = "fail"
			if v.DKIM[0].Pass {
				dk = "pass"
			}
		}
		if v.SPF != tc.spf || dk != tc.dkim || v.DMARC != tc.dmarcRes || v.Policy != tc.policy || v.Reject() != tc.reject {
			t.Errorf("%s: spf=%s dkim=%q dmarc=%s policy=%q reject=%v; want spf=%s dkim=%q dmarc=%s policy=%q reject=%v",
				tc.name, v.SPF, dk, v.DMARC, v.Policy, v.Reject(), tc.spf, tc.dkim, tc.dmarcRes, tc.policy, tc.reject)
		}
	}
}

// The header names our authserv-id and each method; StripForged removes
// fields claiming our id (RFC 8601 §5), folded lines included, and keeps
// others' and the body.
func TestHeaderAndStripForged(t *testing.T) {
	signA, keyA := signer(t, "a.test")
	r := testResolver(t, `a.test. 60 IN TXT "v=spf1 ip4:192.0.2.10 -all"`, `_dmarc.a.test. 60 IN TXT "v=DMARC1; p=reject"`, keyA)
	c := &Checker{Hostname: "mx.b.test", Resolver: r}
	v := c.Check(context.Background(), goodIP, "client.test", "alice@a.test", []byte(signA(msgFromA)))
	h := string(c.Header(v))
	for _, want := range []string{"Authentication-Results: mx.b.test;", "spf=pass smtp.mailfrom=alice@a.test", "dkim=pass header.d=a.test", "dmarc=pass header.from=a.test"} {
		if !strings.Contains(h, want) {
			t.Errorf("header %q lacks %q", h, want)
		}
	}
	in := "Authentication-Results: MX.B.TEST; dkim=pass\r\n\theader.d=bank.test\r\n" +
		"Authentication-Results: other.test; spf=pass\r\n" +
		"Subject: x\r\n\r\nAuthentication-Results: mx.b.test; in the body stays\r\n"
	out, _ := io.ReadAll(StripForged(strings.NewReader(in), "mx.b.test"))
	want := "Authentication-Results: other.test; spf=pass\r\nSubject: x\r\n\r\nAuthentication-Results: mx.b.test; in the body stays\r\n"
	if string(out) != want {
		t.Errorf("StripForged:\n got %q\nwant %q", out, want)
	}
}
