package jmapserver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/search"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/thread"
)

// Email/query (RFC 8621 §4.4) and Email/queryChanges (§4.5).

var emailSortOptions = []string{"receivedAt", "size", "from", "to", "subject", "sentAt",
	"hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword"}

// qItem is one candidate message of a query, with what filters and sorts
// needed loaded on demand.
type qItem struct {
	ref    msgRef
	mbox   *store.MailboxInfo
	h      store.Mailbox
	msg    store.Message
	id     string // the Email id, once det is read
	thread string

	det     *store.MessageDetail
	root    *mime.Part
	env     *mime.Envelope
	fields  []rawField
	sig     []byte
	hasSig  bool
	loadErr error
	c       *call
}

// need says what a filter or sort reads beyond the message row.
type need struct{ structure, header, body bool }

func (it *qItem) structure() *mime.Part {
	if it.root == nil && it.det != nil {
		it.root, _ = mime.Decode(it.det.Structure)
		if it.root != nil {
			it.env = it.root.Envelope
		}
	}
	return it.root
}

func (it *qItem) envelope() *mime.Envelope {
	it.structure()
	if it.env == nil {
		return &mime.Envelope{}
	}
	return it.env
}

// headerFields reads the message header from the blob once.
func (it *qItem) headerFields() []rawField {
	if it.fields == nil {
		it.fields = []rawField{}
		root := it.structure()
		if root == nil {
			return it.fields
		}
		blob, err := it.c.s.opts.Store.OpenBlob(it.c.ctx, it.msg.BlobID)
		if err != nil {
			it.loadErr = err
			return it.fields
		}
		defer blob.Close()
		v := newMsgView(blob, blob.Size(), root, nil)
		f, err := v.fields(root)
		if err != nil {
			it.loadErr = err
		}
		it.fields = f
	}
	return it.fields
}

func (it *qItem) bodyContains(needle string) bool {
	if it.hasSig && it.sig != nil && search.Valid(it.sig) {
		if q := search.NewQuery(needle); q.Usable() && !q.MayContainBody(it.sig) {
			return false
		}
	}
	root := it.structure()
	if root == nil {
		return false
	}
	blob, err := it.c.s.opts.Store.OpenBlob(it.c.ctx, it.msg.BlobID)
	if err != nil {
		it.loadErr = err
		return false
	}
	defer blob.Close()
	ok, err := mime.TextContains(blob, root, needle)
	if err != nil {
		it.loadErr = err
	}
	return ok
}

func addressText(as []mime.Address) string {
	var b strings.Builder
	for _, a := range as {
		if a.IsGroupStart() || a.IsGroupEnd() {
			continue
		}
		e := toEmailAddress(a)
		if e.Name != nil {
			b.WriteString(*e.Name)
			b.WriteByte(' ')
		}
		b.WriteString("<" + e.Email + "> ")
	}
	return b.String()
}

// emailFilter is an Email FilterCondition (RFC 8621 §4.4.1).
type emailFilter struct {
	InMailbox               *string   `json:"inMailbox"`
	InMailboxOtherThan      *[]string `json:"inMailboxOtherThan"`
	Before                  *string   `json:"before"`
	After                   *string   `json:"after"`
	MinSize                 *int64    `json:"minSize"`
	MaxSize                 *int64    `json:"maxSize"`
	AllInThreadHaveKeyword  *string   `json:"allInThreadHaveKeyword"`
	SomeInThreadHaveKeyword *string   `json:"someInThreadHaveKeyword"`
	NoneInThreadHaveKeyword *string   `json:"noneInThreadHaveKeyword"`
	HasKeyword              *string   `json:"hasKeyword"`
	NotKeyword              *string   `json:"notKeyword"`
	HasAttachment           *bool     `json:"hasAttachment"`
	Text                    *string   `json:"text"`
	From                    *string   `json:"from"`
	To                      *string   `json:"to"`
	Cc                      *string   `json:"cc"`
	Bcc                     *string   `json:"bcc"`
	Subject                 *string   `json:"subject"`
	Body                    *string   `json:"body"`
	Header                  *[]string `json:"header"`
}

func parseUTCDate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, invalidArgs(fmt.Sprintf("%q is not a UTCDate (RFC 3339)", s))
	}
	return t, nil
}

func hasKeyword(flags []string, kw string) bool {
	return keywordsOf(flags)[strings.ToLower(kw)]
}

