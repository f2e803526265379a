package sqlite

import (
	"slices"
	"strings"
)

// Flags are normalised by store.NormalizeFlags and changed by
// store.ApplyFlags; here is only their column encoding: the sorted list
// joined by single spaces (flags never contain white space).

func joinFlags(f []string) string { return strings.Join(f, " ") }

func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

// storedFlags is flags as a read of the stored column returns them
// (never nil).
func storedFlags(flags []string) []string {
	if len(flags) == 0 {
		return []string{}
	}
	return flags
}

func hasFlag(list []string, f string) bool { return slices.Contains(list, f) }
