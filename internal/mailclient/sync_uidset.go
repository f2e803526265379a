package mailclient

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// formatUIDs writes UIDs as an IMAP sequence set with ranges (RFC 3501
// §9 sequence-set): "1:4,7,9:10".
func formatUIDs(uids []uint32) string {
	if len(uids) == 0 {
		return ""
	}
	s := append([]uint32(nil), uids...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && (s[j+1] == s[j] || s[j+1] == s[j]+1) {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(s[i]), 10))
		if s[j] != s[i] {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(s[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// uidRanges is a UID set from the server as ranges (a VANISHED set may
// name far more UIDs than ever existed here).
type uidRanges [][2]uint32

func (r uidRanges) has(uid uint32) bool {
	for _, x := range r {
		if uid >= x[0] && uid <= x[1] {
			return true
		}
	}
	return false
}

// parseUIDSet reads a UID set without "*" (VANISHED, SEARCH results,
// ESEARCH ALL).
func parseUIDSet(s string) (uidRanges, error) {
	var out uidRanges
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil || a == 0 {
			return nil, errors.New("bad UID set " + strconv.Quote(s))
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b == 0 {
				return nil, errors.New("bad UID set " + strconv.Quote(s))
			}
			if b < a {
				a, b = b, a
			}
		}
		out = append(out, [2]uint32{uint32(a), uint32(b)})
	}
	return out, nil
}
