package sqlite

import (
	"container/list"
	"context"
	"encoding/json"
	"slices"
	"sync"

	"github.com/letterbox/letterbox/internal/store"
)

// Details (FETCH ENVELOPE/BODYSTRUCTURE, SEARCH on headers) reads the
// message rows of the asked UIDs and the stored structure of their
// content. Two things keep it cheap:
//   - the rows of a dense set of UIDs (the usual FETCH 1:* batch, where at
//     least half of the UIDs between the first and the last are asked) are
//     read as one range (uid BETWEEN ? AND ?) and filtered here, instead of
//     one primary-key lookup per UID from a json_each list;
//   - structures come from a process-wide cache keyed by content address
//     (structCache): the content of a blob ID never changes, so an entry
//     never needs invalidating; the cache only forgets the least recently
//     used entries past its byte budget. Only misses read the blobs table.

// detailsColumns are the message columns Details reads, live or kept.
const detailsLive = `SELECT uid, modseq, flags, internaldate, tzoffset, size, blob_id, email_id, thread_id, savedate FROM messages m WHERE m.mailbox_id = ?1 AND `
const detailsKept = `SELECT e.uid, e.msg_modseq, e.flags, e.internaldate, e.tzoffset, e.size, e.blob_id, e.email_id, e.thread_id, e.savedate FROM expunged e
	WHERE e.mailbox_id = ?1
	AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.mailbox_id = e.mailbox_id AND x.uid = e.uid)
	AND EXISTS (SELECT 1 FROM mailboxes WHERE id = ?1) AND `

// detailsList and detailsRange read live messages and, for UIDs no longer
// live, the content kept for sessions that may still FETCH them (see
// collect.go), while the mailbox exists (an empty answer then asks
// whether it does); one statement, one snapshot.
const (
	detailsList = detailsLive + `m.uid IN (SELECT value FROM json_each(?2))
	UNION ALL ` + detailsKept + `e.uid IN (SELECT value FROM json_each(?2)) ORDER BY 1`
	detailsRange = detailsLive + `m.uid BETWEEN ?2 AND ?3
	UNION ALL ` + detailsKept + `e.uid BETWEEN ?2 AND ?3 ORDER BY 1`
)

// detailsJoin is the fallback that reads the structures in the same
// statement: used when a structure was not in the cache and its blobs
// row was gone by the time it was read.
const detailsJoin = `SELECT uid, modseq, flags, internaldate, tzoffset, size, blob_id, email_id, thread_id, savedate, structure FROM (
	SELECT m.uid, m.modseq, m.flags, m.internaldate, m.tzoffset, m.size, m.blob_id, m.email_id, m.thread_id, m.savedate, b.structure
		FROM messages m JOIN blobs b ON b.id = m.blob_id
		WHERE m.mailbox_id = ?1 AND m.uid IN (SELECT value FROM json_each(?2))
	UNION ALL
	SELECT e.uid, e.msg_modseq, e.flags, e.internaldate, e.tzoffset, e.size, e.blob_id, e.email_id, e.thread_id, e.savedate, b.structure
		FROM expunged e JOIN blobs b ON b.id = e.blob_id
		WHERE e.mailbox_id = ?1 AND e.uid IN (SELECT value FROM json_each(?2))
		AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.mailbox_id = e.mailbox_id AND x.uid = e.uid)
		AND EXISTS (SELECT 1 FROM mailboxes WHERE id = ?1)
	) ORDER BY uid`

// Details returns the given messages with their stored structure, in
// ascending UID order: live messages and expunged ones still kept.
func (m *mailbox) Details(ctx context.Context, uids []store.UID) ([]store.MessageDetail, error) {
	uids = sortedUIDs(uids)
	out := []store.MessageDetail{}
	if len(uids) > 0 {
		var err error
		if out, err = m.details(ctx, uids); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		if err := m.exists(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sortedUIDs is uids ascending without repeats; uids itself is never
// modified.
func sortedUIDs(uids []store.UID) []store.UID {
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			out := slices.Clone(uids)
			slices.Sort(out)
			return slices.Compact(out)
		}
	}
	return uids
}

// details reads the rows of uids (ascending, unique, not empty), then the
// structures the cache does not have.
func (m *mailbox) details(ctx context.Context, uids []store.UID) ([]store.MessageDetail, error) {
	lo, hi := uids[0], uids[len(uids)-1]
	dense := int64(hi)-int64(lo)+1 <= 2*int64(len(uids))
	var rows interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close() error
	}
	var err error
	if dense {
		rows, err = m.s.readQuery(ctx, detailsRange, m.id, int64(lo), int64(hi))
	} else {
		rows, err = m.s.readQuery(ctx, detailsList, m.id, uidsJSON(uids))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.MessageDetail, 0, len(uids))
	var missing []string
	next := 0 // index in uids of the next UID asked (dense filtering)
	var ids objectColumns
	ms := newMessageScanner(&ids.email, &ids.thread, &ids.saved)
	for rows.Next() {
		var d store.MessageDetail
		if d.Message, err = ms.scan(rows); err != nil {
			return nil, m.s.closedErr(err)
		}
		if dense {
			for next < len(uids) && uids[next] < d.UID {
				next++
			}
			if next == len(uids) || uids[next] != d.UID {
				continue // in the range, not asked
			}
		}
		if st, ok := m.s.structs.get(d.BlobID); ok {
			d.Structure = st
		} else {
			missing = append(missing, d.BlobID)
		}
		ids.fill(&d)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, m.s.closedErr(err)
	}
	rows.Close()
	if len(missing) == 0 {
		return out, nil
	}
	if m.s.detailsHook != nil {
		m.s.detailsHook()
	}
	found, err := m.s.loadStructures(ctx, missing)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Structure != nil {
			continue
		}
		st, ok := found[out[i].BlobID]
		if !ok {
			// Collected between the two reads: read everything again in
			// one statement.
			return m.detailsJoined(ctx, uids)
		}
		out[i].Structure = st
	}
	return out, nil
}

