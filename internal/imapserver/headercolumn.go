package imapserver

import (
	"strings"
	"sync"

	"github.com/letterbox/letterbox/internal/store"
)

// A header column keeps, per mailbox, the folded texts SEARCH SUBJECT,
// FROM, TO, CC and BCC compare (RFC 3501 §6.4.4), in one slice in
// ascending UID order. A search of those keys walks it beside the view's
// UIDs instead of probing the process-wide caches by key for every
// message: at 100,000 messages the hashed probes into maps larger than
// the CPU caches were most of a SUBJECT search, and a scan grew faster
// than the mailbox (bench/scale.sh). The texts are the same strings the
// structure cache's entries hold (structEntry.folded, .addresses).
//
// A column is keyed by (store, mailbox ID, UIDVALIDITY) like msgCache, so
// it is never invalidated: a UID's content does not change. Entries are
// only appended, with UIDs above the last one, and never modified; a
// reader takes the slice once and reads it without the lock. Messages
// without a usable envelope, or with an empty Subject (whose SUBJECT ""
// asks whether the field exists at all), are left out and searched the
// usual way. Expunged UIDs stay until the column holds twice the view and
// is compacted.
//
// The same holds, in a list of its own, each message's content address
// and search signature for BODY and TEXT (sigEntry): loadSignatures walks
// it instead of probing msgCache and sigCache for every message, and only
// the messages the signatures do not rule out are looked up by key.
type headerColumn struct {
	mu    sync.Mutex
	ents  []columnEntry
	sigs  []sigEntry
	bytes int64 // estimated size of both lists
	// used is the columnCache clock at the last use; dropped says the
	// cache let the column go (sessions may still add to it). Both are
	// guarded by the cache's lock.
	used    uint64
	dropped bool
	cache   *columnCache
}

// sigEntry is one message's content address and search signature (the
// slice sigCache holds too).
type sigEntry struct {
	uid    store.UID
	blobID string
	sig    []byte
}

// columnItem is what both lists of a column hold.
type columnItem interface {
	key() store.UID
	size() int64
}

func (e columnEntry) key() store.UID { return e.uid }
func (e sigEntry) key() store.UID    { return e.uid }

func (e columnEntry) size() int64 {
	n := 100 + len(e.subject)
	for _, a := range e.addrs {
		n += len(a)
	}
	return int64(n)
}

func (e sigEntry) size() int64 { return int64(48 + len(e.blobID) + len(e.sig)) }

// columnEntry is one message's folded search texts: the decoded subject
// and, per address field (addrIndex), the address texts joined by NUL (an
// IMAP string never holds NUL; see addrContains).
type columnEntry struct {
	uid     store.UID
	subject string
	addrs   [4]string
	hasAddr [4]bool
}

// columnKey names a mailbox of a store for as long as its UIDs mean the
// same messages.
type columnKey struct {
	server   uint64
	mailbox  int64
	validity uint32
}

// columnCache holds the columns, at most maxColumnBytes over all of them
// (a 100,000-message mailbox takes about 15 MB of header texts and 100 MB
// of signatures, which it shares with sigCache); past that the least
// recently used column goes.
type columnCache struct {
	mu    sync.Mutex
	max   int64
	m     map[columnKey]*headerColumn
	total int64
	clock uint64
}

const maxColumnBytes = 192 << 20

var headerColumns = newColumnCache(maxColumnBytes)

func newColumnCache(max int64) *columnCache {
	return &columnCache{max: max, m: map[columnKey]*headerColumn{}}
}

// get returns the column of k, made empty when there is none.
func (c *columnCache) get(k columnKey) *headerColumn {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	col := c.m[k]
	if col == nil {
		col = &headerColumn{cache: c}
		c.m[k] = col
	}
	col.used = c.clock
	return col
}

// grew accounts n more bytes and drops least recently used columns other
// than keep past the budget.
func (c *columnCache) grew(keep *headerColumn, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if keep.dropped {
		return // no longer counted
	}
	c.total += n
	for c.total > c.max {
		var oldK columnKey
		var old *headerColumn
		for k, col := range c.m {
			if col != keep && (old == nil || col.used < old.used) {
				oldK, old = k, col
			}
		}
		if old == nil {
			return
		}
		delete(c.m, oldK)
		old.dropped = true
		old.mu.Lock()
		c.total -= old.bytes
		old.mu.Unlock()
	}
}

