package imapserver

import (
	"bytes"
	"errors"
	"io"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/thread"
)

// sortFields are a message's SORT and THREAD keys taken from its stored
// envelope, computed once per content and kept in sortCache, so a warm
// SORT over a mailbox is map lookups and comparisons.
type sortFields struct {
	// subject is the RFC 5256 §2.1 base subject, casemapped; rawSubject
	// the field as written ("" when absent or empty).
	subject, rawSubject string
	// from, to, cc: the casemapped addr-mailbox of the first address
	// (RFC 5256 §3 SORT FROM/TO/CC); displayFrom, displayTo: the
	// casemapped display name of the first address, or its address
	// (RFC 5957 §3.1).
	from, to, cc, displayFrom, displayTo string
	// date is the Date field in Unix seconds; dateOK is false when it is
	// missing, does not parse or is the epoch (then the internal date
	// stands in, RFC 5256 §2.2).
	date   int64
	dateOK bool
	// messageID and inReplyTo are the first valid message IDs of those
	// fields ("" for none).
	messageID, inReplyTo string
}

// sortCache maps content (blob ID) to its sort fields; refsCache to the
// message IDs of its References field (THREAD REFERENCES, which is not in
// the envelope and is read from the header once).
var (
	sortCache = newLRU[string, *sortFields](16 << 20)
	refsCache = newLRU[string, []string](8 << 20)
)

func (f *sortFields) size() int64 {
	return int64(len(f.subject)+len(f.rawSubject)+len(f.from)+len(f.to)+len(f.cc)+
		len(f.displayFrom)+len(f.displayTo)+len(f.messageID)+len(f.inReplyTo)) + 200
}

// newSortFields computes the fields from an envelope (nil: none).
func newSortFields(env *mime.Envelope) *sortFields {
	f := &sortFields{}
	if env == nil {
		return f
	}
	f.rawSubject = env.Subject
	f.subject, _ = thread.BaseSubject(env.Subject)
	f.from = thread.Casemap(firstMailbox(env.From))
	f.to = thread.Casemap(firstMailbox(env.To))
	f.cc = thread.Casemap(firstMailbox(env.Cc))
	f.displayFrom = thread.Casemap(displayName(env.From))
	f.displayTo = thread.Casemap(displayName(env.To))
	if env.Date != "" {
		if t, err := mime.ParseDate(env.Date); err == nil && t.Unix() != 0 {
			f.date, f.dateOK = t.Unix(), true
		}
	}
	f.messageID = thread.FirstMessageID(env.MessageID)
	f.inReplyTo = thread.FirstMessageID(env.InReplyTo)
	return f
}

// firstMailbox is the local part of the first address (for a group, its
// name, as Dovecot takes it), "" for none.
func firstMailbox(list []mime.Address) string {
	if len(list) == 0 {
		return ""
	}
	return list[0].Mailbox
}

// displayName is RFC 5957 §3.1's display name of the first address: the
// decoded phrase, or when there is none the address (mailbox@host), or
// for a group its name.
func displayName(list []mime.Address) string {
	if len(list) == 0 {
		return ""
	}
	a := list[0]
	if a.Name != "" {
		if n := mime.DecodeHeaderReplacing(a.Name); n != "" {
			return n
		}
	}
	if a.Host == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Host
}

// sortMsg is one message with its sort keys.
type sortMsg struct {
	seq     int
	uid     store.UID
	modseq  store.ModSeq
	arrival int64 // internal date, Unix seconds
	size    int64
	f       *sortFields
	blobID  string
	refs    []string // References IDs (THREAD REFERENCES only)
}

// sentDate is the date SORT DATE and THREAD use: the Date field, else the
// internal date (RFC 5256 §2.2).
func (m *sortMsg) sentDate() int64 {
	if m.f.dateOK {
		return m.f.date
	}
	return m.arrival
}

