package sqlite

import (
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

var systemFlags = []string{store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft}

// canonicalFlag spells a system flag the RFC 3501 §2.3.2 way (\seen →
// \Seen). Other flags (keywords) are kept as given. \Recent is never
// stored: it returns "".
func canonicalFlag(f string) string {
	if strings.HasPrefix(f, `\`) {
		for _, sf := range systemFlags {
			if strings.EqualFold(f, sf) {
				return sf
			}
		}
		if strings.EqualFold(f, `\Recent`) {
			return ""
		}
	}
	return f
}

// flagKey compares flags case-insensitively (IMAP flag names are not
// case-sensitive), so "$Label" and "$label" are one keyword: the spelling
// first stored wins.
func flagKey(f string) string { return strings.ToLower(f) }

// normalizeFlags canonicalises, removes empty entries and duplicates, and
// sorts.
func normalizeFlags(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, f := range in {
		f = canonicalFlag(strings.TrimSpace(f))
		if f == "" || strings.ContainsAny(f, " \t\r\n") {
			continue
		}
		k := flagKey(f)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// applyFlags computes the flags after a STORE (RFC 3501 §6.4.6). cur and
// arg are normalised; the result is normalised.
func applyFlags(cur []string, op store.FlagOp, arg []string) []string {
	switch op {
	case store.FlagsReplace:
		return arg
	case store.FlagsAdd:
		out := slices.Clone(cur)
		for _, f := range arg {
			if !containsFlag(cur, f) {
				out = append(out, f)
			}
		}
		slices.Sort(out)
		return out
	case store.FlagsRemove:
		out := make([]string, 0, len(cur))
		for _, f := range cur {
			if !containsFlag(arg, f) {
				out = append(out, f)
			}
		}
		return out
	}
	return cur
}

func containsFlag(list []string, f string) bool {
	k := flagKey(f)
	for _, g := range list {
		if flagKey(g) == k {
			return true
		}
	}
	return false
}

// sameFlags compares two normalised lists exactly: a change of spelling
// through FLAGS replace counts as a change.
func sameFlags(a, b []string) bool { return slices.Equal(a, b) }

func joinFlags(f []string) string { return strings.Join(f, " ") }

func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

func hasFlag(list []string, f string) bool { return slices.Contains(list, f) }