// compileEmailFilter compiles the filter and reports what it reads, and
// the mailbox it is restricted to (inMailbox at the top, or in a top AND).
func (c *call) compileEmailFilter(raw json.RawMessage) (func(*qItem) bool, need, int64, error) {
	var nd need
	var only int64
	var top emailFilter
	if t := strings.TrimSpace(string(raw)); t != "" && t != "null" {
		if json.Unmarshal(raw, &top) == nil && top.InMailbox != nil {
			if mb, ok, _ := c.mailboxByJMAPID(*top.InMailbox); ok {
				only = mb.ID
			} else {
				only = -1 // no such mailbox: nothing matches
			}
		}
	}
	match, err := compileFilter(raw, func(r json.RawMessage) (func(*qItem) bool, error) {
		var f emailFilter
		if err := decodeCondition(r, &f); err != nil {
			return nil, err
		}
		var preds []func(*qItem) bool
		add := func(p func(*qItem) bool) { preds = append(preds, p) }
		if f.InMailbox != nil {
			mb, ok, err := c.mailboxByJMAPID(*f.InMailbox)
			if err != nil {
				return nil, err
			}
			id := mb.ID
			add(func(it *qItem) bool { return ok && it.ref.mbox == id })
		}
		if f.InMailboxOtherThan != nil {
			ex := map[int64]bool{}
			for _, j := range *f.InMailboxOtherThan {
				if mb, ok, _ := c.mailboxByJMAPID(j); ok {
					ex[mb.ID] = true
				}
			}
			add(func(it *qItem) bool { return !ex[it.ref.mbox] })
		}
		if f.Before != nil {
			t, err := parseUTCDate(*f.Before)
			if err != nil {
				return nil, err
			}
			add(func(it *qItem) bool { return it.msg.InternalDate.Before(t) })
		}
		if f.After != nil {
			t, err := parseUTCDate(*f.After)
			if err != nil {
				return nil, err
			}
			add(func(it *qItem) bool { return !it.msg.InternalDate.Before(t) })
		}
		if f.MinSize != nil {
			n := *f.MinSize
			add(func(it *qItem) bool { return it.msg.Size >= n })
		}
		if f.MaxSize != nil {
			n := *f.MaxSize
			add(func(it *qItem) bool { return it.msg.Size < n })
		}
		for _, kw := range []*string{f.HasKeyword} {
			if kw != nil {
				k := *kw
				add(func(it *qItem) bool { return hasKeyword(it.msg.Flags, k) })
			}
		}
		if f.NotKeyword != nil {
			k := *f.NotKeyword
			add(func(it *qItem) bool { return !hasKeyword(it.msg.Flags, k) })
		}
		// The thread keyword conditions look at every Email of the
		// item's thread, in any mailbox (threadIndex).
		threadCond := func(kw *string, test func(t *threadKeywords, k string) bool) {
			if kw != nil {
				k := strings.ToLower(*kw)
				c.wantThreads = true
				add(func(it *qItem) bool { return test(c.threadIdx[it.thread], k) })
			}
		}
		threadCond(f.AllInThreadHaveKeyword, func(t *threadKeywords, k string) bool { return t != nil && t.counts[k] == t.n })
		threadCond(f.SomeInThreadHaveKeyword, func(t *threadKeywords, k string) bool { return t != nil && t.counts[k] > 0 })
		threadCond(f.NoneInThreadHaveKeyword, func(t *threadKeywords, k string) bool { return t == nil || t.counts[k] == 0 })
		if f.HasAttachment != nil {
			nd.structure = true
			want := *f.HasAttachment
			add(func(it *qItem) bool {
				root := it.structure()
				if root == nil {
					return !want
				}
				_, _, att := newMsgView(nil, 0, root, nil).bodies()
				return (len(att) > 0) == want
			})
		}
		addrCond := func(s *string, get func(*mime.Envelope) []mime.Address) {
			if s != nil {
				nd.structure = true
				needle := *s
				add(func(it *qItem) bool { return mime.ContainsFold(addressText(get(it.envelope())), needle) })
			}
		}
		addrCond(f.From, func(e *mime.Envelope) []mime.Address { return e.From })
		addrCond(f.To, func(e *mime.Envelope) []mime.Address { return e.To })
		addrCond(f.Cc, func(e *mime.Envelope) []mime.Address { return e.Cc })
		addrCond(f.Bcc, func(e *mime.Envelope) []mime.Address { return e.Bcc })
		if f.Subject != nil {
			nd.structure = true
			needle := *f.Subject
			add(func(it *qItem) bool { return mime.ContainsFold(mime.DecodeHeader(it.envelope().Subject), needle) })
		}
		if f.Body != nil {
			nd.structure, nd.body = true, true
			needle := *f.Body
			add(func(it *qItem) bool { return it.bodyContains(needle) })
		}
		if f.Text != nil {
			nd.structure, nd.body = true, true
			needle := *f.Text
			add(func(it *qItem) bool {
				e := it.envelope()
				for _, as := range [][]mime.Address{e.From, e.To, e.Cc, e.Bcc} {
					if mime.ContainsFold(addressText(as), needle) {
						return true
					}
				}
				return mime.ContainsFold(mime.DecodeHeader(e.Subject), needle) || it.bodyContains(needle)
			})
		}
		if f.Header != nil {
			h := *f.Header
			if len(h) < 1 || len(h) > 2 {
				return nil, invalidArgs("header must be [name] or [name, value]")
			}
			nd.structure, nd.header = true, true
			add(func(it *qItem) bool {
				for _, fl := range it.headerFields() {
					if strings.EqualFold(fl.Name, h[0]) && (len(h) == 1 || mime.ContainsFold(asText(fl.Value), h[1])) {
						return true
					}
				}
				return false
			})
		}
		return func(it *qItem) bool {
			for _, p := range preds {
				if !p(it) {
					return false
				}
			}
			return true
		}, nil
	})
	return match, nd, only, err
}

