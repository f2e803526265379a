package imap

// Character classes of the formal syntax (RFC 3501 §9).

// isAtomChar: ATOM-CHAR = any CHAR except atom-specials
// (atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
// quoted-specials / resp-specials).
func isAtomChar(c byte) bool {
	if c <= 0x1f || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAStringChar: ASTRING-CHAR = ATOM-CHAR / resp-specials.
func isAStringChar(c byte) bool { return c == ']' || isAtomChar(c) }

// isListChar: list-char = ATOM-CHAR / list-wildcards / resp-specials.
func isListChar(c byte) bool { return c == '%' || c == '*' || isAStringChar(c) }

// isAtomString reports whether s is a non-empty atom (astring chars when
// astring is set).
func isAtomString(s string, astring bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if astring && !isAStringChar(s[i]) || !astring && !isAtomChar(s[i]) {
			return false
		}
	}
	return true
}