// sortMessages returns the messages of r in ascending UID order with
// their sort keys, from the caches where they have them and from the
// store (Details, a batch at a time) for the rest. refs also loads each
// message's References (from the header, cached per content).
func (s *session) sortMessages(r searchResult, refs bool) ([]sortMsg, error) {
	v := s.sel
	out := make([]sortMsg, len(r.uids))
	id := s.srv.cacheID
	cacheKey := func(u store.UID) msgKey { return msgKey{server: id, mailbox: v.id, validity: v.validity, uid: u} }
	for start := 0; start < len(out); start += fetchBatch {
		end := min(start+fetchBatch, len(out))
		var want []store.UID
		for i := start; i < end; i++ {
			u := r.uids[i]
			m := &out[i]
			*m = sortMsg{seq: v.seqOf(u), uid: u, modseq: r.modseqs[i]}
			if cacheKey == nil {
				want = append(want, u)
				continue
			}
			e, ok := msgCache.get(cacheKey(u))
			if !ok || !e.meta {
				want = append(want, u)
				continue
			}
			m.arrival, m.size, m.blobID = e.date.Unix(), e.size, e.blobID
			if f, ok := sortCache.get(e.blobID); ok {
				m.f = f
			} else if st, ok := structCache.get(e.blobID); ok {
				m.f = newSortFields(st.root.Envelope)
				sortCache.put(e.blobID, m.f, m.f.size()+int64(len(e.blobID)))
			} else {
				want = append(want, u)
			}
		}
		if err := s.sortDetails(out[start:end], want, cacheKey); err != nil {
			return nil, err
		}
		if refs {
			for i := start; i < end; i++ {
				if err := s.loadRefs(&out[i]); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// sortDetails fills the messages listed in want from one Details call.
// A message the store no longer has (expunged and collected) keeps empty
// keys, as Dovecot sorts one whose data it cannot read.
func (s *session) sortDetails(msgs []sortMsg, want []store.UID, cacheKey func(store.UID) msgKey) error {
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
		if m.f != nil {
			continue
		}
		d := byUID[m.uid]
		if d == nil {
			m.f = &sortFields{}
			continue
		}
		m.arrival, m.size, m.blobID = d.InternalDate.Unix(), d.Size, d.BlobID
		if cacheKey != nil {
			msgCache.put(cacheKey(m.uid), msgEntry{blobID: d.BlobID, meta: true, size: d.Size, date: d.InternalDate}, msgEntrySize)
		}
		if f, ok := sortCache.get(d.BlobID); ok {
			m.f = f
			continue
		}
		var env *mime.Envelope
		if st, err := structEntryOf(d.BlobID, d.Structure); err == nil {
			env = st.root.Envelope
		} else {
			// No usable stored structure: parse the content.
			root, err := s.parseBlob(d.BlobID)
			if err != nil {
				return err
			}
			env = root.Envelope
		}
		m.f = newSortFields(env)
		sortCache.put(d.BlobID, m.f, m.f.size()+int64(len(d.BlobID)))
	}
	return nil
}

// parseBlob parses a content's structure from the content itself.
func (s *session) parseBlob(blobID string) (*mime.Part, error) {
	b, err := s.srv.opts.Store.OpenBlob(s.ctx, blobID)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return mime.Parse(b, b.Size())
}

// loadRefs gives m the message IDs of its References field: from
// refsCache, the header cache, or the content's header section (read
// once, then cached by content).
func (s *session) loadRefs(m *sortMsg) error {
	if m.blobID == "" {
		return nil
	}
	if refs, ok := refsCache.get(m.blobID); ok {
		m.refs = refs
		return nil
	}
	var raw []byte
	if he, ok := headerCache.get(m.blobID); ok {
		raw = he.raw
	} else {
		b, err := s.srv.opts.Store.OpenBlob(s.ctx, m.blobID)
		if err != nil {
			return err
		}
		raw, err = readHeaderBlock(b)
		b.Close()
		if err != nil {
			return err
		}
	}
	v, _ := mime.Header(raw, "References")
	m.refs = thread.MessageIDs(v)
	size := int64(len(m.blobID) + 64)
	for _, r := range m.refs {
		size += int64(len(r) + 16)
	}
	refsCache.put(m.blobID, m.refs, size)
	return nil
}

// maxHeaderRead bounds how much of a message readHeaderBlock reads.
const maxHeaderRead = 1 << 20

// readHeaderBlock reads a message's top-level header block (up to and
// including the blank line that ends it, or all of a message without
// one), in growing pieces so that only the header is read.
func readHeaderBlock(r io.ReaderAt) ([]byte, error) {
	var buf []byte
	chunk := 4096
	for off := int64(0); off < maxHeaderRead; {
		p := make([]byte, chunk)
		n, err := r.ReadAt(p, off)
		buf = append(buf, p[:n]...)
		if bytes.HasPrefix(buf, []byte("\r\n")) || bytes.HasPrefix(buf, []byte("\n")) {
			return nil, nil // starts with the blank line: no header
		}
		from := max(0, len(buf)-n-3)
		if i := headerEnd(buf[from:]); i >= 0 {
			return buf[:from+i], nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf, nil
			}
			return nil, err
		}
		off += int64(n)
		chunk = min(chunk*2, 256<<10)
	}
	return buf, nil
}

// headerEnd returns the length of b up to and including the blank line
// that ends a header (a line break right after another), -1 if none.
func headerEnd(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case b[i+1] == '\n':
			return i + 2
		case b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}
