package mime

import (
	"net/mail"
	"strings"
	"time"
)

// ParseDate parses a Date field value (RFC 5322 §3.3), with the obsolete
// forms of §4.3 that net/mail reads wrongly or not at all: the named US
// zones are their offsets (EST is -0500, PDT -0700: net/mail takes any
// zone name as +0000, or as the host's zone's offset when the host's zone
// has that name), and military single letters and other names are
// "-0000", as §4.3 asks for zones whose meaning is not known. Trailing
// comments ("(UTC)") may follow the zone.
func ParseDate(v string) (time.Time, error) {
	s := strings.TrimSpace(v)
	for strings.HasSuffix(s, ")") {
		i := strings.LastIndexByte(s, '(')
		if i < 0 {
			break
		}
		s = strings.TrimSpace(s[:i])
	}
	if i := strings.LastIndexAny(s, " \t"); i >= 0 {
		if off, ok := obsZone(s[i+1:]); ok {
			s = s[:i+1] + off
		}
	}
	return mail.ParseDate(s)
}

// obsZone maps an alphabetic zone (RFC 5322 §4.3 obs-zone, and the other
// names found in the wild) to a numeric one; ok is false for anything
// that is not all letters.
func obsZone(z string) (string, bool) {
	if z == "" || len(z) > 5 {
		return "", false
	}
	for i := 0; i < len(z); i++ {
		if c := z[i] | 0x20; c < 'a' || c > 'z' {
			return "", false
		}
	}
	switch strings.ToUpper(z) {
	case "UT", "GMT":
		return "+0000", true
	case "EDT":
		return "-0400", true
	case "EST", "CDT":
		return "-0500", true
	case "CST", "MDT":
		return "-0600", true
	case "MST", "PDT":
		return "-0700", true
	case "PST":
		return "-0800", true
	}
	return "-0000", true
}
