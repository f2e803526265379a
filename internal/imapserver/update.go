package imapserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// maxSearchUpdates bounds the live searches of one session (RFC 5267
// §4.2: past it the server answers * NO [NOUPDATE "tag"]).
const maxSearchUpdates = 16

// searchUpdate is a live SEARCH or SORT result (RFC 5267 §4, RETURN
// (UPDATE)): the server keeps it and tells the client, with ESEARCH
// ADDTO and REMOVEFROM, how it changes as the mailbox does, until
// CANCELUPDATE or the mailbox is deselected.
type searchUpdate struct {
	tag      string
	uid      bool // numbers are UIDs (UID SEARCH, UID SORT)
	charset  string
	key      *imap.SearchKey
	criteria []imap.SortCriterion // nil for SEARCH
	// result is the current result: ascending UIDs for SEARCH, the UIDs
	// in sort order for SORT.
	result []store.UID
}

// addUpdate registers a RETURN (UPDATE) result; it answers * NO
// [NOUPDATE] when the session has too many (RFC 5267 §4.2). A tag already
// in use is refused before the search runs (checkUpdateTag).
func (s *session) addUpdate(cmd *imap.Command, charset string, key *imap.SearchKey, criteria []imap.SortCriterion, result []store.UID) {
	if len(s.updates) >= maxSearchUpdates {
		s.c.w.StartUntagged()
		s.c.w.Raw("NO [NOUPDATE ")
		s.c.w.String(cmd.Tag)
		s.c.w.Raw("] Too many search updates")
		s.c.w.CRLF()
		return
	}
	s.updates = append(s.updates, &searchUpdate{tag: cmd.Tag, uid: cmd.UID, charset: charset, key: key, criteria: criteria, result: slices.Clone(result)})
	s.updateMark = markOf(s.sel)
}

// checkUpdateTag refuses a second live result under one tag (RFC 5267
// §4.2: the tag names the result for CANCELUPDATE).
func (s *session) checkUpdateTag(tag string) error {
	for _, u := range s.updates {
		if u.tag == tag {
			return errBad("Duplicate search update tag")
		}
	}
	return nil
}

// cmdCancelUpdate: CANCELUPDATE (RFC 5267 §4.3) ends the live results
// named by the tags; a tag that names none gets NO.
func (s *session) cmdCancelUpdate(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.CancelUpdateArgs)
	unknown := false
	for _, tag := range a.Tags {
		i := slices.IndexFunc(s.updates, func(u *searchUpdate) bool { return u.tag == tag })
		if i < 0 {
			unknown = true
			continue
		}
		s.updates = slices.Delete(s.updates, i, i+1)
	}
	if unknown {
		return "", errNo("", "Unknown tag")
	}
	return "", nil
}

// flushView writes the pending mailbox updates and, when live results
// exist, what changed in them: REMOVEFROM before the EXPUNGE responses
// (numbered as the client still numbers the messages), ADDTO after EXISTS
// and FETCH (numbered as it numbers them then), as Dovecot orders them.
// Live results are evaluated again after every command, so a change this
// session made itself (STORE, APPEND, COPY) is reported too.
func (s *session) flushView(allowExpunge bool) {
	v := s.sel
	if len(s.updates) == 0 {
		s.writeUpdates(v.flush(allowExpunge, s.reportVanished(), !s.rev2))
		return
	}
	pending := v.hasPending()
	if !pending && s.updateMark == markOf(v) {
		return // nothing changed since the results were last computed
	}
	before := slices.Clone(v.uids)
	var ups []update
	if pending {
		ups = v.flush(allowExpunge, s.reportVanished(), !s.rev2)
	}
	defer func() { s.updateMark = markOf(v) }()
	type change struct {
		u              *searchUpdate
		removed, added []store.UID
		old            []store.UID
	}
	var changes []change
	for _, u := range s.updates {
		now, err := s.evalUpdate(u)
		if err != nil {
			s.log.Error("imap search update failed", "tag", u.tag, "err", err)
			continue
		}
		removed, added := diffUIDs(u.result, now)
		if len(removed) > 0 || len(added) > 0 {
			changes = append(changes, change{u: u, removed: removed, added: added, old: u.result})
		}
		u.result = now
	}
	oldSeq := func(uid store.UID) uint32 {
		i, ok := slices.BinarySearch(before, uid)
		if !ok {
			return 0
		}
		return uint32(i + 1)
	}
	for _, c := range changes {
		if len(c.removed) > 0 {
			s.writeResultChange(c.u, "REMOVEFROM", c.removed, c.old, oldSeq)
		}
	}
	var rest []update
	for _, u := range ups {
		if u.kind == updExpunge || u.kind == updVanished {
			s.writeUpdates([]update{u})
		} else {
			rest = append(rest, u)
		}
	}
	s.writeUpdates(rest)
	newSeq := func(uid store.UID) uint32 { return uint32(v.seqOf(uid)) }
	for _, c := range changes {
		if len(c.added) > 0 {
			s.writeResultChange(c.u, "ADDTO", c.added, c.u.result, newSeq)
		}
	}
}

