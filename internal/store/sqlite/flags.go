package sqlite

import (
	"slices"
	"strings"
	"sync"
)

// Flags are normalised by store.NormalizeFlags and changed by
// store.ApplyFlags; here is only their column encoding: the sorted list
// joined by single spaces (flags never contain white space).

func joinFlags(f []string) string { return strings.Join(f, " ") }

// splitFlags decodes the column. Lists are interned: a mailbox holds few
// distinct flag lists, so reading 10,000 rows need not make 10,000
// slices. The slices are shared and must not be modified; they are
// clipped, so an append copies.
func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	flagLists.RLock()
	l, ok := flagLists.m[s]
	flagLists.RUnlock()
	if ok {
		return l
	}
	l = slices.Clip(strings.Split(s, " "))
	flagLists.Lock()
	if len(flagLists.m) < maxFlagLists {
		flagLists.m[s] = l
	}
	flagLists.Unlock()
	return l
}

// flagLists interns decoded flag lists (splitFlags), at most maxFlagLists
// of them (the first ones seen; keywords are few in practice).
var flagLists = struct {
	sync.RWMutex
	m map[string][]string
}{m: make(map[string][]string)}

const maxFlagLists = 4096

// storedFlags is flags as a read of the stored column returns them
// (never nil).
func storedFlags(flags []string) []string {
	if len(flags) == 0 {
		return []string{}
	}
	return flags
}

func hasFlag(list []string, f string) bool { return slices.Contains(list, f) }
