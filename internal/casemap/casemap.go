// Package casemap folds text for IMAP SEARCH's case-insensitive substring
// match the way Dovecot does: the i;unicode-casemap comparator of RFC 5051
// (RFC 3501 §6.4.4 leaves the folding to the server; RFC 9051 §6.4.4.1
// names i;unicode-casemap), as Dovecot 2.3 implements it. Each character
// is mapped to its simple titlecase (UnicodeData), then decomposed one
// level: its canonical decomposition, or a compatibility decomposition to
// one character (① → 1, Ａ → A) or a fraction (½ → 1⁄2). The result is not
// titlecased again. So, as in Dovecot: É, é and e+U+0301 fold alike, and
// "e" or "cafe" match them (the base letter stays a letter of its own);
// ς, σ and Σ fold alike; ı, i and I fold alike and İ is I+U+0307; ß is not
// SS; ligatures (ﬁ), squared units (㎏) and digraphs (Ǆ) keep their
// character; Hangul syllables become their jamo.
//
// Dovecot's output is titlecase; this package writes ASCII letters in
// lower case instead (the search signatures of internal/search index
// lower-case ASCII trigrams), which is the same equivalence: a
// decomposition that would give a lower-case ASCII letter (ª → a, ǰ →
// j+U+030C, neither titlecased by Dovecot) is not applied, so such a
// character never meets "A". The package is a leaf: it imports only the
// Unicode tables.
package casemap

import (
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// String returns the folded form of s. Invalid UTF-8 octets become U+FFFD
// (as strings.Map does). ASCII-only text costs a lower-casing pass.
func String(s string) string {
	ascii := true
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return s
		}
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	b := make([]byte, 0, len(s)+len(s)/4)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		b = AppendRune(b, r)
	}
	return string(b)
}

// Contains reports whether s contains substr after folding both.
func Contains(s, substr string) bool {
	return strings.Contains(String(s), String(substr))
}

// AppendRune appends the folded form of r to dst.
func AppendRune(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	if r <= 0xFFFF {
		if f := bmp(r); f.ok {
			return append(dst, f.s...)
		}
	}
	return append(dst, fold(r)...)
}

// folded is a cached fold of one BMP rune.
type folded struct {
	s  string
	ok bool
}

// cache holds the folds of the BMP runes seen so far, a page of 256 at a
// time, computed on first use (the same value by whichever goroutine gets
// there first).
var cache [0x10000 >> 8]atomic.Pointer[[256]folded]

func bmp(r rune) folded {
	page := cache[r>>8].Load()
	if page == nil {
		p := new([256]folded)
		base := r &^ 0xFF
		for i := range p {
			p[i] = folded{fold(base + rune(i)), true}
		}
		cache[r>>8].Store(p)
		page = p
	}
	return page[r&0xFF]
}

// fold computes the folded form of one non-ASCII rune.
func fold(r rune) string {
	if r == utf8.RuneError || !utf8.ValidRune(r) {
		return string(utf8.RuneError)
	}
	t := unicode.ToTitle(r)
	if t < utf8.RuneSelf {
		return lowerASCII(string(t)) // ı → I → i, ſ → S → s
	}
	ts := string(t)
	if t >= 0xAC00 && t <= 0xD7A3 {
		return norm.NFD.String(ts) // Hangul syllable: its jamo
	}
	if d := norm.NFD.PropertiesString(ts).Decomposition(); d != nil {
		out := oneLevel(string(d))
		if hasLowerASCII(out) {
			return ts
		}
		return lowerASCII(out)
	}
	if d := norm.NFKD.PropertiesString(ts).Decomposition(); d != nil {
		ds := string(d)
		if utf8.RuneCountInString(ds) == 1 || strings.ContainsRune(ds, '\u2044') {
			if hasLowerASCII(ds) {
				return ts
			}
			return lowerASCII(ds)
		}
	}
	return ts
}

// oneLevel turns a full canonical decomposition back into the first level
// of it (UnicodeData's mapping): a base and its last mark, the base
// recomposed (ǖ → ü + U+0304, as Dovecot reads it, not u + ¨ + ¯).
func oneLevel(full string) string {
	last, size := utf8.DecodeLastRuneInString(full)
	head := full[:len(full)-size]
	if head == "" {
		return full
	}
	return norm.NFC.String(head) + string(last)
}

func hasLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return true
		}
	}
	return false
}

func lowerASCII(s string) string {
	if !strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
