package imapserver

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/letterbox/letterbox/internal/casemap"
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/search"
	"github.com/letterbox/letterbox/internal/store"
)

// searchNeeds says which message data a search-key tree reads.
type searchNeeds struct {
	meta   bool // internal date, size
	header bool // header fields
	// headerOther: a header key a mailbox column does not hold (HEADER,
	// SENT*); without it the header keys are all envelope texts.
	headerOther bool
	body        bool // body text
	modseq      bool // MODSEQ criterion (RFC 7162 §3.1.5)
	// object: EMAILID, THREADID (RFC 8474 §6) or a save date (RFC 8514
	// §4.2), which only Details has (no cache keeps them).
	object bool
	dollar bool // "$" (RFC 5182)
	// now is the search's one clock reading for OLDER and YOUNGER
	// (RFC 5032), in Unix seconds: every message is measured against it.
	now int64
	// saved is the saved result as a set, built once when dollar is set.
	saved map[store.UID]bool
}

func (n *searchNeeds) scan(k *imap.SearchKey) {
	switch k.Name {
	case "BEFORE", "ON", "SINCE", "LARGER", "SMALLER", "OLDER", "YOUNGER":
		n.meta = true
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		n.header = true // needs the message's metadata (Details)
	case "HEADER", "SENTBEFORE", "SENTON", "SENTSINCE":
		n.header, n.headerOther = true, true
	case "BODY":
		n.body = true
	case "TEXT":
		n.header, n.body = true, true
	case "MODSEQ":
		n.modseq = true
	case "EMAILID", "THREADID", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		n.object = true
	case imap.SearchSeqSet, "UID":
		if k.Seq.Dollar {
			n.dollar = true
		}
	}
	for i := range k.Children {
		n.scan(&k.Children[i])
	}
}

// searchMsg is what a search key is evaluated against.
type searchMsg struct {
	seq    int
	uid    store.UID
	flags  []string
	recent bool
	modseq store.ModSeq
	// info is what never changes about the message (content, size, date),
	// from the caches or the store; have says it is known.
	info msgEntry
	have bool
	// st is the decoded stored structure with its search fields; nil when
	// the stored structure is unusable (noRoot) and root was parsed from
	// the content.
	st     *structEntry
	root   *mime.Part
	noRoot bool
	sig    []byte // the content's search signature; nil when unknown
	// obj holds the identity and save date (needs.object only).
	obj    store.MessageDetail
	header *headerEntry
	blob   store.Blob
	// decided is set when the signatures alone settled the result.
	decided, result bool
	// col is the message's entry in the mailbox's header column, when
	// the search uses one and it has the message (headercolumn.go);
	// sigEnt its content address and signature from the column.
	col    *columnEntry
	sigEnt *sigEntry
}

// searchPlan is what a search prepares once for all messages: the folded
// needles and, for BODY and TEXT, their signature queries.
type searchPlan struct {
	folded  map[*imap.SearchKey]string
	query   map[*imap.SearchKey]*search.Query
	useSigs bool // some BODY or TEXT needle can rule messages out
	// fetched holds what the store's TextSignatures said about messages
	// the caches did not know, by UID.
	fetched map[store.UID]store.TextSignature
	// cacheKey makes the msgCache key of a UID; nil when the store cannot
	// be part of one.
	cacheKey func(store.UID) msgKey
	// computed are the signatures this search made for contents the store
	// had none (or an outdated one) for, by blob ID: written back at the
	// end (store.TextSignatureWriter).
	computed map[string][]byte
}

func newSearchPlan(k *imap.SearchKey) *searchPlan {
	p := &searchPlan{folded: map[*imap.SearchKey]string{}, query: map[*imap.SearchKey]*search.Query{}}
	p.scan(k)
	return p
}

func (p *searchPlan) scan(k *imap.SearchKey) {
	switch k.Name {
	case "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER":
		p.folded[k] = casemap.String(k.Value)
	case "BODY", "TEXT":
		p.folded[k] = casemap.String(k.Value)
		q := search.NewQuery(k.Value)
		p.query[k] = q
		if q.Usable() {
			p.useSigs = true
		}
	}
	for i := range k.Children {
		p.scan(&k.Children[i])
	}
}