// loadStructures reads the structures of the given blobs and caches them.
func (s *Store) loadStructures(ctx context.Context, ids []string) (map[string][]byte, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	js, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readQuery(ctx, "SELECT id, structure FROM blobs WHERE id IN (SELECT value FROM json_each(?))", string(js))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[string][]byte, len(ids))
	for rows.Next() {
		var id string
		var st []byte
		if err := rows.Scan(&id, &st); err != nil {
			return nil, s.closedErr(err)
		}
		if st == nil {
			st = []byte{}
		}
		found[id] = st
		s.structs.put(id, st)
	}
	return found, s.closedErr(rows.Err())
}

// detailsJoined is Details in one statement with the join.
func (m *mailbox) detailsJoined(ctx context.Context, uids []store.UID) ([]store.MessageDetail, error) {
	rows, err := m.s.readQuery(ctx, detailsJoin, m.id, uidsJSON(uids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.MessageDetail, 0, len(uids))
	var st []byte
	var ids objectColumns
	ms := newMessageScanner(&ids.email, &ids.thread, &ids.saved, &st)
	for rows.Next() {
		var d store.MessageDetail
		if d.Message, err = ms.scan(rows); err != nil {
			return nil, m.s.closedErr(err)
		}
		ids.fill(&d)
		d.Structure, st = st, nil
		out = append(out, d)
	}
	return out, m.s.closedErr(rows.Err())
}

// defaultStructureCache is the byte budget of the structure cache when
// Options.StructureCache is 0: enough for the structures of a
// 100,000-message mailbox, so a warm FETCH 1:* ENVELOPE of one that large
// is not a scan that evicts every entry before it comes back to it.
const defaultStructureCache = 96 << 20

// structCache is a cache of stored structures by blob ID, bounded in
// bytes, that forgets the least recently used first (approximately:
// second chance, or CLOCK). A get only marks its entry: at 100,000
// messages a FETCH 1:* gets every entry in turn, and moving each to the
// front of a list was three scattered pointer writes per message. A nil
// *structCache caches nothing.
type structCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	lru    list.List // of *structEntry, newest (or given a second chance) first
	byID   map[string]*list.Element
}

type structEntry struct {
	id  string
	st  []byte
	ref bool // got since it was last passed over for eviction
}

// structEntryOverhead approximates the bookkeeping bytes of one entry.
const structEntryOverhead = 160

func newStructCache(budget int64) *structCache {
	if budget < 0 {
		return nil
	}
	if budget == 0 {
		budget = defaultStructureCache
	}
	return &structCache{budget: budget, byID: make(map[string]*list.Element)}
}

func (c *structCache) get(id string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	e := el.Value.(*structEntry)
	if !e.ref {
		e.ref = true
	}
	return e.st, true
}

func (c *structCache) put(id string, st []byte) {
	if c == nil {
		return
	}
	size := int64(len(id) + len(st) + structEntryOverhead)
	if size > c.budget/4 {
		return // one huge structure would push out many small ones
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; ok {
		return
	}
	fresh := c.lru.PushFront(&structEntry{id: id, st: st})
	c.byID[id] = fresh
	c.used += size
	for c.used > c.budget {
		el := c.lru.Back()
		e := el.Value.(*structEntry)
		if e.ref || el == fresh {
			// Second chance (and the entry just put never goes: it is
			// at most a quarter of the budget, so others are there).
			e.ref = false
			c.lru.MoveToFront(el)
			continue
		}
		c.lru.Remove(el)
		delete(c.byID, e.id)
		c.used -= int64(len(e.id) + len(e.st) + structEntryOverhead)
	}
}
