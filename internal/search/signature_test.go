package search

import (
	"bytes"
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/casemap"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/search/searchtest"
)

// texts returns the folded header text and the body text of a message as
// the matcher sees them.
func texts(t testing.TB, raw []byte, root *mime.Part) (hdr, body string) {
	hr, _ := root.HeaderRange(nil)
	hdr = mime.DecodeHeader(string(raw[hr.Start:hr.End]))
	var b strings.Builder
	if err := mime.BodyText(bytes.NewReader(raw), root, func(s string) bool {
		b.WriteString(s)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return hdr, b.String()
}

// TestSignatureNeverDropsAMatch is the randomized soundness test: for
// thousands of generated messages (quoted-printable with soft breaks inside
// words, base64, Latin-1, embedded messages, RFC 2047 headers, Unicode
// words whose folding changes length) and needles taken from their decoded
// text (re-cased), from the vocabulary, and absent ones, whenever the exact
// matcher finds the needle the signature must say "maybe". The signature
// is built from the parsed structure and checked as the server does, with
// the structure that went through Encode/Decode.
func TestSignatureNeverDropsAMatch(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	c := searchtest.New(7)
	var checks, bodyTrue, bodyMaybe, textTrue, textMaybe, unusable int
	var sigBytes int
	for i := range n {
		raw := []byte(c.Message(i, searchtest.Options{Tricky: true, MinText: 50, MaxText: 6000, AttachmentRate: 0.05, AttachmentMin: 1000, AttachmentMax: 5000}))
		parsed := mime.ParseBytes(raw)
		sig, err := Build(bytes.NewReader(raw), parsed)
		if err != nil {
			t.Fatal(err)
		}
		sigBytes += len(sig)
		root, err := mime.Decode(parsed.Encode())
		if err != nil {
			t.Fatal(err)
		}
		hdr, body := texts(t, raw, root)
		needles := c.Needles(hdr+body, 20)
		needles = append(needles, c.Needles(body, 20)...)
		for _, needle := range needles {
			q := NewQuery(needle)
			if !q.Usable() {
				unusable++
				if !q.MayContainBody(sig) || !q.MayContainText(sig) {
					t.Fatalf("unusable query %q excluded a message", needle)
				}
				continue
			}
			checks++
			inBody, err := mime.TextContains(bytes.NewReader(raw), root, needle)
			if err != nil {
				t.Fatal(err)
			}
			inText := inBody || mime.ContainsFold(hdr, needle)
			mb, mt := q.MayContainBody(sig), q.MayContainText(sig)
			if inBody && !mb {
				t.Fatalf("message %d: BODY %q matches but the signature excludes it\n%s", i, needle, raw)
			}
			if inText && !mt {
				t.Fatalf("message %d: TEXT %q matches but the signature excludes it\n%s", i, needle, raw)
			}
			if inBody {
				bodyTrue++
			} else if mb {
				bodyMaybe++
			}
			if inText {
				textTrue++
			} else if mt {
				textMaybe++
			}
		}
	}
	t.Logf("%d messages, %.0f signature bytes/message; %d checks (%d needles without word trigrams): BODY %d true, %d false candidates; TEXT %d true, %d false candidates",
		n, float64(sigBytes)/float64(n), checks, unusable, bodyTrue, bodyMaybe, textTrue, textMaybe)
	if bodyTrue == 0 || textTrue == 0 {
		t.Fatal("no true matches: the test exercises nothing")
	}
}

// TestSignaturePieceBoundaries puts needles across the 32 KiB pieces
// mime.BodyText cuts long text into, inside quoted-printable and base64,
// next to characters whose lower case is longer than their upper case.
func TestSignaturePieceBoundaries(t *testing.T) {
	for _, enc := range []string{"7bit", "quoted-printable", "base64"} {
		for _, at := range []int{32768 - 5, 32768 - 3, 32768 - 1, 32768, 32768 + 2} {
			// Few distinct trigrams, so the signature is not saturated.
			filler := strings.Repeat("ab", 20000)
			text := filler[:at] + "İXYZİWQ" + filler[at:]
			var body string
			switch enc {
			case "7bit":
				body = text
			case "quoted-printable":
				var b strings.Builder
				for i := 0; i < len(text); i += 70 {
					if b.Len() > 0 {
						b.WriteString("=\r\n")
					}
					for _, c := range []byte(text[i:min(i+70, len(text))]) {
						if c >= 0x80 {
							b.WriteString("=" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
						} else {
							b.WriteByte(c)
						}
					}
				}
				body = b.String()
			case "base64":
				body = b64Lines(text)
			}
			raw := []byte("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: " + enc + "\r\n\r\n" + body + "\r\n")
			root := mime.ParseBytes(raw)
			sig, err := Build(bytes.NewReader(raw), root)
			if err != nil {
				t.Fatal(err)
			}
			if sig[1] == 0 {
				t.Fatalf("%s: saturated", enc)
			}
			for _, needle := range []string{"i\u0307xyzİwq", "İXYZİWQ", filler[at-1:at] + "İx", "zİw", "yzi", "Zİ", "wq" + filler[at:at+1], filler[at-2:at] + "İ"} {
				ok, err := mime.TextContains(bytes.NewReader(raw), root, needle)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					t.Fatalf("%s at %d: matcher does not find %q", enc, at, needle)
				}
				if !NewQuery(needle).MayContainBody(sig) {
					t.Fatalf("%s at %d: signature drops %q", enc, at, needle)
				}
			}
			if NewQuery("qwerty").MayContainBody(sig) && NewQuery("zzzzzz").MayContainBody(sig) {
				t.Errorf("%s: signature excludes nothing", enc)
			}
		}
	}
}

func b64Lines(s string) string {
	const tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out strings.Builder
	b := []byte(s)
	col := 0
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for j := range 3 {
			v <<= 8
			if j < n {
				v |= uint32(b[i+j])
			}
		}
		for j := range 4 {
			if j <= n {
				out.WriteByte(tbl[v>>(18-6*j)&63])
			} else {
				out.WriteByte('=')
			}
		}
		col += 4
		if col >= 76 {
			out.WriteString("\r\n")
			col = 0
		}
	}
	return out.String()
}

func TestSignatureShapes(t *testing.T) {
	// No text at all: a minimal filter that excludes every usable needle.
	raw := []byte("Subject: hi\r\nContent-Type: application/octet-stream\r\n\r\nAAAA\r\n")
	sig, err := Build(bytes.NewReader(raw), mime.ParseBytes(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) > 80 {
		t.Errorf("signature of an empty text is %d bytes", len(sig))
	}
	if NewQuery("aaaa").MayContainBody(sig) {
		t.Error("BODY aaaa may match a message without text")
	}
	if !NewQuery("subject: hi").MayContainText(sig) {
		t.Error("TEXT drops the header")
	}
	// Huge vocabulary: saturated, everything is a candidate.
	c := searchtest.New(3)
	var b strings.Builder
	b.WriteString("Subject: big\r\n\r\n")
	r := c.Rand()
	for b.Len() < 400000 {
		b.WriteByte(byte('a' + r.IntN(26)))
		if r.IntN(7) == 0 {
			b.WriteByte(' ')
		}
	}
	raw = []byte(b.String())
	sig, err = Build(bytes.NewReader(raw), mime.ParseBytes(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, Saturated) {
		t.Errorf("signature of a large text: %d bytes, k=%d", len(sig), sig[1])
	}
	if !NewQuery("anything").MayContainBody(sig) {
		t.Error("saturated signature excluded a needle")
	}
	// Unreadable signatures exclude nothing.
	for _, bad := range [][]byte{nil, {}, {9, 3, 0, 0, 0, 0, 0, 0, 0, 0}, {version, 3}} {
		if !NewQuery("anything").MayContainBody(bad) || !NewQuery("anything").MayContainText(bad) {
			t.Errorf("signature %v excluded a needle", bad)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	c := searchtest.New(1)
	var msgs [][]byte
	var roots []*mime.Part
	for i := range 200 {
		raw := []byte(c.Message(i, searchtest.Options{}))
		msgs = append(msgs, raw)
		roots = append(roots, mime.ParseBytes(raw))
	}
	total := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		sig, err := Build(bytes.NewReader(msgs[i%len(msgs)]), roots[i%len(msgs)])
		if err != nil {
			b.Fatal(err)
		}
		total += len(sig)
		i++
	}
	b.ReportMetric(float64(total)/float64(i), "sigbytes/msg")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i), "cpu-µs/op")
}

// TestWriteFoldedIsCasemap: the allocation-free folding while hashing
// gives the word trigrams of casemap.String, invalid UTF-8 included.
func TestWriteFoldedIsCasemap(t *testing.T) {
	r := searchtest.New(5).Rand()
	pieces := []string{"A", "z", "İ", "K", "Σ", "ß", "ẞ", "ǅ", "Ⱥ", "½", "한", "ǖ", "ς", "ı", "\xff", "\xc3", "\xe2\x82", "\uFFFD", "\xed\xa0\x80", "日", "É", " ", "\U0001F600", "Ω", "\u0130\u0307", "Q", "7", "-"}
	set := setPool.Get().(*keySet)
	defer setPool.Put(set)
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			if r.IntN(3) == 0 {
				b.WriteByte(byte(r.Uint32()))
			} else {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
		}
		s := b.String()
		set.reset()
		tr := trigrams{set: set}
		// In two pieces, cut anywhere: trigrams span pieces.
		cut := 0
		if len(s) > 0 {
			cut = r.IntN(len(s) + 1)
			for cut < len(s) && !utf8.RuneStart(s[cut]) {
				cut++
			}
		}
		tr.writeFolded(s[:cut])
		tr.writeFolded(s[cut:])
		got := map[uint32]bool{}
		for _, k := range set.keys {
			got[k-1] = true
		}
		want := map[uint32]bool{}
		f := casemap.String(s[:cut]) + casemap.String(s[cut:])
		for i := 0; i+3 <= len(f); i++ {
			if wordByte[f[i]]&wordByte[f[i+1]]&wordByte[f[i+2]] == 1 {
				want[uint32(f[i])<<16|uint32(f[i+1])<<8|uint32(f[i+2])] = true
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%q: keys %v, want %v", s, got, want)
		}
	}
}

// cpuTime is the process's user and system CPU time: the machine running
// the benchmarks may be busy, so wall time alone says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
