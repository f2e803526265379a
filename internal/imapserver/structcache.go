package imapserver

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/letterbox/letterbox/internal/casemap"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// Process-wide caches of what SEARCH (and FETCH) read per message, so a
// search does not decode every message's stored structure, nor open its
// content, again each time. Keys are content addresses (blob IDs) or
// (store, mailbox ID, UIDVALIDITY, UID), whose values never change: no entry
// is ever invalidated, the caches only forget the least recently used
// entries past their byte budget.
//
// The budgets of the caches SEARCH SUBJECT/FROM and BODY/TEXT go through
// for every message of the mailbox hold a 100,000-message mailbox (about
// 1.2 KiB of structure, 0.9 KiB of signature and 0.25 KiB of UID entry
// per message): a scan of a mailbox larger than an LRU cache finds
// nothing in it, since each entry is evicted before the scan comes back to
// it, so at 64/48/16 MiB a warm SEARCH SUBJECT over 100,000 messages read
// every message's structure from the store again (5 s instead of 7 ms at
// 10,000; bench/scale.sh). They are ceilings: memory is taken only as
// mailboxes that large are searched.
var (
	structCache = newLRU[string, *structEntry](160 << 20)
	headerCache = newLRU[string, *headerEntry](32 << 20)
	sigCache    = newLRU[string, []byte](112 << 20)
	msgCache    = newLRU[msgKey, msgEntry](40 << 20)
)

// resetCaches empties the caches (tests and benchmarks).
func resetCaches() {
	structCache.reset()
	headerCache.reset()
	sigCache.reset()
	msgCache.reset()
	sortCache.reset()
	refsCache.reset()
	headerColumns.reset()
}

// structEntry is a message's decoded structure with the header values
// SEARCH compares, decoded (RFC 2047) and case-folded (casemap.String, as
// mime.ContainsFold folds) once, the first time a search needs them.
type structEntry struct {
	root *mime.Part

	subjectOnce sync.Once
	// subject is the folded, decoded Subject from the envelope;
	// subjectEmpty says the envelope's Subject is "" (absent or empty).
	subject      string
	subjectEmpty bool

	addrsOnce sync.Once
	// addrs are the folded texts of the envelope's BCC, CC, FROM and TO
	// addresses as addressText builds them (group ends left out).
	addrs [4][]string

	sentOnce sync.Once
	// sent is the calendar day of the envelope's Date (sentOK false when
	// missing or unparsable).
	sent   time.Time
	sentOK bool
}

// folded returns the folded subject (root.Envelope must be set).
func (e *structEntry) folded() (subject string, empty bool) {
	e.subjectOnce.Do(func() {
		e.subjectEmpty = e.root.Envelope.Subject == ""
		e.subject = casemap.String(mime.DecodeHeader(e.root.Envelope.Subject))
	})
	return e.subject, e.subjectEmpty
}

// addresses returns the folded address texts of field BCC, CC, FROM or TO
// (root.Envelope must be set).
func (e *structEntry) addresses(field string) []string {
	e.addrsOnce.Do(func() {
		env := e.root.Envelope
		for name, i := range addrIndex {
			list := map[string][]mime.Address{"BCC": env.Bcc, "CC": env.Cc, "FROM": env.From, "TO": env.To}[name]
			for _, a := range list {
				if t, ok := addressText(a); ok {
					e.addrs[i] = append(e.addrs[i], casemap.String(t))
				}
			}
		}
	})
	return e.addrs[addrIndex[field]]
}

// sentDay returns the day of the envelope's Date (root.Envelope must be
// set); ok is false when it is missing or unparsable.
func (e *structEntry) sentDay() (time.Time, bool) {
	e.sentOnce.Do(func() {
		if d := e.root.Envelope.Date; d != "" {
			if t, err := mime.ParseDate(d); err == nil {
				e.sent, e.sentOK = dayOf(t), true
			}
		}
	})
	return e.sent, e.sentOK
}

// Index of each address field in structEntry.addrs.
var addrIndex = map[string]int{"BCC": 0, "CC": 1, "FROM": 2, "TO": 3}

// structureOf returns the parsed structure of the content blobID whose
// stored encoding (store.MessageDetail.Structure) is raw, decoding it only
// when the cache does not have it.
func structureOf(blobID string, raw []byte) (*mime.Part, error) {
	e, err := structEntryOf(blobID, raw)
	if err != nil {
		return nil, err
	}
	return e.root, nil
}

// structEntryOf is structureOf with the search fields.
func structEntryOf(blobID string, raw []byte) (*structEntry, error) {
	if e, ok := structCache.get(blobID); ok {
		return e, nil
	}
	root, err := mime.Decode(raw)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, errNoStructure
	}
	// The folded header values come later and stay small next to the
	// decoded structure; they are counted in its estimate.
	e := &structEntry{root: root}
	structCache.put(blobID, e, int64(4*len(raw)+len(blobID)+300))
	return e, nil
}

var errNoStructure = errors.New("imapserver: no stored structure")

