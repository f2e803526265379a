package imapserver

import (
	"container/list"
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/letterbox/letterbox/internal/store"
)

// snapshotCacheMessages bounds the messages the per-server snapshot cache
// holds over all its mailboxes: about 40 bytes each (UID, flags slice
// header, MODSEQ), so 40 MiB at most. The flag lists themselves are shared
// with the views (the store interns them).
const snapshotCacheMessages = 1 << 20

// mailboxSnapshot is a mailbox as one view saw it when it was complete:
// the sequence of UIDs with their flags and MODSEQs, every change up to
// and including modseq applied. It is immutable: views that start from it
// share its slices and copy them before their first change (see
// selectedView.own), so a SELECT of an unchanged mailbox costs no store
// read of its messages and no copy, whatever its size (RFC 3501 §6.3.1
// asks only for the counts, the first unseen message and the flags in
// use, which the snapshot keeps computed).
type mailboxSnapshot struct {
	id       int64
	validity uint32
	modseq   store.ModSeq
	uidNext  store.UID
	uids     []store.UID
	flags    [][]string
	modseqs  []store.ModSeq
	// keywords in use (sorted) and the sequence number of the first
	// message without \Seen (0: none), computed once.
	keywords    []string
	firstUnseen int
}

// snapshotCache holds the latest snapshot of recently selected mailboxes,
// least recently used first out. Mailbox IDs are never reused by a store
// (both drivers promise it), and a snapshot is only used with the
// UIDVALIDITY it was taken under and brought up to date with
// store.Mailbox.Changes since its MODSEQ, so a stale snapshot costs a
// larger Changes answer, never a wrong view.
type snapshotCache struct {
	mu    sync.Mutex
	max   int // messages
	held  int
	byID  map[int64]*list.Element // → *mailboxSnapshot
	order *list.List              // front: most recently used
}

func newSnapshotCache(max int) *snapshotCache {
	return &snapshotCache{max: max, byID: map[int64]*list.Element{}, order: list.New()}
}

// get returns the snapshot of mailbox id under validity, or nil.
func (c *snapshotCache) get(id int64, validity uint32) *mailboxSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byID[id]
	if e == nil {
		return nil
	}
	s := e.Value.(*mailboxSnapshot)
	if s.validity != validity {
		return nil
	}
	c.order.MoveToFront(e)
	return s
}

// put keeps s unless the cache has a snapshot of the same mailbox at a
// higher MODSEQ.
func (c *snapshotCache) put(s *mailboxSnapshot) {
	if len(s.uids) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byID[s.id]; e != nil {
		old := e.Value.(*mailboxSnapshot)
		if old.validity == s.validity && old.modseq > s.modseq {
			return
		}
		c.held -= len(old.uids)
		e.Value = s
		c.order.MoveToFront(e)
	} else {
		c.byID[s.id] = c.order.PushFront(s)
	}
	c.held += len(s.uids)
	for c.held > c.max {
		e := c.order.Back()
		old := e.Value.(*mailboxSnapshot)
		c.order.Remove(e)
		delete(c.byID, old.id)
		c.held -= len(old.uids)
	}
}

