package imap

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 mailbox names (RFC 3501 §5.1.3): printable US-ASCII
// (0x20-0x7e) stands for itself except "&", which is "&-"; every other
// character is UTF-16BE in modified BASE64 (',' for '/', no padding)
// between "&" and "-".

const mutf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// ErrBadMailboxName is returned for a mailbox name that is not valid
// modified UTF-7 (or, in UTF-8 mode, not valid UTF-8).
var ErrBadMailboxName = errors.New("imap: invalid mailbox name encoding")

var mutf7Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(mutf7Alphabet); i++ {
		t[mutf7Alphabet[i]] = int8(i)
	}
	return t
}()

// EncodeMailboxName encodes a UTF-8 mailbox name in modified UTF-7.
// Invalid UTF-8 octets are encoded as U+FFFD.
func EncodeMailboxName(name string) string {
	var b strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		b.WriteByte('&')
		units := utf16.Encode(pending)
		buf := make([]byte, 0, len(units)*2)
		for _, u := range units {
			buf = append(buf, byte(u>>8), byte(u))
		}
		var acc uint32
		bits := 0
		for _, c := range buf {
			acc = acc<<8 | uint32(c)
			bits += 8
			for bits >= 6 {
				bits -= 6
				b.WriteByte(mutf7Alphabet[(acc>>bits)&0x3f])
			}
		}
		if bits > 0 {
			b.WriteByte(mutf7Alphabet[(acc<<(6-bits))&0x3f])
		}
		b.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range name {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			pending = append(pending, r)
		}
	}
	flush()
	return b.String()
}

// DecodeMailboxName decodes a modified UTF-7 mailbox name to UTF-8. It is
// strict, so that every name has one encoding: raw octets outside
// 0x20-0x7e, bad BASE64, non-zero padding bits, encoded printable ASCII,
// empty or adjacent shifts and unpaired surrogates are errors.
func DecodeMailboxName(s string) (string, error) {
	var b strings.Builder
	prevShiftEnd := -1 // index just after the last "&...-" with content
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrBadMailboxName
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", ErrBadMailboxName
		}
		enc := s[i+1 : i+1+end]
		if enc == "" {
			b.WriteByte('&')
			i += 2
			continue
		}
		if prevShiftEnd == i {
			return "", ErrBadMailboxName // "&AOk-&AOk-" must be one shift
		}
		if err := decodeShift(&b, enc); err != nil {
			return "", err
		}
		i += end + 2
		prevShiftEnd = i
	}
	return b.String(), nil
}

// decodeShift decodes the modified BASE64 between "&" and "-".
func decodeShift(b *strings.Builder, enc string) error {
	var acc uint32
	bits := 0
	var units []uint16
	var hi byte
	haveHi := false
	for i := 0; i < len(enc); i++ {
		v := mutf7Index[enc[i]]
		if v < 0 {
			return ErrBadMailboxName
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			octet := byte(acc >> bits)
			if haveHi {
				units = append(units, uint16(hi)<<8|uint16(octet))
				haveHi = false
			} else {
				hi, haveHi = octet, true
			}
		}
	}
	if haveHi || bits >= 6 || acc&(1<<bits-1) != 0 {
		return ErrBadMailboxName
	}
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		if utf16.IsSurrogate(r) {
			// Only a high surrogate followed by a low one is a character.
			if r >= 0xdc00 || i+1 == len(units) {
				return ErrBadMailboxName
			}
			r = utf16.DecodeRune(r, rune(units[i+1]))
			if r == utf8.RuneError {
				return ErrBadMailboxName
			}
			i++
		}
		if r >= 0x20 && r <= 0x7e {
			return ErrBadMailboxName // printable ASCII must not be encoded
		}
		b.WriteRune(r)
	}
	return nil
}

// decodeMailboxNameLenient is DecodeMailboxName, except that a name holding
// 8-bit octets that form valid UTF-8 is taken as UTF-8 whose "&" shifts are
// still modified UTF-7. go-imap v2 (and other clients that read RFC 9051 §5.1
// as "a server advertising IMAP4rev2 takes UTF-8 names") sends names this way
// without ENABLE. Such names are unambiguous: modified UTF-7 never holds
// 8-bit octets, so no strictly encoded name is read differently.
func decodeMailboxNameLenient(s string) (string, error) {
	if !has8bit(s) {
		return DecodeMailboxName(s)
	}
	if !utf8.ValidString(s) {
		return "", ErrBadMailboxName
	}
	var b strings.Builder
	for s != "" {
		amp := strings.IndexByte(s, '&')
		if amp < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:amp])
		end := strings.IndexByte(s[amp:], '-')
		if end < 0 {
			return "", ErrBadMailboxName
		}
		shift, err := DecodeMailboxName(s[amp : amp+end+1])
		if err != nil {
			return "", err
		}
		b.WriteString(shift)
		s = s[amp+end+1:]
	}
	return b.String(), nil
}

func has8bit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}