// addressText is an address as SEARCH FROM/TO/CC/BCC compares it: "name
// <mailbox@host>" with the name RFC 2047 decoded, or a group's name; ok is
// false for a group end.
func addressText(a mime.Address) (string, bool) {
	switch {
	case a.IsGroupEnd():
		return "", false
	case a.IsGroupStart():
		return mime.DecodeHeader(a.Mailbox), true // the group's name, as Dovecot matches it
	}
	text := a.Mailbox + "@" + a.Host
	if a.Name != "" {
		text = mime.DecodeHeader(a.Name) + " <" + text + ">"
	}
	return text, true
}

// headerEntry is a message's top-level header block and its fields with
// decoded, folded values, for SEARCH HEADER and TEXT.
type headerEntry struct {
	raw    []byte
	fields []headerField
}

type headerField struct {
	name   string // as written
	folded string // casemap.String(mime.DecodeHeader(value))
}

func newHeaderEntry(raw []byte) *headerEntry {
	e := &headerEntry{raw: raw}
	for _, f := range mime.HeaderFields(raw) {
		e.fields = append(e.fields, headerField{name: f.Name, folded: casemap.String(mime.DecodeHeader(f.Value))})
	}
	return e
}

func (e *headerEntry) size() int64 {
	n := 2*len(e.raw) + 100
	for _, f := range e.fields {
		n += len(f.folded) + len(f.name) + 32
	}
	return int64(n)
}

// contains reports whether some field called name contains the folded
// value (as headerContains); an empty value matches any such field.
func (e *headerEntry) contains(name, folded string) bool {
	for _, f := range e.fields {
		if strings.EqualFold(f.name, name) && (folded == "" || strings.Contains(f.folded, folded)) {
			return true
		}
	}
	return false
}

// msgKey names one message for as long as it exists: mailbox IDs are
// never reused, and UIDs are not within one UIDVALIDITY (RFC 3501
// §2.3.1.1). server (Server.cacheID) stands for the store, since IDs are
// per store and a Server has one: plain integers hash and compare faster
// than an interface, and SEARCH looks up every message of the mailbox.
type msgKey struct {
	server   uint64
	mailbox  int64
	validity uint32
	uid      store.UID
}

// cacheIDs numbers the Servers for msgKey.
var cacheIDs atomic.Uint64

// msgEntry is what never changes about a message: its content and, when
// meta is set, its size and internal date.
type msgEntry struct {
	blobID string
	meta   bool
	size   int64
	date   time.Time
}

const msgEntrySize = 64 + 64 + 48 + 64

// lru is a map bounded by the sum of its entries' sizes, forgetting the
// least recently used entries past it (approximately: second chance, or
// CLOCK). A get only marks its entry referenced; eviction gives a marked
// entry one more round instead of moving it on every get. SEARCH gets
// every entry of a 100,000-message mailbox in turn, and relinking three
// nodes scattered in memory per get was a cache miss each (bench/scale.sh).
// Safe for concurrent use.
type lru[K comparable, V any] struct {
	mu   sync.Mutex
	max  int64
	used int64
	m    map[K]*lruNode[K, V]
	head lruNode[K, V] // sentinel: head.next is the most recently used
}

type lruNode[K comparable, V any] struct {
	key        K
	val        V
	size       int64
	ref        bool // got since it was last passed over for eviction
	prev, next *lruNode[K, V]
}

func newLRU[K comparable, V any](max int64) *lru[K, V] {
	c := &lru[K, V]{max: max, m: map[K]*lruNode[K, V]{}}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	n, ok := c.m[k]
	if !ok {
		c.mu.Unlock()
		var zero V
		return zero, false
	}
	if !n.ref {
		n.ref = true
	}
	v := n.val
	c.mu.Unlock()
	return v, true
}

// put stores v under k (replacing an entry) unless size alone is over the
// budget.
func (c *lru[K, V]) put(k K, v V, size int64) {
	if size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[k]; ok {
		c.used += size - n.size
		n.val, n.size = v, size
		n.prev.next, n.next.prev = n.next, n.prev
		n.prev, n.next = &c.head, c.head.next
		c.head.next.prev = n
		c.head.next = n
	} else {
		n := &lruNode[K, V]{key: k, val: v, size: size, prev: &c.head, next: c.head.next}
		c.head.next.prev = n
		c.head.next = n
		c.m[k] = n
		c.used += size
	}
	fresh := c.m[k]
	for c.used > c.max {
		last := c.head.prev
		last.prev.next, c.head.prev = &c.head, last.prev
		if last.ref || last == fresh {
			// Second chance: back to the front, unmarked (and the
			// entry just given is never the one to go: size is at most
			// a quarter of the budget, so others are there).
			last.ref = false
			last.prev, last.next = &c.head, c.head.next
			c.head.next.prev = last
			c.head.next = last
			continue
		}
		delete(c.m, last.key)
		c.used -= last.size
	}
}

func (c *lru[K, V]) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.used = 0
	c.head.prev, c.head.next = &c.head, &c.head
}

func (c *lru[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
