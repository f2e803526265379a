package sqlite

import (
	"strings"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/store"
)

// normalizeAccount: account names are stored lower-cased.
func normalizeAccount(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// normalizeMailbox validates a mailbox name and returns its stored form:
// "" and any case of INBOX become "INBOX", and a first level spelled INBOX
// in any case is written "INBOX" so "inbox/x" is a child of INBOX
// (RFC 3501 §5.1). Other names are case-sensitive.
//
// Refused with store.ErrInvalidName: empty levels (leading, trailing or
// doubled '/'), "." and ".." levels, control characters, invalid UTF-8 and
// the LIST wildcards '*' and '%' (RFC 3501 §6.3.8), which no client could
// name unambiguously.
func normalizeMailbox(name string) (string, error) {
	if name == "" {
		return store.InboxName, nil
	}
	if !utf8.ValidString(name) {
		return "", store.ErrInvalidName
	}
	levels := strings.Split(name, string(store.HierarchySeparator))
	for _, l := range levels {
		if l == "" || l == "." || l == ".." {
			return "", store.ErrInvalidName
		}
		for _, r := range l {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '*' || r == '%' {
				return "", store.ErrInvalidName
			}
		}
	}
	if strings.EqualFold(levels[0], store.InboxName) {
		levels[0] = store.InboxName
	}
	return strings.Join(levels, string(store.HierarchySeparator)), nil
}

// parentNames returns the ancestors of a normalised name, outermost first.
func parentNames(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == store.HierarchySeparator {
			out = append(out, name[:i])
		}
	}
	return out
}