// cmdSearch: SEARCH and UID SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4) with
// ESEARCH return options (RFC 4731), SEARCHRES (RFC 5182) and the MODSEQ
// criterion (RFC 7162 §3.1.5). After ENABLE IMAP4rev2 the answer is always
// ESEARCH (RFC 9051 §6.4.4). CHARSET may be UTF-8, US-ASCII or one of
// searchCharsets; others get [BADCHARSET (...)] (RFC 3501 §6.4.4, RFC 9051
// §7.1).
func (s *session) cmdSearch(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.SearchArgs)
	save := slices.Contains(a.Return, "SAVE")
	code, err := s.search(cmd, a, save)
	if err != nil && save {
		// A failed SEARCH with SAVE empties the saved result (RFC 5182 §2.1).
		s.saved = nil
	}
	return code, err
}

// searchUseIndex lets tests compare the signature-assisted search with
// reading every message.
var searchUseIndex atomic.Bool

func init() { searchUseIndex.Store(true) }

// search evaluates the key against every message of the view. What a key
// reads per message comes from process-wide caches when they have it
// (structcache.go): the decoded structure with pre-folded header values,
// the header fields, the content's search signature, and the message's
// content address, size and date; the store is asked, one batch at a
// time, only for what they lack. BODY and TEXT first consult the
// signatures (internal/search): a message whose signature rules the needle
// out is not read, and when that settles the whole key, not even looked up
// in the store. The rest go through the exact matcher.
func (s *session) search(cmd *imap.Command, a *imap.SearchArgs, save bool) (string, error) {
	update := slices.Contains(a.Return, "UPDATE")
	if update {
		if err := s.checkUpdateTag(cmd.Tag); err != nil {
			return "", err
		}
	}
	r, err := s.searchMatches(a.Charset, a.Key)
	if err != nil {
		return "", err
	}
	s.writeSearchResult(cmd, a, r.uids, r.modseqs, r.withModSeq, save)
	if update {
		// RETURN (UPDATE): keep the result live (RFC 5267 §4).
		s.addUpdate(cmd, a.Charset, a.Key, nil, r.uids)
	}
	return "", nil
}

// searchResult is what evaluating a search key gives: the matching
// messages' UIDs in ascending order and the MODSEQ of each.
type searchResult struct {
	uids    []store.UID
	modseqs []store.ModSeq
	// withModSeq: the key has a MODSEQ criterion, so the answer reports
	// MODSEQ (RFC 7162 §3.1.5).
	withModSeq bool
}