// viewMark fingerprints what a search result can depend on in the view:
// the messages (their count) and their changes (every flag change moves
// a MODSEQ, RFC 7162 §3.1.1). A session's own STORE or EXPUNGE changes it
// without leaving anything pending.
type viewMark struct {
	count          int
	modseqSum      uint64
	last           store.ModSeq
	first, highest store.UID
}

func markOf(v *selectedView) viewMark {
	m := viewMark{count: len(v.uids), last: v.lastModSeq, highest: v.maxUID()}
	if len(v.uids) > 0 {
		m.first = v.uids[0]
	}
	for _, ms := range v.modseqs {
		m.modseqSum += uint64(ms)
	}
	return m
}

// evalUpdate computes a live result again over the current view.
func (s *session) evalUpdate(u *searchUpdate) ([]store.UID, error) {
	r, err := s.searchMatches(u.charset, u.key)
	if err != nil {
		return nil, err
	}
	if u.criteria == nil {
		return r.uids, nil
	}
	msgs, err := s.sortMessages(r, false)
	if err != nil {
		return nil, err
	}
	sortByCriteria(msgs, u.criteria)
	out := make([]store.UID, len(msgs))
	for i := range msgs {
		out[i] = msgs[i].uid
	}
	return out, nil
}

// diffUIDs returns what left and what joined a result.
func diffUIDs(old, now []store.UID) (removed, added []store.UID) {
	in := func(list []store.UID) map[store.UID]bool {
		m := make(map[store.UID]bool, len(list))
		for _, u := range list {
			m[u] = true
		}
		return m
	}
	o, n := in(old), in(now)
	for _, u := range old {
		if !n[u] {
			removed = append(removed, u)
		}
	}
	for _, u := range now {
		if !o[u] {
			added = append(added, u)
		}
	}
	return removed, added
}

// writeResultChange writes * ESEARCH (TAG ..) [UID] ADDTO|REMOVEFROM (...)
// (RFC 5267 §4.3). For SEARCH the context position is 0 and the messages
// one set, as Dovecot sends them. For SORT each message comes with its
// 1-based position in the result (the new one for ADDTO, in ascending
// order so that inserting them one after the other rebuilds it; the old
// one for REMOVEFROM, in descending order), runs of consecutive positions
// and numbers sharing one pair. list is the result the positions refer
// to; seq numbers a message for a result in sequence numbers (0: the
// client cannot be told, the message is gone from its view).
func (s *session) writeResultChange(u *searchUpdate, what string, uids, list []store.UID, seq func(store.UID) uint32) {
	num := func(uid store.UID) uint32 {
		if u.uid {
			return uint32(uid)
		}
		return seq(uid)
	}
	var b strings.Builder
	if u.criteria == nil {
		var nums []uint32
		for _, uid := range uids {
			if n := num(uid); n != 0 {
				nums = append(nums, n)
			}
		}
		if len(nums) == 0 {
			return
		}
		b.WriteString("0 ")
		b.WriteString(imap.SeqSetFromNumbers(nums).String())
	} else {
		pos := make(map[store.UID]int, len(list))
		for i, uid := range list {
			pos[uid] = i + 1
		}
		type item struct {
			pos int
			n   uint32
		}
		var items []item
		for _, uid := range uids {
			if n := num(uid); n != 0 {
				items = append(items, item{pos[uid], n})
			}
		}
		if len(items) == 0 {
			return
		}
		slices.SortFunc(items, func(a, b item) int { return a.pos - b.pos })
		if what == "REMOVEFROM" {
			slices.Reverse(items)
		}
		for i := 0; i < len(items); {
			j := i
			for j+1 < len(items) && items[j+1].pos == items[j].pos+1 && items[j+1].n == items[j].n+1 {
				j++
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(items[i].pos))
			b.WriteByte(' ')
			b.WriteString(strconv.FormatUint(uint64(items[i].n), 10))
			if j > i {
				fmt.Fprintf(&b, ":%d", items[j].n)
			}
			i = j + 1
		}
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("ESEARCH (TAG ")
	w.String(u.tag)
	w.CloseList()
	if u.uid {
		w.Raw(" UID")
	}
	w.Raw(" " + what + " (" + b.String() + ")")
	w.CRLF()
}
