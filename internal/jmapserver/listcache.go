package jmapserver

import (
	"context"
	"slices"
	"sync"

	"github.com/letterbox/letterbox/internal/store"
)

// listCache keeps the message list (store.Mailbox.Messages) of recently
// queried mailboxes with the HIGHESTMODSEQ it is current at. A query of a
// mailbox that did not change uses it as is; one that changed asks the
// store only for the changes since (Mailbox.Changes, as an IMAP session
// brings its view up to date) and folds them into a new list. So the
// first screen of a web client and its refreshes after new mail do not
// read every row again. Lists are shared read-only: a change makes a new
// slice. Bounded by maxListCacheMessages over all mailboxes, least
// recently used out.
type listCache struct {
	mu    sync.Mutex
	m     map[int64]*cachedList
	total int
	tick  uint64
}

const maxListCacheMessages = 1 << 20

type cachedList struct {
	modseq store.ModSeq
	msgs   []store.Message
	used   uint64
}

func newListCache() *listCache { return &listCache{m: map[int64]*cachedList{}} }

// messages returns the messages of mailbox mb (ascending UID), read
// through the cache; the slice must not be modified.
func (lc *listCache) messages(ctx context.Context, h store.Mailbox, mb store.MailboxInfo) ([]store.Message, error) {
	lc.mu.Lock()
	e := lc.m[mb.ID]
	lc.tick++
	if e != nil {
		e.used = lc.tick
	}
	lc.mu.Unlock()
	if e != nil && e.modseq == mb.HighestModSeq {
		return e.msgs, nil
	}
	var msgs []store.Message
	var modseq store.ModSeq
	if e != nil && e.modseq < mb.HighestModSeq {
		ch, err := h.Changes(ctx, e.modseq)
		if err != nil {
			return nil, err
		}
		msgs, modseq = applyChanges(e.msgs, ch), ch.HighestModSeq
	} else {
		// HIGHESTMODSEQ first: a change committed while Messages reads
		// is then seen again by the next query's Changes.
		hm, err := h.HighestModSeq(ctx)
		if err != nil {
			return nil, err
		}
		if msgs, err = h.Messages(ctx); err != nil {
			return nil, err
		}
		modseq = hm
	}
	lc.put(mb.ID, modseq, msgs)
	return msgs, nil
}

// applyChanges folds ch into msgs (both ascending UID) as a new slice.
func applyChanges(msgs []store.Message, ch store.Changes) []store.Message {
	gone := make(map[store.UID]bool, len(ch.Expunged)+len(ch.Updated))
	for _, u := range ch.Expunged {
		gone[u] = true
	}
	for _, m := range ch.Updated {
		gone[m.UID] = true
	}
	out := make([]store.Message, 0, len(msgs)+len(ch.Updated))
	for _, m := range msgs {
		if !gone[m.UID] {
			out = append(out, m)
		}
	}
	out = append(out, ch.Updated...)
	slices.SortFunc(out, func(a, b store.Message) int {
		switch {
		case a.UID < b.UID:
			return -1
		case a.UID > b.UID:
			return 1
		}
		return 0
	})
	return out
}

func (lc *listCache) put(id int64, modseq store.ModSeq, msgs []store.Message) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if old := lc.m[id]; old != nil {
		if old.modseq > modseq {
			return // a concurrent query stored a newer list
		}
		lc.total -= len(old.msgs)
	}
	lc.tick++
	lc.m[id] = &cachedList{modseq: modseq, msgs: msgs, used: lc.tick}
	lc.total += len(msgs)
	for lc.total > maxListCacheMessages && len(lc.m) > 1 {
		var oldest int64
		var at uint64 = ^uint64(0)
		for k, v := range lc.m {
			if v.used < at && k != id {
				oldest, at = k, v.used
			}
		}
		lc.total -= len(lc.m[oldest].msgs)
		delete(lc.m, oldest)
	}
}
