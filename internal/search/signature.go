// Package search keeps the text index that IMAP SEARCH BODY and TEXT use to
// pick candidate messages: a per-content signature, computed once at
// delivery, of the byte trigrams of the exact text the matcher searches.
//
// The matcher (internal/mime.TextContains for BODY, plus the RFC 2047
// decoded top-level header for TEXT) compares casemap.String of the
// needle with casemap.String of the decoded text (internal/casemap: the
// i;unicode-casemap folding Dovecot applies). So the signature is built
// from that same folded stream: mime.BodyText's pieces, each folded and
// concatenated (trigrams across piece boundaries included), and the folded
// mime.DecodeHeader(header). Folding is per rune, so folding in pieces is
// folding the whole.
// Only "word" trigrams are kept: those whose three bytes are all ASCII
// letters or digits (after folding) or non-ASCII bytes; the ones with
// spaces, line breaks or punctuation are about half of a text's distinct
// trigrams and say little. A query checks the word trigrams of the folded
// needle. Whenever the folded needle occurs in the folded text, each of
// them is a 3-byte window of the folded text, a word trigram, and so in the
// signature: a signature never drops a true match, whatever the transfer
// encoding, charset, line splitting or length-changing case mapping. It
// may let false candidates through (Bloom filter), which the exact matcher
// then rejects. A needle without word trigrams (shorter than 3 bytes, or
// like "a b") cannot use the signature.
//
// Format (version 3): byte 0 is the version, byte 1 the number of hash
// probes k, the rest a Bloom filter of 8·(len−2) bits over the distinct
// (domain, word trigram) keys, domain 0 for body text and 1 for the
// header. k = 0 means "saturated": the text had more distinct trigrams
// than a bounded filter holds usefully, and every needle is a candidate.
// Versions 1 and 2 (the same filter over strings.ToLower folding) are not
// Valid: their trigrams of non-ASCII text differ from casemap's, so a
// match could be dropped; content with such a signature is searched as if
// it had none (and a new signature is computed and cached on the way).
package search

import (
	"errors"
	"io"
	"math"
	"math/bits"
	"sync"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/casemap"
	"github.com/letterbox/letterbox/internal/mime"
)

const (
	version = 3
	// bitsPerKey sizes the filter: about 2% false positives per absent
	// trigram with the optimal k (6).
	bitsPerKey = 8
	// MaxBytes bounds a filter (2 KiB).
	MaxBytes = 2048
	// maxKeys is the most distinct keys a signature holds; past it the
	// filter would say yes to most trigrams (above 15% per trigram at 4
	// bits per key), so the signature is saturated instead.
	maxKeys  = MaxBytes * 8 / 4
	minBytes = 8
)

const (
	domainBody   = 0
	domainHeader = 1
)

// Saturated is the signature of content that every needle must be checked
// against.
var Saturated = []byte{version, 0}

// keySet collects distinct keys (domain<<24 | trigram); keys holds them
// plus one. Trigrams of ASCII letters and digits (nearly all) are
// deduplicated in a small bitmap indexed by their value, the others in an
// open-addressing table.
type keySet struct {
	ascii  [2][alnumTrigrams/64 + 1]uint64 // by domain
	slots  []uint32
	keys   []uint32
	hashed int // keys in slots
	full   bool
}

// alnum numbers the 36 folded ASCII word bytes; 255 for every other byte.
var alnum = func() (t [256]uint8) {
	for c := range 256 {
		t[c] = 255
	}
	for i, c := range "abcdefghijklmnopqrstuvwxyz0123456789" {
		t[c] = uint8(i)
	}
	return t
}()

const alnumTrigrams = 36 * 36 * 36

const setSlots = 2 * maxKeys // power of two, load factor ≤ 1/2

var setPool = sync.Pool{New: func() any {
	return &keySet{slots: make([]uint32, setSlots), keys: make([]uint32, 0, maxKeys)}
}}

// alnumIndex returns the bitmap index of a trigram of ASCII letters and
// digits; ok is false for any other.
func alnumIndex(k uint32) (i uint32, ok bool) {
	a, b, c := alnum[k>>16&0xFF], alnum[k>>8&0xFF], alnum[k&0xFF]
	if a == 255 || b == 255 || c == 255 {
		return 0, false
	}
	return uint32(a)*1296 + uint32(b)*36 + uint32(c), true
}

