package mime

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// isUTF8Name reports whether cs names UTF-8 or a subset of it.
func isUTF8Name(cs string) bool {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "us_ascii", "ansi_x3.4-1968":
		return true
	}
	return false
}

// toUTF8 converts b from charset cs to UTF-8. It never loses text: an unknown
// charset or a failed conversion falls back to lenientUTF8.
func toUTF8(cs string, b []byte) string { return convertUTF8(cs, b, lenientUTF8) }

// convertUTF8 is toUTF8 with fix making UTF-8 of what is not.
func convertUTF8(cs string, b []byte, fix func([]byte) string) string {
	if isUTF8Name(cs) {
		return fix(b)
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return fix(b)
	}
	out, err := io.ReadAll(r)
	if err != nil || !utf8.Valid(out) {
		return fix(b)
	}
	return string(out)
}

// lenientUTF8 keeps valid UTF-8 sequences and reads every other byte as
// Latin-1, so 8-bit junk in any charset still becomes searchable text.
func lenientUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendLenient(make([]byte, 0, len(b)+len(b)/4), b))
}

// appendLenient appends b to dst as lenientUTF8 converts it.
func appendLenient(dst, b []byte) []byte {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			dst = utf8.AppendRune(dst, rune(b[0]))
			b = b[1:]
			continue
		}
		dst = append(dst, b[:n]...)
		b = b[n:]
	}
	return dst
}

// charsetReader converts r from charset cs to UTF-8 as a stream, with the
// same fallback as toUTF8.
func charsetReader(cs string, r io.Reader) io.Reader {
	if !isUTF8Name(cs) {
		if cr, err := charset.Reader(cs, r); err == nil {
			return cr
		}
	}
	return &lenientReader{r: r}
}

// lenientReader applies lenientUTF8 to a stream, carrying incomplete UTF-8
// sequences across reads. Valid text (nearly all of it) is handed out of
// its read buffer as it is; only a read with invalid octets is converted,
// into a second buffer. Both are kept across reads: decoding each text
// part at delivery (search signature, preview) went through here, and its
// three allocations and copies per 4 KiB were a fifth of that work.
type lenientReader struct {
	r       io.Reader
	carry   [utf8.UTFMax]byte // an incomplete sequence held back
	ncarry  int
	pending []byte // converted, not yet read: in buf or out
	buf     []byte // carry, then one read of r
	out     []byte
	err     error
}

// lenientReadSize is how much lenientReader reads from r at a time.
const lenientReadSize = 4096