// openView pins the mailbox, then builds the view: from the server's
// snapshot of the mailbox brought up to date with the changes since it,
// or, without one, from the store's list of every message. The pin is
// taken first so no content the view names can be collected before the
// view exists. The view is then the mailbox's snapshot for the next
// SELECT.
func openView(ctx context.Context, cache *snapshotCache, mbox store.Mailbox, readOnly bool) (*selectedView, store.MailboxInfo, error) {
	pin := mbox.Pin()
	info, err := mbox.Info(ctx)
	if err != nil {
		pin.Release()
		return nil, info, err
	}
	var v *selectedView
	var snap *mailboxSnapshot
	if cache != nil {
		snap = cache.get(info.ID, info.UIDValidity)
	}
	if snap != nil && snap.modseq <= info.HighestModSeq {
		v = viewOfSnapshot(mbox, info, snap, readOnly)
		ch, err := mbox.Changes(ctx, snap.modseq)
		if err != nil {
			pin.Release()
			return nil, info, err
		}
		// Fold what changed into the view: the client has been told
		// nothing yet, so nothing is pending afterwards.
		v.apply(ch)
		v.flush(true, false, false)
	} else {
		msgs, err := mbox.Messages(ctx)
		if err != nil {
			pin.Release()
			return nil, info, err
		}
		v = newSelectedView(mbox, info, msgs, readOnly)
	}
	v.pin = pin
	v.advancePin()
	if v.shared {
		// Nothing in the view changed: the snapshot's figures hold. If the
		// mailbox's MODSEQ moved (changes that left these messages as
		// they were), the next SELECT may start from there.
		v.kw, v.unseen = snap.keywords, snap.firstUnseen
		if v.lastModSeq > snap.modseq && cache != nil {
			cache.put(v.snapshot(info.ID))
		}
	} else {
		v.kw, v.unseen = v.scanKeywords(), v.scanFirstUnseen()
		if cache != nil {
			cache.put(v.snapshot(info.ID))
		}
	}
	return v, info, nil
}

// viewOfSnapshot is a view sharing snap's slices.
func viewOfSnapshot(mbox store.Mailbox, info store.MailboxInfo, snap *mailboxSnapshot, readOnly bool) *selectedView {
	v := &selectedView{
		mbox:           mbox,
		name:           info.Name,
		id:             info.ID,
		readOnly:       readOnly,
		recent:         map[store.UID]bool{},
		lastModSeq:     snap.modseq,
		uidNext:        max(snap.uidNext, info.UIDNext),
		validity:       info.UIDValidity,
		pendingExpunge: map[store.UID]bool{},
		pendingFlags:   map[store.UID]bool{},
		uids:           snap.uids,
		flags:          snap.flags,
		modseqs:        snap.modseqs,
		shared:         true,
	}
	return v
}

// snapshot makes the view's current state the mailbox's shared snapshot:
// from now on the view copies its slices before changing them. Only for a
// view with nothing pending and its keywords and first unseen message
// computed (openView).
func (v *selectedView) snapshot(id int64) *mailboxSnapshot {
	v.uids, v.flags, v.modseqs = slices.Clip(v.uids), slices.Clip(v.flags), slices.Clip(v.modseqs)
	v.shared = true
	return &mailboxSnapshot{id: id, validity: v.validity, modseq: v.lastModSeq, uidNext: v.uidNext,
		uids: v.uids, flags: v.flags, modseqs: v.modseqs, keywords: v.kw, firstUnseen: v.unseen}
}

// own gives the view its own copy of slices it shares with a snapshot;
// every change to uids, flags or modseqs goes through it first.
func (v *selectedView) own() {
	if !v.shared {
		return
	}
	v.uids, v.flags, v.modseqs = slices.Clone(v.uids), slices.Clone(v.flags), slices.Clone(v.modseqs)
	v.shared = false
}

// scanKeywords lists the keywords in use in the view (for FLAGS and
// PERMANENTFLAGS), sorted.
func (v *selectedView) scanKeywords() []string {
	seen := map[string]bool{}
	var out []string
	var last []string // flag lists are interned: runs of the same list are common
	for _, fl := range v.flags {
		if len(fl) == 0 || (len(last) == len(fl) && &last[0] == &fl[0]) {
			continue
		}
		last = fl
		for _, f := range fl {
			if strings.HasPrefix(f, `\`) || seen[strings.ToLower(f)] {
				continue
			}
			seen[strings.ToLower(f)] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// scanFirstUnseen returns the sequence number of the first message without
// \Seen, 0 when none (RFC 3501 §6.3.1 UNSEEN).
func (v *selectedView) scanFirstUnseen() int {
	for i, fl := range v.flags {
		if !hasFlag(fl, store.FlagSeen) {
			return i + 1
		}
	}
	return 0
}
