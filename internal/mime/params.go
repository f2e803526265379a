package mime

import (
	"sort"
	"strconv"
	"strings"
)

// tspecials of RFC 2045 §5.1, which end a token.
const tspecials = "()<>@,;:\\\"/[]?="

// skipCFWS skips white space and (nested) comments.
func skipCFWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '(':
			depth := 0
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' {
					i++
				} else if c == '(' {
					depth++
				} else if c == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
		default:
			return i
		}
	}
	return min(i, len(s))
}

// token reads an RFC 2045 token at s[i:].
func token(s string, i int) (string, int) {
	j := i
	for j < len(s) && s[j] > ' ' && s[j] != 0x7f && !strings.ContainsRune(tspecials, rune(s[j])) {
		j++
	}
	return s[i:j], j
}

// quotedString reads a quoted string at s[i] == '"', unquoting it; an
// unterminated string runs to the end.
func quotedString(s string, i int) (string, int) {
	var b strings.Builder
	i++
	for i < len(s) {
		c := s[i]
		switch c {
		case '"':
			return b.String(), i + 1
		case '\\':
			if i+1 < len(s) {
				i++
				c = s[i]
			}
		case '\r', '\n':
			i++
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), i
}

// firstToken returns the first token of a field value (for
// Content-Transfer-Encoding).
func firstToken(v string) string {
	t, _ := token(v, skipCFWS(v, 0))
	return t
}

// parseContentType parses a Content-Type value (RFC 2045 §5.1). ok is false
// when the type/subtype is unusable; the parameters are still returned.
func parseContentType(v string) (typ, sub string, params []Param, ok bool) {
	i := skipCFWS(v, 0)
	typ, i = token(v, i)
	i = skipCFWS(v, i)
	if i < len(v) && v[i] == '/' {
		i = skipCFWS(v, i+1)
		sub, i = token(v, i)
	}
	params = parseParams(v, i)
	if typ == "" || sub == "" {
		return "", "", params, false
	}
	return strings.ToLower(typ), strings.ToLower(sub), params, true
}

// parseDisposition parses a Content-Disposition value (RFC 2183).
func parseDisposition(v string) (string, []Param) {
	i := skipCFWS(v, 0)
	typ, i := token(v, i)
	return strings.ToLower(typ), parseParams(v, i)
}

// parseLanguage parses a Content-Language value (RFC 3282): a comma
// separated list of language tags.
func parseLanguage(v string) []string {
	var langs []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if i := strings.IndexByte(f, '('); i >= 0 {
			f = strings.TrimSpace(f[:i])
		}
		if f != "" {
			langs = append(langs, f)
		}
	}
	return langs
}

// rawParam is a parameter before RFC 2231 merging.
type rawParam struct {
	name, value string
}

// parseParams parses "; name=value" parameters from s[i:], tolerantly: a
// missing ';' or '=' skips to the next ';', an unquoted value runs to the
// next ';' (real mailers write unquoted values with spaces and tspecials).
func parseParams(s string, i int) []Param {
	var raw []rawParam
	for i < len(s) {
		i = skipCFWS(s, i)
		if i >= len(s) {
			break
		}
		if s[i] == ';' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ';' {
			j++
		}
		name := strings.ToLower(strings.TrimSpace(s[i:j]))
		if j >= len(s) || s[j] == ';' {
			i = j // no "=": not a parameter
			continue
		}
		if name == "" || strings.ContainsAny(name, " \t\"") {
			k := strings.IndexByte(s[j:], ';') // junk: skip to the next parameter
			if k < 0 {
				break
			}
			i = j + k
			continue
		}
		i = skipCFWS(s, j+1)
		var value string
		if i < len(s) && s[i] == '"' {
			value, i = quotedString(s, i)
			for i < len(s) && s[i] != ';' { // junk after the quoted string
				i++
			}
		} else {
			j := strings.IndexByte(s[i:], ';')
			if j < 0 {
				j = len(s) - i
			}
			value = strings.TrimSpace(s[i : i+j])
			if k := strings.IndexAny(value, " \t"); k >= 0 && strings.HasSuffix(value, ")") {
				if c := strings.IndexByte(value[k:], '('); c >= 0 && strings.TrimSpace(value[k:k+c]) == "" {
					value = value[:k] // a trailing comment
				}
			}
			i += j
		}
		raw = append(raw, rawParam{name, value})
	}
	return mergeParams(raw)
}

// mergeParams merges RFC 2231 §3 continuations (name*0, name*1*, ...) and
// keeps the first occurrence of every name. A merged parameter with any
// extended segment is named "name*" and keeps the charset'language'%XX form,
// plain segments being %-encoded.
func mergeParams(raw []rawParam) []Param {
	type segment struct {
		n        int
		extended bool
		value    string
	}
	var params []Param
	seen := map[string]bool{}
	conts := map[string][]segment{}
	for _, p := range raw {
		base, rest, star := strings.Cut(p.name, "*")
		if star && rest != "" {
			numStr, ext := strings.CutSuffix(rest, "*")
			if n, err := strconv.Atoi(numStr); err == nil && n >= 0 && n < 10000 {
				if _, ok := conts[base]; !ok {
					if seen[base+"*"] || seen[base] {
						continue
					}
					conts[base] = nil
					params = append(params, Param{Name: base + "\x00"}) // placeholder
				}
				conts[base] = append(conts[base], segment{n, ext, p.value})
				continue
			}
		}
		if seen[p.name] {
			continue
		}
		seen[p.name] = true
		params = append(params, Param{p.name, p.value})
	}
	out := params[:0]
	for _, p := range params {
		base, isCont := strings.CutSuffix(p.Name, "\x00")
		if !isCont {
			out = append(out, p)
			continue
		}
		segs := conts[base]
		sort.SliceStable(segs, func(a, b int) bool { return segs[a].n < segs[b].n })
		extended := false
		for _, s := range segs {
			extended = extended || s.extended
		}
		var b strings.Builder
		for k, s := range segs {
			if k > 0 && s.n == segs[k-1].n {
				continue // duplicate segment number
			}
			switch {
			case !extended:
				b.WriteString(s.value)
			case k == 0 && !(s.extended && s.n == 0):
				// The charset'language' prefix belongs to an extended segment 0.
				b.WriteString("''")
				fallthrough
			default:
				if s.extended {
					b.WriteString(s.value)
				} else {
					b.WriteString(percentEncode(s.value))
				}
			}
		}
		name := base
		if extended {
			name += "*"
		}
		out = append(out, Param{name, b.String()})
	}
	return out
}

func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(tspecials+"*'%", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ParamValue returns the value of parameter name (lower-case) in params: the
// RFC 2231 extended form "name*" decoded to UTF-8 when present, else the
// plain "name". "" when absent.
func ParamValue(params []Param, name string) string {
	for _, p := range params {
		if p.Name == name+"*" {
			return decode2231(p.Value)
		}
	}
	for _, p := range params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// decode2231 decodes charset'language'%XX (RFC 2231 §4) to UTF-8, best
// effort: a bad escape is kept as written, an unknown charset falls back to
// UTF-8 or Latin-1.
func decode2231(v string) string {
	cs, rest, ok := strings.Cut(v, "'")
	if !ok {
		return v
	}
	_, text, ok := strings.Cut(rest, "'")
	if !ok {
		text = rest
	}
	return toUTF8(cs, []byte(unescapeLoose(text)))
}

// unescapeLoose decodes %XX escapes and keeps anything else as written.
func unescapeLoose(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