func (l *lenientReader) Read(p []byte) (int, error) {
	for len(l.pending) == 0 {
		if l.err != nil {
			if l.ncarry > 0 {
				l.out = appendLenient(l.out[:0], l.carry[:l.ncarry])
				l.pending = l.out
				l.ncarry = 0
				break
			}
			return 0, l.err
		}
		if l.buf == nil {
			l.buf = make([]byte, utf8.UTFMax+lenientReadSize)
		}
		c := copy(l.buf, l.carry[:l.ncarry])
		n, err := l.r.Read(l.buf[c : c+lenientReadSize])
		l.err = err
		data := l.buf[:c+n]
		// Hold back a possibly incomplete sequence at the end.
		keep := 0
		for k := 1; k <= 3 && k <= len(data); k++ {
			c := data[len(data)-k]
			if c >= 0xC0 {
				if need := utf8Len(c); need > k {
					keep = k
				}
				break
			}
			if c < 0x80 {
				break
			}
		}
		if l.err != nil {
			keep = 0
		}
		body := data[:len(data)-keep]
		l.ncarry = copy(l.carry[:], data[len(data)-keep:])
		if utf8.Valid(body) {
			l.pending = body
		} else {
			l.out = appendLenient(l.out[:0], body)
			l.pending = l.out
		}
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

func utf8Len(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	default:
		return 2
	}
}

// DecodeHeader decodes RFC 2047 encoded words in a header value to UTF-8.
// White space between adjacent encoded words is dropped (RFC 2047 §6.2) and
// adjacent words in one charset are converted together, so a character split
// across words survives. It never fails: a malformed word stays as written,
// an unknown charset or raw 8-bit text is read as UTF-8 where valid and as
// Latin-1 otherwise.
func DecodeHeader(v string) string { return decodeHeader(v, lenientUTF8) }

// DecodeHeaderReplacing is DecodeHeader with invalid UTF-8 (raw 8-bit
// text, a UTF-8 or unknown-charset word that is not UTF-8) replaced by
// U+FFFD, a run of bad bytes by one, instead of read as Latin-1: the
// text SORT and THREAD compare (RFC 5256 §2.1, RFC 5957 §3.1), as
// Dovecot's i;unicode-casemap normalisation makes it.
func DecodeHeaderReplacing(v string) string { return decodeHeader(v, replacingUTF8) }

func replacingUTF8(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

func decodeHeader(v string, fix func([]byte) string) string {
	if !strings.Contains(v, "=?") {
		return fix([]byte(v))
	}
	var out strings.Builder
	var pendCS string
	var pend []byte
	havePend := false
	flush := func() {
		if havePend {
			out.WriteString(convertUTF8(pendCS, pend, fix))
			pend, havePend = pend[:0], false
		}
	}
	i, failures := 0, 0
	for i < len(v) {
		j := strings.Index(v[i:], "=?")
		if j < 0 || failures > maxWordFailures {
			flush()
			out.WriteString(fix([]byte(v[i:])))
			break
		}
		between := v[i : i+j]
		cs, decoded, n, ok := encodedWord(v[i+j:])
		if !ok {
			failures++
			flush()
			out.WriteString(fix([]byte(v[i : i+j+2])))
			i += j + 2
			continue
		}
		if !havePend || strings.Trim(between, " \t\r\n") != "" {
			flush()
			out.WriteString(fix([]byte(between)))
		}
		if havePend && !strings.EqualFold(cs, pendCS) {
			flush()
		}
		pendCS, havePend = cs, true
		pend = append(pend, decoded...)
		i += j + n
	}
	flush()
	return out.String()
}

// maxWordFailures bounds the malformed "=?" a header value may have before
// DecodeHeader stops looking for encoded words in it, so that hostile
// input cannot make it quadratic.
const maxWordFailures = 64

// maxWordLen bounds the length of one encoded word.
const maxWordLen = 4096

// encodedWord parses "=?charset?encoding?text?=" at the start of s (RFC 2047
// §2) and returns the charset (without an RFC 2231 language suffix), the
// decoded octets and the length of the word. RFC 2047 allows 75 octets;
// longer words, which real mailers write, are accepted up to maxWordLen.
func encodedWord(s string) (cs string, decoded []byte, n int, ok bool) {
	s = s[:min(len(s), maxWordLen)]
	q1 := strings.IndexByte(s[2:], '?')
	if q1 < 0 {
		return "", nil, 0, false
	}
	q1 += 2
	if q1+2 >= len(s) || s[q1+2] != '?' {
		return "", nil, 0, false
	}
	enc := s[q1+1]
	end := strings.Index(s[q1+3:], "?=")
	if end < 0 {
		return "", nil, 0, false
	}
	text := s[q1+3 : q1+3+end]
	cs = s[2:q1]
	if cs == "" || strings.ContainsAny(cs, " \t\r\n") || strings.ContainsAny(text, " \t\r\n") {
		return "", nil, 0, false
	}
	if k := strings.IndexByte(cs, '*'); k >= 0 {
		cs = cs[:k]
	}
	switch enc {
	case 'b', 'B':
		decoded = lenientBase64(text)
	case 'q', 'Q':
		decoded = qDecode(text)
	default:
		return "", nil, 0, false
	}
	return cs, decoded, q1 + 3 + end + 2, true
}

// lenientBase64 decodes base64, ignoring white space, missing padding and
// trailing junk.
func lenientBase64(s string) []byte {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		} else if c == '=' {
			break
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}

// qDecode decodes the RFC 2047 §4.2 "Q" encoding: "_" is a space, =XX an
// octet; a malformed escape stays as written.
func qDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}