func (s *keySet) add(k uint32) {
	if s.full {
		return
	}
	if i, ok := alnumIndex(k); ok {
		m := &s.ascii[k>>24][i>>6]
		if *m&(1<<(i&63)) != 0 {
			return
		}
		if len(s.keys) == maxKeys {
			s.full = true
			return
		}
		*m |= 1 << (i & 63)
		s.keys = append(s.keys, k+1)
		return
	}
	k++
	h := (k * 0x9E3779B1) >> (32 - bits.TrailingZeros(setSlots))
	for {
		switch s.slots[h] {
		case 0:
			if len(s.keys) == maxKeys {
				s.full = true
				return
			}
			s.slots[h] = k
			s.keys = append(s.keys, k)
			s.hashed++
			return
		case k:
			return
		}
		h = (h + 1) & (setSlots - 1)
	}
}

// reset empties the set: the table slots of its keys only, unless many.
func (s *keySet) reset() {
	clear(s.ascii[0][:])
	clear(s.ascii[1][:])
	if s.hashed > setSlots/8 {
		clear(s.slots)
	} else if s.hashed > 0 {
		for _, k := range s.keys {
			if _, ok := alnumIndex(k - 1); ok {
				continue
			}
			h := (k * 0x9E3779B1) >> (32 - bits.TrailingZeros(setSlots))
			for s.slots[h] != 0 {
				s.slots[h] = 0
				h = (h + 1) & (setSlots - 1)
			}
		}
	}
	s.keys = s.keys[:0]
	s.hashed = 0
	s.full = false
}

// trigrams feeds the 3-byte windows of a folded stream given in pieces.
type trigrams struct {
	set    *keySet
	domain uint32
	win    uint32 // last 3 bytes, newest lowest
	words  uint8  // bit i: the byte i places back is a word byte
	ai     uint32 // alnum codes of the last 3 bytes, base 36 (see alnum)
}

// wordByte says which (folded) bytes make word trigrams.
var wordByte = func() (t [256]uint8) {
	for c := range 256 {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c >= utf8.RuneSelf {
			t[c] = 1
		}
	}
	return t
}()

// writeFolded feeds casemap.String(s): rune by rune casemap.AppendRune, an
// invalid byte becoming U+FFFD, without allocating.
// Trigrams of ASCII letters and digits take a fast path to the bitmap.
func (t *trigrams) writeFolded(s string) {
	set := t.set
	if set.full {
		return
	}
	win, words, ai := t.win, t.words, t.ai
	dom := t.domain << 24
	bm := &set.ascii[t.domain]
	var buf [32]byte // a folded rune: up to 9 octets (a Hangul syllable)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			i++
			win = (win<<8 | uint32(c)) & 0xFFFFFF
			words = (words<<1 | wordByte[c]) & 7
			ai = ai%1296*36 + uint32(alnum[c]&63)
			if words != 7 {
				continue
			}
			if win&0x808080 == 0 {
				// Three ASCII letters or digits; ai is their index.
				w, bit := ai>>6, uint64(1)<<(ai&63)
				if bm[w]&bit != 0 {
					continue
				}
				if len(set.keys) == maxKeys {
					set.full = true
					break
				}
				bm[w] |= bit
				set.keys = append(set.keys, (dom|win)+1)
				continue
			}
			if set.add(dom | win); set.full {
				break
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		for _, c := range casemap.AppendRune(buf[:0], r) {
			win = (win<<8 | uint32(c)) & 0xFFFFFF
			words = (words<<1 | wordByte[c]) & 7
			ai = ai%1296*36 + uint32(alnum[c]&63)
			if words == 7 {
				set.add(dom | win)
			}
		}
		if set.full {
			break
		}
	}
	t.win, t.words, t.ai = win, words, ai
}