// searchMatches evaluates a search key (with its CHARSET) against every
// message of the view; SEARCH, SORT and THREAD share it.
func (s *session) searchMatches(charset string, key *imap.SearchKey) (searchResult, error) {
	key, err := searchKeyIn(charset, key) // searchcharset.go
	if err != nil {
		return searchResult{}, err
	}
	needs := searchNeeds{now: time.Now().Unix()}
	needs.scan(key)
	if needs.modseq {
		s.enableCondstore()
	}
	if needs.dollar {
		needs.saved = map[store.UID]bool{}
		for _, u := range s.savedUIDs() {
			needs.saved[u] = true
		}
	}
	v := s.sel
	var matches []store.UID
	var modseqs []store.ModSeq // MODSEQ of each match, for RFC 4731 §3.2
	n := v.count()
	plan := newSearchPlan(key)
	plan.useSigs = plan.useSigs && searchUseIndex.Load()
	id := s.srv.cacheID
	plan.cacheKey = func(u store.UID) msgKey { return msgKey{server: id, mailbox: v.id, validity: v.validity, uid: u} }
	data := needs.meta || needs.header || needs.body || needs.object
	// Keys a header column answers, and the signatures of BODY and TEXT,
	// are walked beside the view instead of probed for per message.
	var col *headerColumn
	var colEnts []columnEntry
	var sigEnts []sigEntry
	ci, si := 0, 0
	hdrCol := needs.header && !needs.headerOther && !needs.body
	if !needs.meta && !needs.object && (hdrCol || plan.useSigs) {
		col = headerColumns.get(columnKey{server: id, mailbox: v.id, validity: v.validity})
		if hdrCol {
			colEnts = col.entries()
		}
	}
	if data && plan.useSigs {
		if err := s.loadSignatures(plan, col); err != nil {
			return searchResult{}, err
		}
		if col != nil {
			sigEnts = col.sigEntries()
		}
	}
	// One batch buffer for the whole search: a searchMsg is some 350
	// bytes, and a fresh slice per batch wrote (and the collector
	// scanned) 35 MB per search of 100,000 messages.
	var buf []searchMsg
	evalBatch := func(start, end int) error {
		clear(buf)
		msgs := buf[:0]
		anyRecent := len(v.recent) > 0 // most views have none: no map probe per message
		for i := start; i < end; i++ {
			u := v.uids[i]
			msgs = append(msgs, searchMsg{seq: i + 1, uid: u, flags: v.flags[i], recent: anyRecent && v.recent[u], modseq: v.modseqs[i]})
			m := &msgs[len(msgs)-1]
			if e := walkTo(colEnts, &ci, u); e != nil {
				m.col, m.have = e, true
			}
			m.sigEnt = walkTo(sigEnts, &si, u)
		}
		if data {
			if err := s.searchData(key, msgs, &needs, plan); err != nil {
				return err
			}
			if hdrCol && col != nil {
				col.add(msgs)
			}
		}
		for i := range msgs {
			m := &msgs[i]
			var ok bool
			switch {
			case m.decided:
				ok = m.result
			case data && !m.have:
				continue // expunged meanwhile
			default:
				var err error
				ok, err = s.matchKey(key, m, &needs, plan)
				if m.blob != nil {
					m.blob.Close()
					m.blob = nil
				}
				if err != nil {
					return err
				}
			}
			if ok {
				matches = append(matches, m.uid)
				modseqs = append(modseqs, m.modseq)
			}
		}
		return nil
	}
	buf = make([]searchMsg, min(n, fetchBatch))
	for start := 0; start < n; start += fetchBatch {
		if err := evalBatch(start, min(start+fetchBatch, n)); err != nil {
			return searchResult{}, err
		}
	}
	s.writeBackSignatures(plan)
	if col != nil {
		col.compact(v.uids)
	}
	return searchResult{uids: matches, modseqs: modseqs, withModSeq: needs.modseq}, nil
}

// loadSignatures asks the store, in one call, for the content address and
// search signature of the view's messages whose signature neither the
// mailbox's column (col, when not nil) nor the caches have, and appends
// what it learns to the column.
func (s *session) loadSignatures(plan *searchPlan, col *headerColumn) error {
	v := s.sel
	ts, ok := v.mbox.(store.TextSignatures)
	if !ok {
		return nil
	}
	var inCol []sigEntry
	if col != nil {
		inCol = col.sigEntries()
	}
	var want []store.UID
	// add holds, in UID order, what the column lacks: found in the caches
	// now, or (sig nil until then) asked of the store below.
	var add []sigEntry
	ci := 0
	for _, u := range v.uids {
		if walkTo(inCol, &ci, u) != nil {
			continue
		}
		if e, ok := msgCache.get(plan.cacheKey(u)); ok {
			if sig, ok := sigCache.get(e.blobID); ok {
				if col != nil {
					add = append(add, sigEntry{uid: u, blobID: e.blobID, sig: sig})
				}
				continue
			}
		}
		want = append(want, u)
		if col != nil {
			add = append(add, sigEntry{uid: u})
		}
	}
	if len(want) > 0 {
		sigs, err := ts.TextSignatures(s.ctx, want)
		if err != nil {
			return err
		}
		plan.fetched = make(map[store.UID]store.TextSignature, len(sigs))
		for _, t := range sigs {
			plan.fetched[t.UID] = t
			k := plan.cacheKey(t.UID)
			if _, ok := msgCache.get(k); !ok {
				msgCache.put(k, msgEntry{blobID: t.BlobID}, msgEntrySize)
			}
			if search.Valid(t.Sig) {
				sigCache.put(t.BlobID, t.Sig, int64(len(t.Sig)+len(t.BlobID)+64))
			}
		}
	}
	if col == nil {
		return nil
	}
	kept := add[:0]
	for _, e := range add {
		if e.sig == nil {
			t, ok := plan.fetched[e.uid]
			if !ok || !search.Valid(t.Sig) {
				continue // no usable signature: searched the slow way
			}
			e.blobID, e.sig = t.BlobID, t.Sig
		}
		kept = append(kept, e)
	}
	add = kept
	col.addSigs(add)
	return nil
}

