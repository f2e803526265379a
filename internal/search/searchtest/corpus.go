// Package searchtest generates mail for search tests and benchmarks:
// deterministic (seeded) messages with text in every encoding the body
// matcher decodes (7bit, 8bit in Latin-1, quoted-printable with soft line
// breaks, base64), multipart/alternative, attachments, embedded messages,
// RFC 2047 subjects and non-ASCII words whose case folding changes their
// length.
package searchtest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"
)

// Unicode words that make case folding interesting: length changes under
// strings.ToLower (İ, Ⱥ, K the Kelvin sign), titlecase letters (ǅ), Greek
// final sigma, German sharp s.
var unicodeWords = []string{
	"grüße", "GRÜSSE", "Ärger", "Straße", "ΣΊΣΥΦΟΣ", "σίσυφος", "İstanbul", "ıspanak",
	"Ⱥpple", "ⱥpple", "Kelvin", "ǅemal", "Привет", "ПРИВЕТ", "naïve", "Ωmega", "日本語テキスト", "café",
	"ﬁnance", "ß", "ẞig",
}

// Corpus makes messages from one vocabulary.
type Corpus struct {
	rng   *rand.Rand
	words []string
	zipf  *rand.Zipf
	// Planted words and the fraction of messages whose body has them; the
	// benchmarks search for them.
	Planted map[string]float64
}

// New returns a corpus seeded with seed.
func New(seed uint64) *Corpus {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := &Corpus{rng: rng}
	common := strings.Fields("the of and to in is that it for was on are as with his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know")
	c.words = append(c.words, common...)
	syll := []string{"ka", "lo", "mi", "ne", "su", "ra", "ti", "po", "ve", "da", "gu", "shi", "tor", "bel", "qua", "zen", "fi", "wo", "ly", "ex", "ch", "ar", "in", "on"}
	seen := map[string]bool{}
	for len(c.words) < 4000 {
		n := 2 + rng.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		w := b.String()
		if !seen[w] {
			seen[w] = true
			c.words = append(c.words, w)
		}
	}
	c.zipf = rand.NewZipf(rng, 1.1, 2, uint64(len(c.words)-1))
	c.Planted = map[string]float64{"zanzibar": 0.005, "quokka": 0.05, "marmalade": 0.3}
	return c
}

// Word returns a random vocabulary word (Zipf distributed), sometimes a
// Unicode one.
func (c *Corpus) Word() string {
	if c.rng.IntN(200) == 0 {
		return unicodeWords[c.rng.IntN(len(unicodeWords))]
	}
	return c.words[c.zipf.Uint64()]
}

// Rand is the corpus's random source.
func (c *Corpus) Rand() *rand.Rand { return c.rng }