// Build computes the signature of the message in r whose parsed structure
// is root. The error is an I/O error of r.
func Build(r io.ReaderAt, root *mime.Part) ([]byte, error) {
	set := setPool.Get().(*keySet)
	defer func() {
		set.reset()
		setPool.Put(set)
	}()
	// The top-level header, as SEARCH TEXT sees it.
	hr, _ := root.HeaderRange(nil)
	hdr := make([]byte, hr.Len())
	if _, err := r.ReadAt(hdr, hr.Start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	th := trigrams{set: set, domain: domainHeader}
	th.writeFolded(mime.DecodeHeader(string(hdr)))
	// The body text, as SEARCH BODY (mime.TextContains) sees it.
	tb := trigrams{set: set, domain: domainBody}
	err := mime.BodyText(r, root, func(text string) bool {
		tb.writeFolded(text)
		return !set.full
	})
	if err != nil {
		return nil, err
	}
	if set.full {
		return Saturated, nil
	}
	return encode(set.keys), nil
}

// encode builds the Bloom filter of keys.
func encode(keys []uint32) []byte {
	n := len(keys)
	nbytes := (n*bitsPerKey + 7) / 8
	nbytes = min(max(nbytes, minBytes), MaxBytes)
	m := nbytes * 8
	// The optimal k is ln 2 · m/n (5.5 at 8 bits per key); 4 probes give
	// nearly the same false positive rate (2.4% against 2.2%) for less
	// work at delivery and at search.
	k := int(math.Round(float64(m) / float64(max(n, 1)) * math.Ln2))
	k = min(max(k, 1), 4)
	sig := make([]byte, 2+nbytes)
	sig[0], sig[1] = version, byte(k)
	f := sig[2:]
	for _, key := range keys {
		h1, h2 := hash(key)
		for i := range k {
			b := probe(h1, h2, i, m)
			f[b>>3] |= 1 << (b & 7)
		}
	}
	return sig
}

// hash mixes a key (as stored: plus one) into two 32-bit hashes.
func hash(key uint32) (h1, h2 uint32) {
	x := uint64(key) * 0x9E3779B97F4A7C15
	x ^= x >> 29
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 32
	return uint32(x), uint32(x>>32) | 1
}

func probe(h1, h2 uint32, i, m int) uint32 {
	return uint32((uint64(h1+uint32(i)*h2) * uint64(m)) >> 32)
}

// Query is a needle prepared for signature checks.
type Query struct {
	usable bool
	body   [][2]uint32 // hashes of the needle's trigrams, body domain
	header [][2]uint32 // the same, header domain
}

// NewQuery prepares needle (as given in SEARCH BODY or TEXT). A needle
// without word trigrams after folding (shorter than 3 bytes, or like
// "a b") cannot be checked: every signature then reports a possible match.
func NewQuery(needle string) *Query {
	n := casemap.String(needle)
	q := &Query{}
	seen := map[uint32]bool{}
	for i := 0; i+3 <= len(n); i++ {
		if wordByte[n[i]]&wordByte[n[i+1]]&wordByte[n[i+2]] == 0 {
			continue
		}
		tri := uint32(n[i])<<16 | uint32(n[i+1])<<8 | uint32(n[i+2])
		if seen[tri] {
			continue
		}
		seen[tri] = true
		b1, b2 := hash(domainBody<<24 | tri + 1)
		q.body = append(q.body, [2]uint32{b1, b2})
		h1, h2 := hash(domainHeader<<24 | tri + 1)
		q.header = append(q.header, [2]uint32{h1, h2})
	}
	q.usable = len(q.body) > 0
	return q
}

// Usable reports whether the query can exclude anything.
func (q *Query) Usable() bool { return q.usable }

// Valid reports whether sig is a signature this package can read.
func Valid(sig []byte) bool {
	return len(sig) >= 2 && sig[0] == version && (sig[1] == 0 || len(sig) >= 2+minBytes && sig[1] <= 8)
}

func mayContain(sig []byte, hs [][2]uint32) bool {
	k := int(sig[1])
	if k == 0 {
		return true
	}
	f := sig[2:]
	m := len(f) * 8
	for _, h := range hs {
		for i := range k {
			b := probe(h[0], h[1], i, m)
			if f[b>>3]&(1<<(b&7)) == 0 {
				return false
			}
		}
	}
	return true
}

// MayContainBody reports whether the body text (SEARCH BODY) of the content
// whose signature is sig may contain the needle. It is true for every
// needle when sig is not Valid or the query not Usable.
func (q *Query) MayContainBody(sig []byte) bool {
	if !q.usable || !Valid(sig) {
		return true
	}
	return mayContain(sig, q.body)
}

// MayContainText reports whether the header or the body text (SEARCH
// TEXT) may contain the needle.
func (q *Query) MayContainText(sig []byte) bool {
	if !q.usable || !Valid(sig) {
		return true
	}
	return mayContain(sig, q.header) || mayContain(sig, q.body)
}
