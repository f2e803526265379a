package thread

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/letterbox/letterbox/internal/mime"
)

// Casemap folds s for comparison the way Dovecot's i;unicode-casemap does
// (RFC 5051): every character titlecased, then decomposed (compatibility
// decomposition), so that "ü", "Ü" and "U"+U+0308 compare equal. ASCII
// comes out upper-cased, which matters for the order of [ \ ] ^ _ `
// against letters. Invalid UTF-8 becomes U+FFFD.
func Casemap(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(unicode.ToTitle(r))
	}
	return norm.NFKD.String(b.String())
}

// BaseSubject returns the base subject of a Subject header value (RFC 5256
// §2.1), casemapped (see Casemap) as the SORT and THREAD comparisons use
// it, and whether the subject was a reply or forward (a subj-refwd leader,
// a "(fwd)" trailer or a "[fwd: ...]" wrapper was removed). raw is the
// field value as written: RFC 2047 encoded words are decoded here.
func BaseSubject(raw string) (base string, replyOrForward bool) {
	// (1) Decode encoded words to UTF-8; tabs and continuations become
	// spaces, runs of spaces one space.
	s := packSpace(Casemap(mime.DecodeHeaderReplacing(raw)))
	for {
		// (2) Remove trailers: "(fwd)" and white space, repeatedly.
		for {
			if t := strings.TrimSuffix(s, " "); t != s {
				s = t
			} else if t := strings.TrimSuffix(s, "(FWD)"); t != s {
				s, replyOrForward = t, true
			} else {
				break
			}
		}
		for {
			// (3) Remove a subj-leader; (4) a leading subj-blob when
			// something is left after it; (5) until neither applies.
			found := false
			if t, rf, ok := cutLeader(s); ok {
				s, found = t, true
				replyOrForward = replyOrForward || rf
			}
			if t, ok := cutBlob(s); ok && t != "" {
				s, found = t, true
			}
			if !found {
				break
			}
		}
		// (6) "[fwd: subject]": unwrap and start again from (2).
		if len(s) >= len("[FWD:") && strings.HasPrefix(s, "[FWD:") && s[len(s)-1] == ']' {
			s, replyOrForward = s[len("[FWD:"):len(s)-1], true
			continue
		}
		return s, replyOrForward
	}
}

// packSpace turns tabs, CR and LF into spaces and runs of them into one.
func packSpace(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t' || s[i+1] == '\r' || s[i+1] == '\n') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		b.WriteByte(c)
		space = false
	}
	return b.String()
}

// cutBlob removes a leading subj-blob ("[" *BLOBCHAR "]" *WSP); ok is
// false when s does not start with one.
func cutBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s, false
	}
	return strings.TrimPrefix(s[end+2:], " "), true
}

// cutLeader removes a subj-leader: a leading space, or *subj-blob
// subj-refwd where subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
// A leading space goes in any case; the rest only as a whole.
func cutLeader(s string) (rest string, replyOrForward, ok bool) {
	if strings.HasPrefix(s, " ") {
		s, ok = s[1:], true
	}
	t := s
	for strings.HasPrefix(t, "[") {
		var cut bool
		if t, cut = cutBlob(t); !cut {
			return s, false, ok
		}
	}
	switch {
	case strings.HasPrefix(t, "RE"):
		t = t[2:]
	case strings.HasPrefix(t, "FWD"):
		t = t[3:]
	case strings.HasPrefix(t, "FW"):
		t = t[2:]
	default:
		return s, false, ok
	}
	t = strings.TrimPrefix(t, " ")
	if strings.HasPrefix(t, "[") {
		var cut bool
		if t, cut = cutBlob(t); !cut {
			return s, false, ok
		}
	}
	if !strings.HasPrefix(t, ":") {
		return s, false, ok
	}
	return t[1:], true, true
}
