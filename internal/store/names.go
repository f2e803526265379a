package store

import (
	"strings"
	"unicode/utf8"
)

// Name rules shared by every driver, so that all of them accept, refuse
// and spell account and mailbox names the same way.

// NormalizeAccount returns the stored form of an account name: trimmed and
// lower-cased.
func NormalizeAccount(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// NormalizeMailbox validates a mailbox name and returns its stored form:
// "" and any case of INBOX become "INBOX", and a first level spelled INBOX
// in any case is written "INBOX" so "inbox/x" is a child of INBOX
// (RFC 3501 §5.1). Other names are case-sensitive.
//
// Refused with ErrInvalidName: empty levels (leading, trailing or doubled
// '/'), "." and ".." levels, control characters, invalid UTF-8 and the
// LIST wildcards '*' and '%' (RFC 3501 §6.3.8), which no client could name
// unambiguously.
func NormalizeMailbox(name string) (string, error) {
	if name == "" {
		return InboxName, nil
	}
	if !utf8.ValidString(name) {
		return "", ErrInvalidName
	}
	levels := strings.Split(name, string(HierarchySeparator))
	for _, l := range levels {
		if l == "" || l == "." || l == ".." {
			return "", ErrInvalidName
		}
		for _, r := range l {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '*' || r == '%' {
				return "", ErrInvalidName
			}
		}
	}
	if strings.EqualFold(levels[0], InboxName) {
		levels[0] = InboxName
	}
	return strings.Join(levels, string(HierarchySeparator)), nil
}

// ParentNames returns the ancestors of a normalised mailbox name, outermost
// first ("a/b/c" → "a", "a/b").
func ParentNames(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == HierarchySeparator {
			out = append(out, name[:i])
		}
	}
	return out
}

// ValidSpecialUse reports whether su is "" or one of the RFC 6154
// attributes a mailbox may carry.
func ValidSpecialUse(su string) bool {
	switch su {
	case "", SpecialAll, SpecialArchive, SpecialDrafts, SpecialFlagged,
		SpecialJunk, SpecialSent, SpecialTrash:
		return true
	}
	return false
}
