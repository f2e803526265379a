package imapserver

import (
	"cmp"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdSort: SORT and UID SORT (RFC 5256 §3) with the sort keys of RFC 5256
// and SORT=DISPLAY (RFC 5957), and ESORT / CONTEXT=SORT return options
// (RFC 5267 §3, §4.4) with live results (RETURN (UPDATE), CONTEXT=SORT,
// RFC 5267 §4, update.go). The search criteria go through SEARCH's evaluation;
// the matches are then ordered by the criteria, ties by sequence number
// (RFC 5256 §3), comparing strings after i;unicode-casemap folding and
// dates to the second, as Dovecot does.
func (s *session) cmdSort(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.SortArgs)
	save := slices.Contains(a.Search.Return, "SAVE")
	update := slices.Contains(a.Search.Return, "UPDATE")
	if update {
		if err := s.checkUpdateTag(cmd.Tag); err != nil {
			return "", err
		}
	}
	r, err := s.searchMatches(a.Search.Charset, a.Search.Key)
	if err != nil {
		if save {
			s.saved = nil // a failed SAVE empties the saved result (RFC 5182 §2.1)
		}
		return "", err
	}
	msgs, err := s.sortMessages(r, false)
	if err != nil {
		if save {
			s.saved = nil
		}
		return "", err
	}
	sortByCriteria(msgs, a.Criteria)
	if save {
		s.saved = slices.Clone(r.uids)
	}
	nums := make([]uint32, len(msgs))
	modseqs := make([]store.ModSeq, len(msgs))
	for i := range msgs {
		nums[i], modseqs[i] = uint32(msgs[i].seq), msgs[i].modseq
		if cmd.UID {
			nums[i] = uint32(msgs[i].uid)
		}
	}
	ret := a.Search.Return
	if ret == nil {
		// RFC 5256 §4: * SORT with the numbers in sort order; with a
		// MODSEQ criterion the highest MODSEQ (RFC 7162 §3.1.5).
		w := s.c.w
		w.StartUntagged()
		w.Raw("SORT")
		for _, n := range nums {
			w.SP()
			w.Number(uint64(n))
		}
		if r.withModSeq && len(nums) > 0 {
			w.Raw(" (MODSEQ ")
			w.Number(uint64(slices.Max(modseqs)))
			w.CloseList()
		}
		w.CRLF()
		return "", nil
	}
	if !save || len(ret) > 1 { // SAVE alone: no ESEARCH (RFC 5182 §2.1)
		s.writeESearch(cmd, ret, a.Search.Partial, nums, modseqs, r.withModSeq)
	}
	if update {
		// RETURN (UPDATE): keep the sorted result live (RFC 5267 §4).
		uids := make([]store.UID, len(msgs))
		for i := range msgs {
			uids[i] = msgs[i].uid
		}
		s.addUpdate(cmd, a.Search.Charset, a.Search.Key, a.Criteria, uids)
	}
	return "", nil
}

// sortByCriteria orders msgs by the criteria, each possibly reversed, and
// then by sequence number. One numeric key (DATE, ARRIVAL, SIZE: what
// webmail clients ask on every page) sorts a compact pointer-free copy of
// the keys; anything else sorts indexes, so the large sortMsg values move
// once. One string key does the same with the strings.
func sortByCriteria(msgs []sortMsg, criteria []imap.SortCriterion) {
	if len(criteria) == 1 {
		var key func(m *sortMsg) int64
		switch criteria[0].Key {
		case "DATE":
			key = (*sortMsg).sentDate
		case "ARRIVAL":
			key = func(m *sortMsg) int64 { return m.arrival }
		case "SIZE":
			key = func(m *sortMsg) int64 { return m.size }
		}
		if key != nil {
			sortByOneKey(msgs, key, criteria[0].Reverse)
			return
		}
		if field := stringKey(criteria[0].Key); field != nil {
			sortByOneKey(msgs, func(m *sortMsg) string { return field(m.f) }, criteria[0].Reverse)
			return
		}
	}
	idx := make([]int32, len(msgs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		a, b := &msgs[x], &msgs[y]
		for _, c := range criteria {
			if r := compareKey(a, b, c.Key); r != 0 {
				if c.Reverse {
					return -r
				}
				return r
			}
		}
		return cmp.Compare(a.seq, b.seq)
	})
	permute(msgs, func(i int) int { return int(idx[i]) })
}

// stringKey returns the field a string sort key compares, nil for the
// others.
func stringKey(key string) func(*sortFields) string {
	switch key {
	case "SUBJECT":
		return func(f *sortFields) string { return f.subject }
	case "FROM":
		return func(f *sortFields) string { return f.from }
	case "TO":
		return func(f *sortFields) string { return f.to }
	case "CC":
		return func(f *sortFields) string { return f.cc }
	case "DISPLAYFROM":
		return func(f *sortFields) string { return f.displayFrom }
	case "DISPLAYTO":
		return func(f *sortFields) string { return f.displayTo }
	}
	return nil
}

// permute reorders msgs so that position i holds what was at from(i).
// sortByOneKey orders msgs by one key (reversed if rev), then by sequence
// number, sorting a compact copy of the keys rather than the messages.
func sortByOneKey[K cmp.Ordered](msgs []sortMsg, key func(*sortMsg) K, rev bool) {
	type kv struct {
		k   K
		seq int32
		i   int32
	}
	ks := make([]kv, len(msgs))
	for i := range msgs {
		ks[i] = kv{key(&msgs[i]), int32(msgs[i].seq), int32(i)}
	}
	slices.SortFunc(ks, func(a, b kv) int {
		c := cmp.Compare(a.k, b.k)
		if rev {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	permute(msgs, func(i int) int { return int(ks[i].i) })
}

func permute(msgs []sortMsg, from func(i int) int) {
	out := make([]sortMsg, len(msgs))
	for i := range out {
		out[i] = msgs[from(i)]
	}
	copy(msgs, out)
}

// compareKey compares two messages by one sort key (RFC 5256 §3, RFC 5957
// §3.1).
func compareKey(a, b *sortMsg, key string) int {
	switch key {
	case "ARRIVAL":
		return cmp.Compare(a.arrival, b.arrival)
	case "DATE":
		return cmp.Compare(a.sentDate(), b.sentDate())
	case "SIZE":
		return cmp.Compare(a.size, b.size)
	case "SUBJECT":
		return strings.Compare(a.f.subject, b.f.subject)
	case "FROM":
		return strings.Compare(a.f.from, b.f.from)
	case "TO":
		return strings.Compare(a.f.to, b.f.to)
	case "CC":
		return strings.Compare(a.f.cc, b.f.cc)
	case "DISPLAYFROM":
		return strings.Compare(a.f.displayFrom, b.f.displayFrom)
	case "DISPLAYTO":
		return strings.Compare(a.f.displayTo, b.f.displayTo)
	}
	return 0
}
