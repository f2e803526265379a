package sqlite

import (
	"context"
	"sync"

	"github.com/letterbox/letterbox/internal/store"
)

// STATUS (RFC 3501 §6.3.10) counts a mailbox's messages, unseen, deleted
// and sizes. Counting is a pass over every row of the mailbox (37 ms at
// 100,000 messages), and clients ask STATUS of every folder every few
// minutes, so the counts are kept in memory per mailbox, labelled with
// the HIGHESTMODSEQ they were counted at:
//
//   - A STATUS whose snapshot has that HIGHESTMODSEQ uses them; any other
//     recounts and replaces them. Every change to a mailbox's messages
//     raises its HIGHESTMODSEQ (sessions rely on the same for NOOP), so a
//     label that matches means nothing changed since the count.
//   - A write that knows what it changed (a new message, a STORE that
//     does not touch \Deleted) leaves a countNote from the HIGHESTMODSEQ
//     before it to the one after it; after the commit the note moves the
//     counts forward, in commit order, if they were at its "from". Any
//     other write (EXPUNGE, MOVE's source, a \Deleted STORE) leaves no
//     note, so the counts stay behind and the next STATUS recounts.
//
// \Recent is never cached: it is counted by UID above the mark, a range
// of the primary key.

// counts are a mailbox's STATUS numbers other than \Recent.
type counts struct {
	messages, unseen, deleted int
	size, deletedSize         int64
}

func (c *counts) add(d counts) {
	c.messages += d.messages
	c.unseen += d.unseen
	c.deleted += d.deleted
	c.size += d.size
	c.deletedSize += d.deletedSize
}

// countsEntry is a mailbox's counts at HIGHESTMODSEQ hms.
type countsEntry struct {
	hms store.ModSeq
	counts
}

// countNote is what one write did to a mailbox's counts, taking its
// HIGHESTMODSEQ from from to to.
type countNote struct {
	id       int64
	from, to store.ModSeq
	delta    counts
}

// statusCounts is the Store's cache of counts by mailbox ID.
type statusCounts struct {
	mu sync.Mutex
	m  map[int64]countsEntry
}

func (sc *statusCounts) get(id int64, hms store.ModSeq) (counts, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	e, ok := sc.m[id]
	if !ok || e.hms != hms {
		return counts{}, false
	}
	return e.counts, true
}

// put keeps counts taken at hms unless newer ones are there.
func (sc *statusCounts) put(id int64, hms store.ModSeq, c counts) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil {
		sc.m = make(map[int64]countsEntry)
	}
	if e, ok := sc.m[id]; ok && e.hms >= hms {
		return
	}
	sc.m[id] = countsEntry{hms: hms, counts: c}
}

// apply moves counts forward by a committed batch's notes and forgets the
// mailboxes it deleted.
func (sc *statusCounts) apply(notes []countNote, hms []hmsNote) {
	if len(notes) == 0 && len(hms) == 0 {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, n := range notes {
		if e, ok := sc.m[n.id]; ok && e.hms == n.from {
			e.add(n.delta)
			e.hms = n.to
			sc.m[n.id] = e
		}
	}
	for _, n := range hms {
		if n.gone {
			delete(sc.m, n.id)
		}
	}
}

// noteCounts records what this write did to mailbox id's counts.
func (w *wtx) noteCounts(id int64, from, to store.ModSeq, delta counts) {
	w.counts = append(w.counts, countNote{id: id, from: from, to: to, delta: delta})
}

// flagCounts is the change in counts of flags going from old to next, and
// false when \Deleted changes (DELETED-STORAGE would need the size).
func flagCounts(old, next []string) (counts, bool) {
	if hasFlag(old, store.FlagDeleted) != hasFlag(next, store.FlagDeleted) {
		return counts{}, false
	}
	var d counts
	switch was, is := hasFlag(old, store.FlagSeen), hasFlag(next, store.FlagSeen); {
	case was && !is:
		d.unseen = 1
	case !was && is:
		d.unseen = -1
	}
	return d, true
}

// storeCounts notes a STORE's effect on the counts: cur are the messages
// before (ascending by UID), updated the planned changes (a subsequence of
// cur by UID).
func (w *wtx) storeCounts(mi store.MailboxInfo, cur, updated []store.FlagUpdate, hms store.ModSeq) {
	if len(updated) == 0 {
		return
	}
	var d counts
	i := 0
	for _, u := range updated {
		for cur[i].UID != u.UID {
			i++
		}
		fd, ok := flagCounts(cur[i].Flags, u.Flags)
		if !ok {
			return
		}
		d.add(fd)
	}
	w.noteCounts(mi.ID, mi.HighestModSeq, hms, d)
}

// statusOf returns mi's STATUS numbers as of the snapshot tx is in; recent
// is the in-memory \Recent mark (0: the persisted one applies). With the
// counts cached only \Recent is counted (a range of the primary key);
// otherwise one pass counts everything and fills the cache.
func (s *Store) statusOf(ctx context.Context, tx queryer, mi store.MailboxInfo, recent int64) (store.MailboxStatus, error) {
	st := store.MailboxStatus{MailboxInfo: mi}
	const recentFrom = `uid >= MAX(?2, (SELECT recent_uid FROM mailboxes WHERE id = ?1))`
	c, ok := s.statusCounts.get(mi.ID, mi.HighestModSeq)
	if ok {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1 AND `+recentFrom,
			mi.ID, recent).Scan(&st.Recent); err != nil {
			return st, err
		}
	} else {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(1 - seen), 0), COALESCE(SUM(deleted), 0),
			COALESCE(SUM(`+recentFrom+`), 0), COALESCE(SUM(size), 0), COALESCE(SUM(size * deleted), 0)
			FROM messages WHERE mailbox_id = ?1`, mi.ID, recent).Scan(&c.messages, &c.unseen, &c.deleted, &st.Recent, &c.size, &c.deletedSize); err != nil {
			return st, err
		}
		s.statusCounts.put(mi.ID, mi.HighestModSeq, c)
	}
	st.Messages, st.Unseen, st.Deleted, st.Size, st.DeletedSize = c.messages, c.unseen, c.deleted, c.size, c.deletedSize
	return st, nil
}
