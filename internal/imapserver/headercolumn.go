package imapserver

import (
	"strings"
	"sync"

	"github.com/letterbox/letterbox/internal/imap"
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
type headerColumn struct {
	mu   sync.Mutex
	ents []columnEntry
	used uint64 // columnCache clock at the last use
}

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

// columnCache holds the columns, at most maxColumnEntries entries over
// all of them (about 150 bytes each with their texts); past that the
// least recently used column goes.
type columnCache struct {
	mu    sync.Mutex
	m     map[columnKey]*headerColumn
	total int
	clock uint64
}

const maxColumnEntries = 1 << 20

var headerColumns = &columnCache{m: map[columnKey]*headerColumn{}}

// get returns the column of k, made empty when there is none.
func (c *columnCache) get(k columnKey) *headerColumn {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	col := c.m[k]
	if col == nil {
		col = &headerColumn{}
		c.m[k] = col
	}
	col.used = c.clock
	return col
}

// grew accounts n more entries and drops least recently used columns
// other than keep past the budget.
func (c *columnCache) grew(keep *headerColumn, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += n
	for c.total > maxColumnEntries {
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
		old.mu.Lock()
		c.total -= len(old.ents)
		old.mu.Unlock()
	}
}

func (c *columnCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	if len(add) == 0 {
		return
	}
	col.mu.Lock()
	n := len(col.ents)
	for _, e := range add {
		if len(col.ents) == 0 || e.uid > col.ents[len(col.ents)-1].uid {
			col.ents = append(col.ents, e)
		}
	}
	n = len(col.ents) - n
	col.mu.Unlock()
	headerColumns.grew(col, n)
}

// compact drops the entries of UIDs not in uids (ascending) once the
// column holds more than twice as many as the view plus some slack.
func (col *headerColumn) compact(uids []store.UID) {
	col.mu.Lock()
	if len(col.ents) <= 2*len(uids)+1024 {
		col.mu.Unlock()
		return
	}
	kept := make([]columnEntry, 0, len(uids))
	j := 0
	for _, e := range col.ents {
		for j < len(uids) && uids[j] < e.uid {
			j++
		}
		if j < len(uids) && uids[j] == e.uid {
			kept = append(kept, e)
		}
	}
	n := len(col.ents) - len(kept)
	col.ents = kept // readers keep the old array, unchanged
	col.mu.Unlock()
	headerColumns.grew(col, -n)
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

// columnKeysOnly reports whether every data key of k is one a column
// answers (SUBJECT, FROM, TO, CC, BCC); keys on flags, numbers and sets
// need no message data.
func columnKeysOnly(k *imap.SearchKey) bool {
	switch k.Name {
	case "HEADER", "SENTBEFORE", "SENTON", "SENTSINCE", "BODY", "TEXT",
		"BEFORE", "ON", "SINCE", "LARGER", "SMALLER", "OLDER", "YOUNGER",
		"EMAILID", "THREADID", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		return false
	}
	for i := range k.Children {
		if !columnKeysOnly(&k.Children[i]) {
			return false
		}
	}
	return true
}
