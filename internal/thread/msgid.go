package thread

import "strings"

// MessageIDs returns the valid message IDs in a Message-ID, In-Reply-To
// or References value, in order, each without its angle brackets and with
// white space removed (RFC 5322 §3.6.4 msg-id, with the obsolete forms
// Dovecot accepts): "<" id-left "@" id-right ">", where anything not
// looking like that is skipped, and so is text between IDs (phrases,
// comments).
func MessageIDs(v string) []string {
	var ids []string
	for {
		id, rest, ok := nextMessageID(v)
		if !ok {
			return ids
		}
		ids = append(ids, id)
		v = rest
	}
}

// FirstMessageID is the first valid message ID in v, "" when none.
func FirstMessageID(v string) string {
	id, _, _ := nextMessageID(v)
	return id
}

// nextMessageID finds the next valid message ID in v.
func nextMessageID(v string) (id, rest string, ok bool) {
	for {
		lt := strings.IndexByte(v, '<')
		if lt < 0 {
			return "", "", false
		}
		v = v[lt+1:]
		// The common form: no quotes, comments or literals before ">".
		at, end := false, -1
	scan:
		for i := 0; i < len(v); i++ {
			switch v[i] {
			case '@':
				at = true
			case '>':
				end = i
				break scan
			case '"', '(':
				break scan
			}
		}
		if end >= 0 {
			if at {
				return stripSpace(v[:end]), v[end+1:], true
			}
			v = v[end+1:]
			continue
		}
		if id, rest, ok := slowMessageID(v); ok {
			return id, rest, true
		}
		// Not an ID: look for the next "<" after this one.
	}
}

// slowMessageID parses id-left "@" id-right ">" where id-left may be a
// quoted string and comments and white space may stand around the parts.
func slowMessageID(v string) (id, rest string, ok bool) {
	var b strings.Builder
	v = skipCFWS(v)
	if strings.HasPrefix(v, `"`) {
		q, r, ok := quotedString(v)
		if !ok {
			return "", "", false
		}
		b.WriteString(q)
		v = skipCFWS(r)
	} else {
		a, r, ok := dotAtom(v)
		if !ok {
			return "", "", false
		}
		b.WriteString(a)
		v = r
	}
	if !strings.HasPrefix(v, "@") {
		return "", "", false
	}
	b.WriteByte('@')
	a, r, ok := dotAtom(skipCFWS(v[1:]))
	if !ok || !strings.HasPrefix(r, ">") {
		return "", "", false
	}
	b.WriteString(a)
	return b.String(), r[1:], true
}

// dotAtom reads atext *("." atext) with CFWS allowed around the dots;
// the result has no white space.
func dotAtom(v string) (string, string, bool) {
	var b strings.Builder
	for {
		n := 0
		for n < len(v) && isAtext(v[n]) {
			n++
		}
		if n == 0 {
			return "", v, false
		}
		b.WriteString(v[:n])
		v = skipCFWS(v[n:])
		if !strings.HasPrefix(v, ".") {
			return b.String(), v, true
		}
		b.WriteByte('.')
		v = skipCFWS(v[1:])
	}
}

// quotedString reads a quoted string, returning its content unescaped.
func quotedString(v string) (string, string, bool) {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case '"':
			return b.String(), v[i+1:], true
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return "", v, false
}

// skipCFWS skips white space and (nested) comments.
func skipCFWS(v string) string {
	for len(v) > 0 {
		switch v[0] {
		case ' ', '\t', '\r', '\n':
			v = v[1:]
		case '(':
			depth, i := 0, 0
			for ; i < len(v); i++ {
				if v[i] == '\\' {
					i++
					continue
				}
				if v[i] == '(' {
					depth++
				} else if v[i] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if i >= len(v) {
				return ""
			}
			v = v[i+1:]
		default:
			return v
		}
	}
	return v
}

func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
