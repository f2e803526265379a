package imap

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// SeqRange is one element of a sequence set (RFC 3501 §9 seq-range). Stop
// equals Start for a single number. 0 stands for "*", the largest number in
// use. Start may be greater than Stop ("4:2" means 2:4).
type SeqRange struct {
	Start, Stop uint32
}

// SeqSet is a sequence set of message numbers or UIDs (RFC 3501 §9
// sequence-set), or "$", the saved search result (RFC 5182 §2.1).
type SeqSet struct {
	Ranges []SeqRange
	Dollar bool // the set is "$"; Ranges is empty
}

// ErrBadSeqSet is returned by ParseSeqSet for malformed input.
var ErrBadSeqSet = errors.New("imap: invalid sequence set")

// ParseSeqSet parses a sequence set ("1:3,5,7:*") or "$".
func ParseSeqSet(s string) (SeqSet, error) {
	if s == "$" {
		return SeqSet{Dollar: true}, nil
	}
	if s == "" {
		return SeqSet{}, ErrBadSeqSet
	}
	var set SeqSet
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		start, err := parseSeqNumber(a)
		if err != nil {
			return SeqSet{}, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNumber(b); err != nil {
				return SeqSet{}, err
			}
		}
		set.Ranges = append(set.Ranges, SeqRange{Start: start, Stop: stop})
	}
	return set, nil
}

// parseSeqNumber parses seq-number: nz-number or "*" (as 0).
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	if s == "" || s[0] == '0' {
		return 0, ErrBadSeqSet
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrBadSeqSet
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, ErrBadSeqSet
	}
	return uint32(n), nil
}

// bounds returns the range as lo <= hi with "*" replaced by max.
func (r SeqRange) bounds(max uint32) (lo, hi uint32) {
	lo, hi = r.Start, r.Stop
	if lo == 0 {
		lo = max
	}
	if hi == 0 {
		hi = max
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// Contains reports whether n is in the set, with "*" standing for max (the
// number of messages, or the largest UID in use). It is false for "$": the
// caller resolves the saved result first.
func (s SeqSet) Contains(n, max uint32) bool {
	for _, r := range s.Ranges {
		lo, hi := r.bounds(max)
		if n >= lo && n <= hi {
			return true
		}
	}
	return false
}

// Dynamic reports whether the set uses "*".
func (s SeqSet) Dynamic() bool {
	for _, r := range s.Ranges {
		if r.Start == 0 || r.Stop == 0 {
			return true
		}
	}
	return false
}

// Expand returns the numbers of the set that lie in 1..max, ascending and
// without duplicates, "*" standing for max. Numbers above max are dropped, so
// memory is bounded by max whatever the client sent. "$" expands to nothing.
func (s SeqSet) Expand(max uint32) []uint32 {
	var ranges [][2]uint32
	for _, r := range s.Ranges {
		lo, hi := r.bounds(max)
		if lo == 0 || lo > max {
			continue
		}
		if hi > max {
			hi = max
		}
		ranges = append(ranges, [2]uint32{lo, hi})
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
	var out []uint32
	var next uint32 = 1 // smallest number not yet emitted
	for _, r := range ranges {
		lo := r[0]
		if lo < next {
			lo = next
		}
		for n := lo; n <= r[1]; n++ {
			out = append(out, n)
			if n == ^uint32(0) {
				break
			}
		}
		if r[1]+1 > next {
			next = r[1] + 1
		}
	}
	return out
}

// String renders the set in IMAP syntax, "$" for Dollar.
func (s SeqSet) String() string {
	if s.Dollar {
		return "$"
	}
	var b strings.Builder
	for i, r := range s.Ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		writeSeqNumber(&b, r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			writeSeqNumber(&b, r.Stop)
		}
	}
	return b.String()
}

func writeSeqNumber(b *strings.Builder, n uint32) {
	if n == 0 {
		b.WriteByte('*')
		return
	}
	b.WriteString(strconv.FormatUint(uint64(n), 10))
}

// SeqSetFromNumbers builds the most compact set holding the given numbers
// (any order, duplicates allowed): 1,2,3,5 becomes "1:3,5".
func SeqSetFromNumbers(nums []uint32) SeqSet {
	if len(nums) == 0 {
		return SeqSet{}
	}
	sorted := append([]uint32(nil), nums...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var set SeqSet
	cur := SeqRange{Start: sorted[0], Stop: sorted[0]}
	for _, n := range sorted[1:] {
		switch {
		case n == cur.Stop:
		case n == cur.Stop+1:
			cur.Stop = n
		default:
			set.Ranges = append(set.Ranges, cur)
			cur = SeqRange{Start: n, Stop: n}
		}
	}
	set.Ranges = append(set.Ranges, cur)
	return set
}
