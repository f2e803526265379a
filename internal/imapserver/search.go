package imapserver

import (
	"errors"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// searchNeeds says which message data a search-key tree reads.
type searchNeeds struct {
	meta   bool // internal date, size
	header bool // header fields
	body   bool // body text
	modseq bool // MODSEQ criterion (RFC 7162 §3.1.5)
	dollar bool // "$" (RFC 5182)
	// saved is the saved result as a set, built once when dollar is set.
	saved map[store.UID]bool
}

func (n *searchNeeds) scan(k *imap.SearchKey) {
	switch k.Name {
	case "BEFORE", "ON", "SINCE", "LARGER", "SMALLER":
		n.meta = true
	case "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER", "SENTBEFORE", "SENTON", "SENTSINCE":
		n.header = true // needs the message's metadata (Details)
	case "BODY":
		n.body = true
	case "TEXT":
		n.header, n.body = true, true
	case "MODSEQ":
		n.modseq = true
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
	detail *store.MessageDetail
	header []byte
	blob   store.Blob
	root   *mime.Part
	noRoot bool // the stored structure is missing or unreadable
}

// cmdSearch: SEARCH and UID SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4) with
// ESEARCH return options (RFC 4731), SEARCHRES (RFC 5182) and the MODSEQ
// criterion (RFC 7162 §3.1.5). After ENABLE IMAP4rev2 the answer is always
// ESEARCH (RFC 9051 §6.4.4). CHARSET may be UTF-8 or US-ASCII; others get
// [BADCHARSET] (RFC 3501 §6.4.4, RFC 9051 §7.1).
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

func (s *session) search(cmd *imap.Command, a *imap.SearchArgs, save bool) (string, error) {
	switch a.Charset {
	case "", "UTF-8", "US-ASCII":
	default:
		return "", errNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
	}
	var needs searchNeeds
	needs.scan(a.Key)
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
	evalBatch := func(start, end int) error {
		msgs := make([]searchMsg, 0, end-start)
		for i := start; i < end; i++ {
			u := v.uids[i]
			msgs = append(msgs, searchMsg{seq: i + 1, uid: u, flags: v.flags[i], recent: v.recent[u], modseq: v.modseqs[i]})
		}
		if needs.meta || needs.header || needs.body {
			uids := make([]store.UID, len(msgs))
			for i := range msgs {
				uids[i] = msgs[i].uid
			}
			details, err := v.mbox.Details(s.ctx, uids)
			if err != nil {
				return err
			}
			byUID := make(map[store.UID]*store.MessageDetail, len(details))
			for i := range details {
				byUID[details[i].UID] = &details[i]
			}
			for i := range msgs {
				msgs[i].detail = byUID[msgs[i].uid]
			}
		}
		for i := range msgs {
			m := &msgs[i]
			if (needs.meta || needs.header || needs.body) && m.detail == nil {
				continue // expunged meanwhile
			}
			ok, err := s.matchKey(a.Key, m, &needs)
			if m.blob != nil {
				m.blob.Close()
				m.blob = nil
			}
			if err != nil {
				return err
			}
			if ok {
				matches = append(matches, m.uid)
				modseqs = append(modseqs, m.modseq)
			}
		}
		return nil
	}
	for start := 0; start < n; start += fetchBatch {
		if err := evalBatch(start, min(start+fetchBatch, n)); err != nil {
			return "", err
		}
	}
	s.writeSearchResult(cmd, a, matches, modseqs, needs.modseq, save)
	return "", nil
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
	if ret == nil {
		ret = []string{"ALL"}
	}
	// RFC 4731 §3.1 ESEARCH response.
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
			w.Number(uint64(slices.Min(nums)))
		}
		if has("MAX") {
			w.Raw(" MAX ")
			w.Number(uint64(slices.Max(nums)))
		}
		if has("ALL") {
			w.Raw(" ALL ")
			w.SeqSet(imap.SeqSetFromNumbers(nums))
		}
	}
	if has("COUNT") {
		w.Raw(" COUNT ")
		w.Number(uint64(len(nums)))
	}
	if withModSeq && len(nums) > 0 {
		w.Raw(" MODSEQ ")
		w.Number(uint64(esearchModSeq(modseqs, has("MIN"), has("MAX"), has("ALL") || has("COUNT"))))
	}
	w.CRLF()
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
func (s *session) matchKey(k *imap.SearchKey, m *searchMsg, needs *searchNeeds) (bool, error) {
	switch k.Name {
	case imap.SearchAnd:
		for i := range k.Children {
			ok, err := s.matchKey(&k.Children[i], m, needs)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "OR":
		ok, err := s.matchKey(&k.Children[0], m, needs)
		if err != nil || ok {
			return ok, err
		}
		return s.matchKey(&k.Children[1], m, needs)
	case "NOT":
		ok, err := s.matchKey(&k.Children[0], m, needs)
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
		return m.detail.Size > k.Size, nil
	case "SMALLER":
		return m.detail.Size < k.Size, nil
	case "BEFORE":
		return dayOf(m.detail.InternalDate).Before(k.Date), nil
	case "ON":
		return dayOf(m.detail.InternalDate).Equal(k.Date), nil
	case "SINCE":
		return !dayOf(m.detail.InternalDate).Before(k.Date), nil
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		var v string
		if root := s.searchRoot(m); root != nil && root.Envelope != nil {
			v = root.Envelope.Date
		} else {
			hdr, err := s.searchHeader(m)
			if err != nil {
				return false, err
			}
			v, _ = mime.Header(hdr, "Date")
		}
		if v == "" {
			return false, nil
		}
		t, err := mail.ParseDate(v)
		if err != nil {
			return false, nil
		}
		d := dayOf(t)
		switch k.Name {
		case "SENTBEFORE":
			return d.Before(k.Date), nil
		case "SENTON":
			return d.Equal(k.Date), nil
		}
		return !d.Before(k.Date), nil
	case "SUBJECT":
		// From the stored envelope when there is one: no need to open the
		// message (the envelope keeps the raw, unfolded value).
		if root := s.searchRoot(m); root != nil && root.Envelope != nil {
			if root.Envelope.Subject == "" {
				if k.Value != "" {
					return false, nil
				}
				return s.hasHeader(m, "Subject")
			}
			return mime.ContainsFold(mime.DecodeHeader(root.Envelope.Subject), k.Value), nil
		}
		hdr, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		return headerContains(hdr, "Subject", k.Value), nil
	case "BCC", "CC", "FROM", "TO":
		// RFC 3501 §6.4.4: the envelope structure's field, taken from the
		// envelope stored at delivery.
		if root := s.searchRoot(m); root != nil && root.Envelope != nil {
			e := root.Envelope
			list := map[string][]mime.Address{"BCC": e.Bcc, "CC": e.Cc, "FROM": e.From, "TO": e.To}[k.Name]
			return addressesContain(list, k.Value), nil
		}
		hdr, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		return headerContains(hdr, k.Name, k.Value), nil
	case "HEADER":
		field := k.Name
		if field == "HEADER" {
			field = k.Field
		}
		hdr, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		return headerContains(hdr, field, k.Value), nil
	case "BODY":
		return s.searchBody(m, k.Value)
	case "TEXT":
		hdr, err := s.searchHeader(m)
		if err != nil {
			return false, err
		}
		if k.Value == "" || mime.ContainsFold(mime.DecodeHeader(string(hdr)), k.Value) {
			return true, nil
		}
		return s.searchBody(m, k.Value)
	}
	return false, errBad("Unsupported search key " + k.Name)
}

// dayOf is the calendar date of t in its own zone, as midnight UTC
// (RFC 3501 §6.4.4: dates disregard time and timezone).
func dayOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// addressesContain reports whether an address of list, written
// "name <mailbox@host>" with the name RFC 2047 decoded, or a group's name,
// contains value (an empty value matches any address).
func addressesContain(list []mime.Address, value string) bool {
	for _, a := range list {
		var text string
		switch {
		case a.IsGroupEnd():
			continue
		case a.IsGroupStart():
			text = mime.DecodeHeader(a.Mailbox) // the group's name, as Dovecot matches it
		default:
			text = a.Mailbox + "@" + a.Host
			if a.Name != "" {
				text = mime.DecodeHeader(a.Name) + " <" + text + ">"
			}
		}
		if value == "" {
			return true
		}
		if mime.ContainsFold(text, value) {
			return true
		}
	}
	return false
}

// headerContains reports whether some field called name contains value
// after RFC 2047 decoding; an empty value matches any such field.
func headerContains(hdr []byte, name, value string) bool {
	for _, f := range mime.HeaderFields(hdr) {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		if value == "" || mime.ContainsFold(mime.DecodeHeader(f.Value), value) {
			return true
		}
	}
	return false
}

// searchRoot decodes the stored structure; nil when there is none usable.
func (s *session) searchRoot(m *searchMsg) *mime.Part {
	if m.root == nil && !m.noRoot {
		root, err := mime.Decode(m.detail.Structure)
		if err != nil || root == nil {
			m.noRoot = true
			return nil
		}
		m.root = root
	}
	return m.root
}

// hasHeader reports whether the message has a field called name.
func (s *session) hasHeader(m *searchMsg, name string) (bool, error) {
	hdr, err := s.searchHeader(m)
	if err != nil {
		return false, err
	}
	_, ok := mime.Header(hdr, name)
	return ok, nil
}

// openSearchBlob opens the message content and makes sure the structure
// is there (parsing the content when the stored one is unusable).
func (s *session) openSearchBlob(m *searchMsg) error {
	if m.blob != nil {
		return nil
	}
	b, err := s.srv.opts.Store.OpenBlob(s.ctx, m.detail.BlobID)
	if err != nil {
		return err
	}
	m.blob = b
	if s.searchRoot(m) == nil {
		root, err := mime.Parse(b, b.Size())
		if err != nil {
			return err
		}
		m.root = root
	}
	return nil
}

// searchHeader returns the message's top-level header block.
func (s *session) searchHeader(m *searchMsg) ([]byte, error) {
	if m.header != nil {
		return m.header, nil
	}
	if err := s.openSearchBlob(m); err != nil {
		return nil, err
	}
	r, _ := m.root.HeaderRange(nil)
	hdr := make([]byte, r.Len())
	if _, err := m.blob.ReadAt(hdr, r.Start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	m.header = hdr
	return hdr, nil
}

// searchBody looks for needle in the decoded body text.
func (s *session) searchBody(m *searchMsg, needle string) (bool, error) {
	if needle == "" {
		return true, nil
	}
	if err := s.openSearchBlob(m); err != nil {
		return false, err
	}
	return mime.TextContains(m.blob, m.root, needle)
}