// searchData gives each message of a batch what the key reads: from the
// caches, and from one Details call for the messages they cannot serve and
// the signatures do not settle.
func (s *session) searchData(key *imap.SearchKey, msgs []searchMsg, needs *searchNeeds, plan *searchPlan) error {
	structure := needs.header || needs.body
	var want []store.UID
	for i := range msgs {
		m := &msgs[i]
		if m.col != nil {
			continue // the column has all the key reads
		}
		if e := m.sigEnt; e != nil {
			m.info, m.have, m.sig = msgEntry{blobID: e.blobID}, true, e.sig
		} else {
			if plan.cacheKey != nil {
				m.info, m.have = msgCache.get(plan.cacheKey(m.uid))
			}
			if !m.have {
				if t, ok := plan.fetched[m.uid]; ok {
					m.info, m.have = msgEntry{blobID: t.BlobID}, true
				}
			}
			if m.have && plan.useSigs {
				m.sig = plan.sigOf(m)
			}
		}
		// Flags, numbers and signatures may settle the key without
		// anything else.
		switch s.preMatch(key, m, needs, plan) {
		case triYes:
			m.decided, m.result = true, true
			continue
		case triNo:
			m.decided = true
			continue
		}
		if m.have {
			// Header keys need the structure only to find the header
			// when it is not cached: one lookup instead of two per
			// message (at 100,000 messages the map probes are the cost).
			needSt := structure
			if needs.header && !needs.body {
				if he, ok := headerCache.get(m.info.blobID); ok {
					m.header, needSt = he, false
				}
			}
			if needSt {
				if st, ok := structCache.get(m.info.blobID); ok {
					m.st, m.root = st, st.root
				}
			}
			if (!needs.meta || m.info.meta) && (!needSt || m.st != nil) && !needs.object {
				continue
			}
		}
		want = append(want, m.uid)
	}
	if len(want) == 0 {
		return nil
	}
	details, err := s.sel.mbox.Details(s.ctx, want)
	if err != nil {
		return err
	}
	byUID := make(map[store.UID]*store.MessageDetail, len(details))
	for i := range details {
		byUID[details[i].UID] = &details[i]
	}
	for i := range msgs {
		m := &msgs[i]
		d := byUID[m.uid]
		if m.decided || d == nil {
			continue
		}
		m.info = msgEntry{blobID: d.BlobID, meta: true, size: d.Size, date: d.InternalDate}
		m.have = true
		if needs.object {
			m.obj = *d
		}
		if plan.cacheKey != nil {
			msgCache.put(plan.cacheKey(m.uid), m.info, msgEntrySize)
		}
		if structure && m.st == nil {
			if st, err := structEntryOf(d.BlobID, d.Structure); err == nil {
				m.st, m.root = st, st.root
			} else {
				m.noRoot = true
			}
		}
		if plan.useSigs && m.sig == nil {
			m.sig = plan.sigOf(m)
		}
	}
	return nil
}

// writeBackSignatures stores the signatures this search computed (for
// content delivered before signatures existed, or with a version
// internal/search no longer reads), in one transaction, so later searches
// in any process use them. A failure only costs that speed.
func (s *session) writeBackSignatures(plan *searchPlan) {
	if len(plan.computed) == 0 {
		return
	}
	w, ok := s.srv.opts.Store.(store.TextSignatureWriter)
	if !ok {
		return
	}
	if err := w.PutTextSignatures(s.ctx, plan.computed); err != nil {
		s.log.Warn("imap search signatures not stored", "contents", len(plan.computed), "err", err)
	}
}

// sigOf returns the signature of m's content from the cache or from what
// the store said, nil when neither knows one.
func (p *searchPlan) sigOf(m *searchMsg) []byte {
	if sig, ok := sigCache.get(m.info.blobID); ok {
		return sig
	}
	if t, ok := p.fetched[m.uid]; ok && t.BlobID == m.info.blobID && search.Valid(t.Sig) {
		return t.Sig
	}
	return nil
}