// compileEmailSort compiles the comparators.
func (c *call) compileEmailSort(sortBy []comparator) (func(a, b *qItem) int, bool, error) {
	needStructure := false
	var cmps []func(a, b *qItem) int
	for _, k := range sortBy {
		var f func(a, b *qItem) int
		switch k.Property {
		case "receivedAt":
			f = func(a, b *qItem) int { return a.msg.InternalDate.Compare(b.msg.InternalDate) }
		case "size":
			f = func(a, b *qItem) int { return cmp.Compare(a.msg.Size, b.msg.Size) }
		case "from", "to":
			needStructure = true
			to := k.Property == "to"
			f = func(a, b *qItem) int {
				key := func(it *qItem) string {
					as := it.envelope().From
					if to {
						as = it.envelope().To
					}
					for _, x := range as {
						if !x.IsGroupStart() && !x.IsGroupEnd() {
							e := toEmailAddress(x)
							if e.Name != nil && *e.Name != "" {
								return thread.Casemap(*e.Name)
							}
							return thread.Casemap(e.Email)
						}
					}
					return ""
				}
				return strings.Compare(key(a), key(b))
			}
		case "subject":
			needStructure = true
			f = func(a, b *qItem) int {
				sa, _ := thread.BaseSubject(a.envelope().Subject)
				sb, _ := thread.BaseSubject(b.envelope().Subject)
				return strings.Compare(sa, sb)
			}
		case "sentAt":
			needStructure = true
			f = func(a, b *qItem) int {
				date := func(it *qItem) time.Time {
					t, err := mail.ParseDate(it.envelope().Date)
					if err != nil {
						return it.msg.InternalDate
					}
					return t
				}
				return date(a).Compare(date(b))
			}
		case "hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword":
			if k.Keyword == "" {
				return nil, false, invalidArgs(k.Property + " sort needs a keyword")
			}
			kw, prop := strings.ToLower(k.Keyword), k.Property
			if prop != "hasKeyword" {
				c.wantThreads = true
			}
			has := func(it *qItem) bool {
				switch prop {
				case "allInThreadHaveKeyword":
					t := c.threadIdx[it.thread]
					return t != nil && t.counts[kw] == t.n
				case "someInThreadHaveKeyword":
					t := c.threadIdx[it.thread]
					return t != nil && t.counts[kw] > 0
				}
				return hasKeyword(it.msg.Flags, kw)
			}
			f = func(a, b *qItem) int {
				x, y := has(a), has(b)
				switch {
				case x == y:
					return 0
				case x:
					return 1
				}
				return -1
			}
		default:
			return nil, false, mErr(meUnsupportedSort, fmt.Sprintf("cannot sort Emails by %q", k.Property))
		}
		if k.Collation != "" && k.Collation != "i;ascii-casemap" && k.Collation != "i;unicode-casemap" {
			return nil, false, mErr(meUnsupportedSort, fmt.Sprintf("collation %q is not supported", k.Collation))
		}
		if !k.ascending() {
			g := f
			f = func(a, b *qItem) int { return -g(a, b) }
		}
		cmps = append(cmps, f)
	}
	return func(a, b *qItem) int {
		for _, f := range cmps {
			if d := f(a, b); d != 0 {
				return d
			}
		}
		// Ties: newest UID last within a mailbox, stable across mailboxes.
		if d := cmp.Compare(a.ref.mbox, b.ref.mbox); d != 0 {
			return d
		}
		return cmp.Compare(a.ref.uid, b.ref.uid)
	}, needStructure, nil
}

