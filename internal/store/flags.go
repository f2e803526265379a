package store

import (
	"slices"
	"strings"
)

// Flag rules shared by every driver (RFC 3501 §2.3.2, §6.4.6).

var systemFlags = []string{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft}

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

// NormalizeFlags canonicalises system flags, drops \Recent, empty entries,
// entries containing white space and case-insensitive duplicates, and
// sorts. Every flag list a driver stores is normalised.
func NormalizeFlags(in []string) []string {
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

// ApplyFlags computes the flags after a STORE (RFC 3501 §6.4.6). cur and
// arg are normalised; the result is normalised. Compare the result with
// cur using slices.Equal: a change of spelling through FLAGS replace
// counts as a change.
func ApplyFlags(cur []string, op FlagOp, arg []string) []string {
	switch op {
	case FlagsReplace:
		return arg
	case FlagsAdd:
		out := slices.Clone(cur)
		for _, f := range arg {
			if !containsFlag(cur, f) {
				out = append(out, f)
			}
		}
		slices.Sort(out)
		return out
	case FlagsRemove:
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

// PlanStore decides a STORE over messages whose current state is cur
// (ascending UID): a message changed after unchangedSince (if not 0) goes
// to Modified (RFC 7162 §3.1.3); one whose flags stay as they are goes to
// Unchanged and keeps its MODSEQ; every other one goes to Updated with its
// new flags and the next MODSEQ after highest, one change each (the rule
// storetest checks). It returns the new HIGHESTMODSEQ; the driver writes
// res.Updated in the same transaction it read cur in.
func PlanStore(cur []FlagUpdate, op FlagOp, flags []string, unchangedSince, highest ModSeq) (res StoreResult, newHighest ModSeq) {
	arg := NormalizeFlags(flags)
	res.Before = highest
	for _, m := range cur {
		if unchangedSince != 0 && m.ModSeq > unchangedSince {
			res.Modified = append(res.Modified, m.UID)
			continue
		}
		next := ApplyFlags(m.Flags, op, arg)
		if slices.Equal(next, m.Flags) {
			res.Unchanged = append(res.Unchanged, m)
			continue
		}
		highest++
		res.Updated = append(res.Updated, FlagUpdate{UID: m.UID, Flags: next, ModSeq: highest})
	}
	return res, highest
}