// tri is a three-valued truth: what the signatures alone can tell.
type tri int8

const (
	triNo tri = iota
	triYes
	triMaybe
)

// preMatch evaluates the key with what needs no message data (flags,
// numbers, MODSEQ) and the signatures: BODY or TEXT is triNo when the
// signature rules the needle out, every other data key triMaybe.
func (s *session) preMatch(k *imap.SearchKey, m *searchMsg, needs *searchNeeds, plan *searchPlan) tri {
	switch k.Name {
	case imap.SearchAnd:
		r := triYes
		for i := range k.Children {
			switch s.preMatch(&k.Children[i], m, needs, plan) {
			case triNo:
				return triNo
			case triMaybe:
				r = triMaybe
			}
		}
		return r
	case "OR":
		a := s.preMatch(&k.Children[0], m, needs, plan)
		if a == triYes {
			return triYes
		}
		b := s.preMatch(&k.Children[1], m, needs, plan)
		switch {
		case b == triYes:
			return triYes
		case a == triNo && b == triNo:
			return triNo
		}
		return triMaybe
	case "NOT":
		switch s.preMatch(&k.Children[0], m, needs, plan) {
		case triNo:
			return triYes
		case triYes:
			return triNo
		}
		return triMaybe
	case "BODY":
		if k.Value != "" && !plan.query[k].MayContainBody(m.sig) {
			return triNo
		}
		return triMaybe
	case "TEXT":
		if k.Value != "" && !plan.query[k].MayContainText(m.sig) {
			return triNo
		}
		return triMaybe
	case "BEFORE", "ON", "SINCE", "LARGER", "SMALLER", "OLDER", "YOUNGER", "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER", "SENTBEFORE", "SENTON", "SENTSINCE",
		"EMAILID", "THREADID", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		return triMaybe
	}
	ok, err := s.matchKey(k, m, needs, plan)
	switch {
	case err != nil:
		return triMaybe // the full evaluation reports it
	case ok:
		return triYes
	}
	return triNo
}

// writeSearchResult answers with SEARCH or ESEARCH and updates the saved
// result. modseqs holds the MODSEQ of each match.
func (s *session) writeSearchResult(cmd *imap.Command, a *imap.SearchArgs, matches []store.UID, modseqs []store.ModSeq, withModSeq, save bool) {
	v := s.sel
	nums := make([]uint32, len(matches))
	for i, u := range matches {
		if cmd.UID {
			nums[i] = uint32(u)
		} else {
			nums[i] = uint32(v.seqOf(u))
		}
	}
	ret := a.Return
	if ret != nil && len(ret) == 0 {
		ret = []string{"ALL"} // RETURN () means ALL (RFC 4731 §3.1)
	}
	has := func(o string) bool { return slices.Contains(ret, o) }
	if save {
		// SAVE with MIN and/or MAX saves only those (RFC 5182 §2.4).
		switch {
		case len(matches) == 0:
			s.saved = nil
		case (has("MIN") || has("MAX")) && !has("ALL") && !has("COUNT"):
			s.saved = nil
			if has("MIN") {
				s.saved = append(s.saved, matches[0])
			}
			if has("MAX") && (len(s.saved) == 0 || s.saved[0] != matches[len(matches)-1]) {
				s.saved = append(s.saved, matches[len(matches)-1])
			}
		default:
			s.saved = slices.Clone(matches)
		}
		if len(ret) == 1 {
			return // SAVE alone: no ESEARCH response (RFC 5182 §2.1)
		}
	}
	w := s.c.w
	if ret == nil && !s.rev2 {
		w.StartUntagged()
		w.Raw("SEARCH")
		for _, x := range nums {
			w.SP()
			w.Number(uint64(x))
		}
		if withModSeq && len(nums) > 0 {
			w.Raw(" (MODSEQ ")
			w.Number(uint64(slices.Max(modseqs)))
			w.CloseList()
		}
		w.CRLF()
		return
	}
	s.writeESearch(cmd, ret, a.Partial, nums, modseqs, withModSeq)
}