func (c *columnCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, col := range c.m {
		col.dropped = true
	}
	clear(c.m)
	c.total = 0
}

// entries returns the column as it is now; it never changes afterwards.
func (col *headerColumn) entries() []columnEntry {
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.ents
}

// add appends the entries of msgs (ascending by UID) that have a usable
// envelope and lie above the column's last UID.
func (col *headerColumn) add(msgs []searchMsg) {
	var add []columnEntry
	for i := range msgs {
		m := &msgs[i]
		if m.col != nil || m.st == nil || m.st.root.Envelope == nil {
			continue
		}
		subject, empty := m.st.folded()
		if empty {
			continue
		}
		e := columnEntry{uid: m.uid, subject: subject}
		for name, j := range addrIndex {
			list := m.st.addresses(name)
			e.addrs[j], e.hasAddr[j] = strings.Join(list, "\x00"), len(list) > 0
		}
		add = append(add, e)
	}
	col.update(func() (n int64) {
		col.ents, n = appendAbove(col.ents, add)
		return n
	})
}

// update runs f under the column's lock; f returns how many bytes it
// added (negative: removed), which the budget accounts.
func (col *headerColumn) update(f func() int64) {
	col.mu.Lock()
	n := f()
	col.bytes += n
	col.mu.Unlock()
	if n != 0 {
		col.cache.grew(col, n)
	}
}

// sigEntries returns the signature list as it is now; it never changes
// afterwards.
func (col *headerColumn) sigEntries() []sigEntry {
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.sigs
}

// addSigs appends add (ascending by UID) where it lies above the last UID.
func (col *headerColumn) addSigs(add []sigEntry) {
	col.update(func() (n int64) {
		col.sigs, n = appendAbove(col.sigs, add)
		return n
	})
}

// walkTo is one step of a merge walk over list (ascending by UID) beside
// ascending UIDs: it moves *i past the entries below u and returns the
// entry of u, or nil when list has none.
func walkTo[E columnItem](list []E, i *int, u store.UID) *E {
	for *i < len(list) && list[*i].key() < u {
		*i++
	}
	if *i < len(list) && list[*i].key() == u {
		return &list[*i]
	}
	return nil
}

// appendAbove appends the entries of add (ascending) whose UID is above
// list's last one, and returns the list and the bytes it grew by.
func appendAbove[E columnItem](list, add []E) ([]E, int64) {
	var n int64
	for _, e := range add {
		if len(list) == 0 || e.key() > list[len(list)-1].key() {
			list = append(list, e)
			n += e.size()
		}
	}
	return list, n
}

// compact drops the entries of UIDs not in uids (ascending) from a list
// that holds more than twice as many as the view plus some slack. Readers
// keep the old arrays, unchanged.
func (col *headerColumn) compact(uids []store.UID) {
	col.update(func() int64 {
		var n1, n2 int64
		col.ents, n1 = keepIn(col.ents, uids)
		col.sigs, n2 = keepIn(col.sigs, uids)
		return -(n1 + n2)
	})
}

// keepIn returns list, or when it holds more than twice as many entries as
// uids (ascending) plus 1,024, a new list of the entries whose UID is in
// uids, and the bytes dropped.
func keepIn[E columnItem](list []E, uids []store.UID) ([]E, int64) {
	if len(list) <= 2*len(uids)+1024 {
		return list, 0
	}
	kept := make([]E, 0, len(uids))
	var dropped int64
	j := 0
	for _, e := range list {
		for j < len(uids) && uids[j] < e.key() {
			j++
		}
		if j < len(uids) && uids[j] == e.key() {
			kept = append(kept, e)
		} else {
			dropped += e.size()
		}
	}
	return kept, dropped
}

// addrContains reports whether one of the NUL-joined address texts
// contains needle.
func addrContains(joined, needle string) bool {
	if strings.IndexByte(needle, 0) < 0 {
		return strings.Contains(joined, needle)
	}
	for t := range strings.SplitSeq(joined, "\x00") {
		if strings.Contains(t, needle) {
			return true
		}
	}
	return false
}