// Words returns n words of running text separated by spaces and line
// breaks (about 72 columns), with the planted words at their frequency.
func (c *Corpus) text(size int, unicode bool) string {
	var b strings.Builder
	col := 0
	plant := []string{}
	for _, w := range slices.Sorted(maps.Keys(c.Planted)) {
		if c.rng.Float64() < c.Planted[w] {
			plant = append(plant, w)
		}
	}
	for b.Len() < size {
		w := c.Word()
		if unicode && c.rng.IntN(15) == 0 {
			w = unicodeWords[c.rng.IntN(len(unicodeWords))]
		}
		if len(plant) > 0 && c.rng.IntN(60) == 0 {
			w = plant[0]
			plant = plant[1:]
		}
		if c.rng.IntN(12) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		if col > 0 && col+len(w) > 72 {
			b.WriteString("\r\n")
			col = 0
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	for _, w := range plant {
		b.WriteString(" " + w)
	}
	b.WriteString("\r\n")
	return b.String()
}

// Options shape one generated message.
type Options struct {
	// MinText, MaxText bound the text size in bytes (default 2000, 8000).
	MinText, MaxText int
	// AttachmentRate is the fraction of messages with a 100-500 KB
	// attachment (default 0.1); AttachmentSize overrides the size range.
	AttachmentRate float64
	AttachmentMin  int
	AttachmentMax  int
	// Tricky turns on every encoding and structure (quoted-printable,
	// base64 and Latin-1 text, embedded messages, Unicode words) for the
	// randomized tests; otherwise most messages are plain 7bit text.
	Tricky bool
}

func (o *Options) defaults() {
	if o.MinText == 0 {
		o.MinText = 2000
	}
	if o.MaxText == 0 {
		o.MaxText = 8000
	}
	if o.AttachmentMin == 0 {
		o.AttachmentMin = 100 << 10
	}
	if o.AttachmentMax == 0 {
		o.AttachmentMax = 500 << 10
	}
}

// Message returns message number n (CRLF line endings).
func (c *Corpus) Message(n int, o Options) string {
	o.defaults()
	r := c.rng
	var b strings.Builder
	c.header(&b, n, o.Tricky)
	size := o.MinText + r.IntN(o.MaxText-o.MinText+1)
	attach := r.Float64() < o.AttachmentRate
	switch k := r.IntN(10); {
	case attach:
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mix-" + fmt.Sprint(n) + "\"\r\n\r\n")
		b.WriteString("This is a multi-part message in MIME format.\r\n")
		b.WriteString("--mix-" + fmt.Sprint(n) + "\r\n")
		c.textPart(&b, size, o.Tricky)
		b.WriteString("--mix-" + fmt.Sprint(n) + "\r\n")
		asize := o.AttachmentMin + r.IntN(o.AttachmentMax-o.AttachmentMin+1)
		data := make([]byte, asize)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		b.WriteString("Content-Type: application/pdf; name=\"report-" + fmt.Sprint(n) + ".pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"report-" + fmt.Sprint(n) + ".pdf\"\r\n\r\n")
		writeBase64(&b, data)
		b.WriteString("--mix-" + fmt.Sprint(n) + "--\r\n")
	case k < 2:
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt-" + fmt.Sprint(n) + "\"\r\n\r\n")
		txt := c.text(size/2, o.Tricky)
		b.WriteString("--alt-" + fmt.Sprint(n) + "\r\n")
		c.encodedPart(&b, "text/plain", txt, o.Tricky)
		b.WriteString("--alt-" + fmt.Sprint(n) + "\r\n")
		c.encodedPart(&b, "text/html", "<html><body><p>"+strings.ReplaceAll(txt, "\r\n", "<br>\r\n")+"</p></body></html>\r\n", o.Tricky)
		b.WriteString("--alt-" + fmt.Sprint(n) + "--\r\n")
	case k == 2 && o.Tricky:
		// An embedded message: its header fields are body text too.
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fw-" + fmt.Sprint(n) + "\"\r\n\r\n")
		b.WriteString("--fw-" + fmt.Sprint(n) + "\r\n")
		c.textPart(&b, size/3, true)
		b.WriteString("--fw-" + fmt.Sprint(n) + "\r\nContent-Type: message/rfc822\r\n\r\n")
		c.header(&b, n+1000000, true)
		c.textPart(&b, size/2, true)
		b.WriteString("--fw-" + fmt.Sprint(n) + "--\r\n")
	default:
		if o.Tricky || r.IntN(4) == 0 {
			b.WriteString("MIME-Version: 1.0\r\n")
			c.textPart(&b, size, o.Tricky)
		} else {
			b.WriteString("\r\n")
			b.WriteString(c.text(size, false))
		}
	}
	return b.String()
}

func (c *Corpus) header(b *strings.Builder, n int, tricky bool) {
	r := c.rng
	fmt.Fprintf(b, "Return-Path: <sender%d@example%d.org>\r\n", n%50, n%7)
	fmt.Fprintf(b, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n\tby mail.example.com with ESMTPS id %x\r\n\tfor <alice@example.com>; Mon, 2 Jan 2006 15:04:05 -0700\r\n", n%9, n%9, n%250, r.Uint64())
	name := strings.ToUpper(c.words[100+n%300][:1]) + c.words[100+n%300][1:] + " " + c.Word()
	if tricky && r.IntN(5) == 0 {
		name = unicodeWords[r.IntN(len(unicodeWords))] + " " + name
	}
	fmt.Fprintf(b, "From: %s <sender%d@example%d.org>\r\n", encodeWord(name, r), n%50, n%7)
	fmt.Fprintf(b, "To: Alice <alice@example.com>\r\n")
	if r.IntN(3) == 0 {
		fmt.Fprintf(b, "Cc: %s <cc%d@example.net>, team%d@example.com\r\n", c.Word(), n%40, n%13)
	}
	subj := fmt.Sprintf("topic %d: ", n%97)
	for i := 0; i < 3+r.IntN(5); i++ {
		subj += c.Word() + " "
	}
	if r.IntN(8) == 0 || tricky && r.IntN(3) == 0 {
		subj = unicodeWords[r.IntN(len(unicodeWords))] + " " + subj
	}
	fmt.Fprintf(b, "Subject: %s\r\n", encodeWord(strings.TrimSpace(subj), r))
	fmt.Fprintf(b, "Date: Mon, %d Jan 2024 %02d:%02d:00 +0000\r\n", 1+n%28, n%24, n%60)
	fmt.Fprintf(b, "Message-ID: <%d.%x@example.org>\r\n", n, r.Uint32())
	if r.IntN(4) == 0 {
		fmt.Fprintf(b, "X-Mailer: generator %s\r\n", c.Word())
	}
}

// encodeWord RFC 2047-encodes s when it is not ASCII (B or Q at random,
// sometimes split into several words).
func encodeWord(s string, r *rand.Rand) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return s
	}
	if r.IntN(2) == 0 {
		return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
	}
	var b strings.Builder
	b.WriteString("=?UTF-8?Q?")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c >= 0x80 || c == '=' || c == '?' || c == '_':
			fmt.Fprintf(&b, "=%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("?=")
	return b.String()
}