// emailResults runs a query and returns the sorted results. With
// allIDs, or when they are needed to tell Emails apart (collapseThreads,
// several mailboxes), every result's ids are read; else the caller reads
// those of the page it returns (fillIDs).
func (c *call) emailResults(filter json.RawMessage, sortBy []comparator, collapse, allIDs bool) ([]*qItem, error) {
	match, nd, only, err := c.compileEmailFilter(filter)
	if err != nil {
		return nil, err
	}
	order, sortStructure, err := c.compileEmailSort(sortBy)
	if err != nil {
		return nil, err
	}
	l, err := c.emailList()
	if err != nil {
		return nil, err
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, err
	}
	var items []*qItem
	for i := range l {
		mb := &l[i]
		if only != 0 && mb.ID != only {
			continue
		}
		h, err := mbs.Open(c.ctx, mb.Name)
		if err != nil {
			continue
		}
		msgs, err := c.s.lists.messages(c.ctx, h, *mb)
		if err != nil {
			return nil, err
		}
		start := len(items)
		for _, m := range msgs {
			items = append(items, &qItem{ref: msgRef{mb.ID, m.UID}, mbox: mb, h: h, msg: m, c: c})
		}
		if nd.structure || sortStructure {
			if err := loadDetails(c, h, items[start:]); err != nil {
				return nil, err
			}
		}
		if nd.body {
			if ts, ok := h.(store.TextSignatures); ok {
				uids := make([]store.UID, 0, len(items)-start)
				for _, it := range items[start:] {
					uids = append(uids, it.ref.uid)
				}
				sigs, err := ts.TextSignatures(c.ctx, uids)
				if err == nil {
					byUID := make(map[store.UID][]byte, len(sigs))
					for _, s := range sigs {
						byUID[s.UID] = s.Sig
					}
					for _, it := range items[start:] {
						it.sig, it.hasSig = byUID[it.ref.uid], true
					}
				}
			}
		}
	}
	if c.wantThreads {
		// Thread conditions and sorts need every item's thread, and the
		// keywords of every thread.
		if items, err = c.fillIDs(items); err != nil {
			return nil, err
		}
		if c.threadIdx, err = c.threadIndex(); err != nil {
			return nil, err
		}
	}
	out := items[:0]
	for _, it := range items {
		if match(it) {
			out = append(out, it)
		}
		if it.loadErr != nil {
			return nil, it.loadErr
		}
	}
	slices.SortStableFunc(out, order)
	if collapse || only == 0 || allIDs {
		// Copies of one Email in several mailboxes, and threads, are
		// told apart by their object ids: read them for every result.
		if out, err = c.fillIDs(out); err != nil {
			return nil, err
		}
		seen, seenThread := map[string]bool{}, map[string]bool{}
		kept := out[:0]
		for _, it := range out {
			if seen[it.id] || (collapse && seenThread[it.thread]) {
				continue
			}
			seen[it.id], seenThread[it.thread] = true, true
			kept = append(kept, it)
		}
		out = kept
	}
	return out, nil
}

// fillIDs reads the object ids of the items that lack them; items whose
// message went meanwhile are dropped.
func (c *call) fillIDs(items []*qItem) ([]*qItem, error) {
	byMbox := map[store.Mailbox][]*qItem{}
	var order []store.Mailbox
	for _, it := range items {
		if it.det == nil {
			if byMbox[it.h] == nil {
				order = append(order, it.h)
			}
			byMbox[it.h] = append(byMbox[it.h], it)
		}
	}
	for _, h := range order {
		if err := loadDetails(c, h, byMbox[h]); err != nil {
			return nil, err
		}
	}
	out := items[:0]
	for _, it := range items {
		if it.det == nil || it.det.EmailID == "" {
			continue
		}
		it.id, it.thread = it.det.EmailID, it.det.ThreadID
		out = append(out, it)
	}
	return out, nil
}