// writeESearch writes an ESEARCH response (RFC 4731 §3.1; for SORT,
// RFC 5267 §3.2) for the result nums, in result order (ascending for
// SEARCH, the sort order for SORT), with the MODSEQ of each. MIN and MAX
// are the first and last in that order, ALL keeps it, PARTIAL (RFC 5267
// §4.4) is the given 1-based positions of it, COUNT counts all.
// RETURN () or only CONTEXT means ALL (RFC 4731 §3.1, RFC 5267 §4.1).
func (s *session) writeESearch(cmd *imap.Command, ret []string, partial *imap.PartialRange, nums []uint32, modseqs []store.ModSeq, withModSeq bool) {
	if !slices.ContainsFunc(ret, func(o string) bool { return o != "CONTEXT" }) {
		ret = []string{"ALL"}
	}
	has := func(o string) bool { return slices.Contains(ret, o) }
	w := s.c.w
	w.StartUntagged()
	w.Raw("ESEARCH (TAG ")
	w.String(cmd.Tag)
	w.CloseList()
	if cmd.UID {
		w.Raw(" UID")
	}
	if len(nums) > 0 {
		if has("MIN") {
			w.Raw(" MIN ")
			w.Number(uint64(nums[0]))
		}
		if has("MAX") {
			w.Raw(" MAX ")
			w.Number(uint64(nums[len(nums)-1]))
		}
		if has("ALL") {
			w.Raw(" ALL ")
			w.Raw(orderedSet(nums))
		}
	}
	if partial != nil {
		w.Raw(" PARTIAL (")
		w.Number(uint64(partial.Low))
		w.Raw(":")
		w.Number(uint64(partial.High))
		w.SP()
		lo, hi := int(partial.Low)-1, min(int(partial.High), len(nums))
		if lo >= hi {
			w.Raw("NIL")
		} else {
			w.Raw(orderedSet(nums[lo:hi]))
		}
		w.CloseList()
	}
	if has("COUNT") {
		w.Raw(" COUNT ")
		w.Number(uint64(len(nums)))
	}
	if withModSeq && len(nums) > 0 {
		w.Raw(" MODSEQ ")
		w.Number(uint64(esearchModSeq(modseqs, has("MIN"), has("MAX"), has("ALL") || has("COUNT") || partial != nil)))
	}
	w.CRLF()
}

// orderedSet writes numbers as a sequence set in the order given, joining
// only runs that go up by one ("3:4,1" for 3 4 1), as an ESORT ALL keeps
// the sort order (RFC 5267 §3.2). For ascending numbers it is the usual
// compact set.
func orderedSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// esearchModSeq is the MODSEQ an ESEARCH response reports (RFC 4731
// §3.2): the highest MODSEQ of the messages it returns. With ALL or COUNT
// those are all the matches; with MIN and/or MAX only, the lowest and/or
// highest match. matches (and so modseqs) are in ascending order.
func esearchModSeq(modseqs []store.ModSeq, wantMin, wantMax, all bool) store.ModSeq {
	if all || !wantMin && !wantMax {
		return slices.Max(modseqs)
	}
	var m store.ModSeq
	if wantMin {
		m = modseqs[0]
	}
	if wantMax {
		m = max(m, modseqs[len(modseqs)-1])
	}
	return m
}