func (c *Corpus) textPart(b *strings.Builder, size int, tricky bool) {
	c.encodedPart(b, "text/plain", c.text(size, tricky), tricky)
}

// encodedPart writes a part header and body in a random encoding.
func (c *Corpus) encodedPart(b *strings.Builder, typ, txt string, tricky bool) {
	r := c.rng
	enc := 0
	if tricky {
		enc = r.IntN(5)
	} else if r.IntN(5) == 0 {
		enc = 1
	}
	switch enc {
	case 0, 4:
		cs := "us-ascii"
		if !isASCII(txt) {
			cs = "utf-8"
		}
		if enc == 4 {
			// Latin-1: only when every rune fits.
			if l1, ok := latin1(txt); ok {
				fmt.Fprintf(b, "Content-Type: %s; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", typ)
				b.WriteString(l1)
				return
			}
		}
		fmt.Fprintf(b, "Content-Type: %s; charset=%s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", typ, cs)
		b.WriteString(txt)
	case 1, 2:
		fmt.Fprintf(b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", typ)
		writeQP(b, txt, 40+r.IntN(37))
	case 3:
		fmt.Fprintf(b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", typ)
		writeBase64(b, []byte(txt))
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func latin1(s string) (string, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return "", false
		}
		out = append(out, byte(r))
	}
	return string(out), true
}

// writeQP writes s quoted-printable with soft line breaks every width
// columns, so words are split across encoded lines.
func writeQP(b *strings.Builder, s string, width int) {
	lines := strings.Split(s, "\r\n")
	for i, line := range lines {
		if i == len(lines)-1 && line == "" {
			break
		}
		col := 0
		for j := 0; j < len(line); j++ {
			ch := line[j]
			var tok string
			switch {
			case ch == '=' || ch >= 0x80 || (ch == ' ' || ch == '\t') && j == len(line)-1:
				tok = fmt.Sprintf("=%02X", ch)
			default:
				tok = string(ch)
			}
			if col+len(tok) > width {
				b.WriteString("=\r\n")
				col = 0
			}
			b.WriteString(tok)
			col += len(tok)
		}
		b.WriteString("\r\n")
	}
}

func writeBase64(b *strings.Builder, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}

// Needles returns needles for searching text: substrings of it at random
// places (lengths 1 to 14 bytes, on rune boundaries, sometimes upper-cased
// or case-flipped), vocabulary words, Unicode words and words absent from
// every message.
func (c *Corpus) Needles(text string, n int) []string {
	r := c.rng
	var out []string
	for len(out) < n {
		switch k := r.IntN(10); {
		case k < 5 && len(text) > 0:
			i := r.IntN(len(text))
			for i > 0 && !utf8.RuneStart(text[i]) {
				i--
			}
			l := 1 + r.IntN(14)
			j := min(len(text), i+l)
			for j < len(text) && !utf8.RuneStart(text[j]) {
				j++
			}
			s := text[i:j]
			switch r.IntN(3) {
			case 0:
				s = strings.ToUpper(s)
			case 1:
				s = flipCase(s, r)
			}
			out = append(out, s)
		case k < 7:
			out = append(out, c.Word())
		case k < 8:
			out = append(out, unicodeWords[r.IntN(len(unicodeWords))])
		case k < 9:
			out = append(out, c.Word()+c.Word()+"xq")
		default:
			out = append(out, c.words[r.IntN(len(c.words))][:1+r.IntN(2)])
		}
	}
	return out
}

func flipCase(s string, r *rand.Rand) string {
	var b strings.Builder
	for _, ch := range s {
		if r.IntN(2) == 0 {
			b.WriteString(strings.ToUpper(string(ch)))
		} else {
			b.WriteRune(ch)
		}
	}
	return b.String()
}