func idsOf(items []*qItem) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	return ids
}

// loadDetails fills det for items of one mailbox, 512 UIDs per store call.
func loadDetails(c *call, h store.Mailbox, items []*qItem) error {
	for i := 0; i < len(items); i += 512 {
		chunk := items[i:min(i+512, len(items))]
		uids := make([]store.UID, len(chunk))
		for k, it := range chunk {
			uids[k] = it.ref.uid
		}
		ds, err := h.Details(c.ctx, uids)
		if err != nil {
			return err
		}
		byUID := make(map[store.UID]*store.MessageDetail, len(ds))
		for k := range ds {
			byUID[ds[k].UID] = &ds[k]
		}
		for _, it := range chunk {
			it.det = byUID[it.ref.uid]
		}
	}
	return nil
}

func (c *call) emailQuery(raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if a.SortAsTree || a.FilterAsTree {
		return nil, invalidArgs("sortAsTree and filterAsTree are Mailbox/query arguments")
	}
	state, err := c.emailState()
	if err != nil {
		return nil, err
	}
	items, err := c.emailResults(a.Filter, a.Sort, a.CollapseThreads, a.Anchor != nil)
	if err != nil {
		return nil, err
	}
	// The window over the results; only the page's ids are read when
	// the results did not need them all.
	idx := make([]string, len(items))
	for i := range items {
		idx[i] = strconv.Itoa(i)
		if items[i].id != "" {
			idx[i] = items[i].id
		}
	}
	pos, pageIdx, err := window(idx, a)
	if err != nil {
		return nil, err
	}
	var pageItems []*qItem
	if len(pageIdx) > 0 {
		pageItems = items[pos : pos+len(pageIdx)]
	}
	if pageItems, err = c.fillIDs(pageItems); err != nil {
		return nil, err
	}
	page := idsOf(pageItems)
	ids := items
	resp := queryResponse{AccountID: a.AccountID, QueryState: state, CanCalculateChanges: true, Position: pos, IDs: page}
	if a.CalculateTotal {
		n := len(ids)
		resp.Total = &n
	}
	return resp, nil
}

func (c *call) emailQueryChanges(raw json.RawMessage) (any, error) {
	var a queryChangesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	ch, err := c.computeEmailChanges(a.SinceQueryState, 0)
	if err != nil {
		return nil, err
	}
	changed := map[string]bool{}
	for _, set := range [][]string{ch.Created, ch.Updated, ch.Destroyed} {
		for _, id := range set {
			changed[id] = true
		}
	}
	items, err := c.emailResults(a.Filter, a.Sort, a.CollapseThreads, true)
	if err != nil {
		return nil, err
	}
	ids := idsOf(items)
	removed, added, err := queryChangesFrom(changed, ids, a)
	if err != nil {
		return nil, err
	}
	resp := queryChangesResponse{AccountID: a.AccountID, OldQueryState: a.SinceQueryState,
		NewQueryState: ch.NewState, Removed: removed, Added: added}
	if a.CalculateTotal {
		n := len(ids)
		resp.Total = &n
	}
	return resp, nil
}

// threadKeywords counts, for one thread, its messages and how many of
// them have each keyword.
type threadKeywords struct {
	n      int
	counts map[string]int
}

// threadIndex reads every message of the account with its thread, for
// the thread keyword conditions and sorts (RFC 8621 §4.4.1).
func (c *call) threadIndex() (map[string]*threadKeywords, error) {
	l, err := c.emailList()
	if err != nil {
		return nil, err
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, err
	}
	idx := map[string]*threadKeywords{}
	for _, mb := range l {
		h, err := mbs.Open(c.ctx, mb.Name)
		if err != nil {
			continue
		}
		msgs, err := c.s.lists.messages(c.ctx, h, mb)
		if err != nil {
			return nil, err
		}
		uids := make([]store.UID, len(msgs))
		for i, m := range msgs {
			uids[i] = m.UID
		}
		ds, err := c.idsOfRows(h, uids)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			t := idx[d.ThreadID]
			if t == nil {
				t = &threadKeywords{counts: map[string]int{}}
				idx[d.ThreadID] = t
			}
			t.n++
			for k := range keywordsOf(d.Flags) {
				t.counts[k]++
			}
		}
	}
	return idx, nil
}