// matchKey evaluates one search key (RFC 3501 §6.4.4).
func (s *session) matchKey(k *imap.SearchKey, m *searchMsg, needs *searchNeeds, plan *searchPlan) (bool, error) {
	switch k.Name {
	case imap.SearchAnd:
		for i := range k.Children {
			ok, err := s.matchKey(&k.Children[i], m, needs, plan)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "OR":
		ok, err := s.matchKey(&k.Children[0], m, needs, plan)
		if err != nil || ok {
			return ok, err
		}
		return s.matchKey(&k.Children[1], m, needs, plan)
	case "NOT":
		ok, err := s.matchKey(&k.Children[0], m, needs, plan)
		return !ok, err
	case "ALL":
		return true, nil
	case imap.SearchSeqSet:
		if k.Seq.Dollar {
			return needs.saved[m.uid], nil
		}
		return k.Seq.Contains(uint32(m.seq), uint32(s.sel.count())), nil
	case "UID":
		if k.Seq.Dollar {
			return needs.saved[m.uid], nil
		}
		return k.Seq.Contains(uint32(m.uid), uint32(s.sel.maxUID())), nil
	case "ANSWERED":
		return hasFlag(m.flags, store.FlagAnswered), nil
	case "UNANSWERED":
		return !hasFlag(m.flags, store.FlagAnswered), nil
	case "DELETED":
		return hasFlag(m.flags, store.FlagDeleted), nil
	case "UNDELETED":
		return !hasFlag(m.flags, store.FlagDeleted), nil
	case "DRAFT":
		return hasFlag(m.flags, store.FlagDraft), nil
	case "UNDRAFT":
		return !hasFlag(m.flags, store.FlagDraft), nil
	case "FLAGGED":
		return hasFlag(m.flags, store.FlagFlagged), nil
	case "UNFLAGGED":
		return !hasFlag(m.flags, store.FlagFlagged), nil
	case "SEEN":
		return hasFlag(m.flags, store.FlagSeen), nil
	case "UNSEEN":
		return !hasFlag(m.flags, store.FlagSeen), nil
	case "KEYWORD":
		return hasFlag(m.flags, k.Value), nil
	case "UNKEYWORD":
		return !hasFlag(m.flags, k.Value), nil
	case "RECENT":
		return m.recent, nil
	case "NEW":
		return m.recent && !hasFlag(m.flags, store.FlagSeen), nil
	case "OLD":
		return !m.recent, nil
	case "MODSEQ":
		return uint64(m.modseq) >= k.ModSeq, nil
	case "LARGER":
		return m.info.size > k.Size, nil
	case "SMALLER":
		return m.info.size < k.Size, nil
	case "OLDER":
		// RFC 5032 §3: INTERNALDATE at least n seconds ago (Dovecot
		// counts the equal second in, as here).
		return m.info.date.Unix() <= needs.now-k.Size, nil
	case "YOUNGER":
		// RFC 5032 §3: INTERNALDATE within the last n seconds.
		return m.info.date.Unix() >= needs.now-k.Size, nil
	case "BEFORE":
		return dayOf(m.info.date).Before(k.Date), nil
	case "ON":
		return dayOf(m.info.date).Equal(k.Date), nil
	case "SINCE":
		return !dayOf(m.info.date).Before(k.Date), nil
	case "EMAILID": // RFC 8474 §6: exact match
		return m.obj.EmailID == k.Value, nil
	case "THREADID":
		return m.obj.ThreadID != "" && m.obj.ThreadID == k.Value, nil
	case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE": // RFC 8514 §4.2
		d := dayOf(saveDate(&m.obj))
		switch k.Name {
		case "SAVEDBEFORE":
			return d.Before(k.Date), nil
		case "SAVEDON":
			return d.Equal(k.Date), nil
		}
		return !d.Before(k.Date), nil
	case "SAVEDATESUPPORTED":
		// Every mailbox keeps save dates (RFC 8514 §4.2).
		return true, nil
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		var d time.Time
		if st := m.st; st != nil && st.root.Envelope != nil {
			// The envelope's Date, parsed once for all searches.
			day, ok := st.sentDay()
			if !ok {
				return false, nil
			}
			d = day
		} else {
			he, err := s.searchHeader(m)
			if err != nil {
				return false, err
			}
			v, _ := mime.Header(he.raw, "Date")
			if v == "" {
				return false, nil
			}
			t, err := mime.ParseDate(v)
			if err != nil {
				return false, nil
			}
			d = dayOf(t)
		}
		switch k.Name {
		case "SENTBEFORE":
			return d.Before(k.Date), nil
		case "SENTON":
			return d.Equal(k.Date), nil
		}
		return !d.Before(k.Date), nil
	case "SUBJECT":
		if m.col != nil { // never an empty subject
			return strings.Contains(m.col.subject, plan.folded[k]), nil
		}
		// From the stored envelope when there is one: no need to open the
		// message (the envelope keeps the raw, unfolded value); decoded
		// and folded once for all searches.
		if st := m.st; st != nil && st.root.Envelope != nil {
			subject, empty := st.folded()
			if empty {
				if k.Value != "" {
					return false, nil
				}
				return s.hasHeader(m, "Subject")
			}
			return strings.Contains(subject, plan.folded[k]), nil
		}
		he, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		return he.contains("Subject", plan.folded[k]), nil
	case "BCC", "CC", "FROM", "TO":
		// RFC 3501 §6.4.4: the envelope structure's field, taken from the
		// envelope stored at delivery (see addressText).
		if c := m.col; c != nil {
			j := addrIndex[k.Name]
			if k.Value == "" {
				return c.hasAddr[j], nil
			}
			return addrContains(c.addrs[j], plan.folded[k]), nil
		}
		if st := m.st; st != nil && st.root.Envelope != nil {
			list := st.addresses(k.Name)
			if k.Value == "" {
				return len(list) > 0, nil
			}
			needle := plan.folded[k]
			for _, text := range list {
				if strings.Contains(text, needle) {
					return true, nil
				}
			}
			return false, nil
		}
		he, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		return he.contains(k.Name, plan.folded[k]), nil
	case "HEADER":
		he, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		return he.contains(k.Field, plan.folded[k]), nil
	case "BODY":
		if k.Value == "" {
			return true, nil
		}
		return s.searchBody(m, k, plan)
	case "TEXT":
		if k.Value == "" {
			return true, nil
		}
		q := plan.query[k]
		if plan.useSigs && !q.MayContainText(m.sig) {
			return false, nil
		}
		he, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		if mime.ContainsFold(mime.DecodeHeader(string(he.raw)), k.Value) {
			return true, nil
		}
		return s.searchBody(m, k, plan)
	}
	return false, errBad("Unsupported search key " + k.Name)
}

// dayOf is the calendar date of t in its own zone, as midnight UTC
// (RFC 3501 §6.4.4: dates disregard time and timezone).
func dayOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// hasHeader reports whether the message has a field called name.
func (s *session) hasHeader(m *searchMsg, name string) (bool, error) {
	he, err := s.searchHeader(m)
	if err != nil {
		return false, err
	}
	_, ok := mime.Header(he.raw, name)
	return ok, nil
}

// openSearchBlob opens the message content and makes sure the structure
// is there (parsing the content when the stored one is unusable).
func (s *session) openSearchBlob(m *searchMsg) error {
	if m.blob != nil {
		return nil
	}
	b, err := s.srv.opts.Store.OpenBlob(s.ctx, m.info.blobID)
	if err != nil {
		return err
	}
	m.blob = b
	if m.root == nil {
		root, err := mime.Parse(b, b.Size())
		if err != nil {
			return err
		}
		m.root = root
	}
	return nil
}

// searchHeader returns the message's top-level header block with its
// decoded fields, from the cache or read from the content.
func (s *session) searchHeader(m *searchMsg) (*headerEntry, error) {
	if m.header != nil {
		return m.header, nil
	}
	if he, ok := headerCache.get(m.info.blobID); ok {
		m.header = he
		return he, nil
	}
	if err := s.openSearchBlob(m); err != nil {
		return nil, err
	}
	r, _ := m.root.HeaderRange(nil)
	hdr := make([]byte, r.Len())
	if _, err := m.blob.ReadAt(hdr, r.Start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	m.header = newHeaderEntry(hdr)
	headerCache.put(m.info.blobID, m.header, m.header.size()+int64(len(m.info.blobID)))
	return m.header, nil
}

// searchBody looks for the needle of k (BODY or TEXT) in the decoded body
// text, unless the content's signature rules it out. A content without a
// signature (stored before there were any) gets one computed here, so the
// next search can skip it.
func (s *session) searchBody(m *searchMsg, k *imap.SearchKey, plan *searchPlan) (bool, error) {
	q := plan.query[k]
	if plan.useSigs && !q.MayContainBody(m.sig) {
		return false, nil
	}
	if err := s.openSearchBlob(m); err != nil {
		return false, err
	}
	if plan.useSigs && m.sig == nil && q.Usable() {
		if sig, err := search.Build(m.blob, m.root); err == nil {
			m.sig = sig
			sigCache.put(m.info.blobID, sig, int64(len(sig)+len(m.info.blobID)+64))
			if plan.computed == nil {
				plan.computed = map[string][]byte{}
			}
			plan.computed[m.info.blobID] = sig
			if !q.MayContainBody(sig) {
				return false, nil
			}
		}
	}
	return mime.TextContains(m.blob, m.root, k.Value)
}
