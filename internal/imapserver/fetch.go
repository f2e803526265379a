package imapserver

import (
	"bytes"
	"errors"
	"io"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// fetchBatch bounds how many messages' metadata one store call loads.
const fetchBatch = 256

// fetchPlan is what a FETCH needs beyond the items themselves.
type fetchPlan struct {
	items     []imap.FetchItem
	structure bool // decoded MIME structure needed
	blob      bool // message content needed
	setSeen   bool // a non-PEEK body item sets \Seen (RFC 3501 §6.4.5)
	hasFlags  bool
	hasModSeq bool
	// viewOnly: every item (UID, FLAGS, MODSEQ) is in the selected view,
	// so no per-message store query is needed.
	viewOnly bool
	// preview: PREVIEW is asked (RFC 8970); previews holds the stored
	// previews of the current batch by blob ID (preview.go).
	preview  bool
	previews map[string]string
}

func planFetch(items []imap.FetchItem, uid, modseq bool) fetchPlan {
	p := fetchPlan{viewOnly: true}
	hasUID, hasModSeq := false, false
	// A FETCH response names each data item once (RFC 3501 §7.4.2: the
	// client maps names to values). An item asked twice — FLAGS FLAGS,
	// BODY[] and BODY.PEEK[], HEADER.FIELDS in another case — is answered
	// once; of two partials from the same origin the longer is kept.
	seen := make(map[string]int, len(items)) // response name → index in p.items
	for _, it := range items {
		if it.Name != "UID" && it.Name != "FLAGS" && it.Name != "MODSEQ" {
			p.viewOnly = false
		}
		switch it.Name {
		case "UID":
			hasUID = true
		case "MODSEQ":
			hasModSeq = true
		case "FLAGS":
			p.hasFlags = true
		case "ENVELOPE", "BODYSTRUCTURE":
			p.structure = true
		case "BODY":
			p.structure = true
			if it.Section != nil {
				p.blob = true
				p.setSeen = p.setSeen || !it.Peek
			}
		case "BINARY", "BINARY.SIZE":
			p.structure, p.blob = true, true
			p.setSeen = p.setSeen || (it.Name == "BINARY" && !it.Peek)
		case "RFC822", "RFC822.TEXT":
			p.structure, p.blob, p.setSeen = true, true, true
		case "RFC822.HEADER":
			p.structure, p.blob = true, true
		case "PREVIEW":
			p.preview = true
		}
		key := it.ResponseName()
		if i, dup := seen[key]; dup {
			if !it.Lazy {
				p.items[i].Lazy = false // PREVIEW and PREVIEW (LAZY): not lazy
			}
			if prev := p.items[i].Partial; prev != nil && it.Partial != nil && it.Partial.Count > prev.Count {
				p.items[i].Partial = it.Partial
			}
			continue
		}
		seen[key] = len(p.items)
		p.items = append(p.items, it)
	}
	// UID FETCH always reports UID (RFC 3501 §6.4.8); CHANGEDSINCE implies
	// MODSEQ (RFC 7162 §3.1.4.1).
	if uid && !hasUID {
		p.items = append([]imap.FetchItem{{Name: "UID"}}, p.items...)
	}
	if modseq && !hasModSeq {
		p.items = append(p.items, imap.FetchItem{Name: "MODSEQ"})
		hasModSeq = true
	}
	p.hasModSeq = hasModSeq
	return p
}

// cmdFetch: FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8, RFC 9051
// §6.4.5) with BINARY (RFC 3516), MODSEQ and CHANGEDSINCE (RFC 7162
// §3.1.4-5) and VANISHED (RFC 7162 §3.2.6). Bodies are streamed from the
// blob in chunks; ENVELOPE and BODYSTRUCTURE come from the structure stored
// at delivery.
func (s *session) cmdFetch(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.FetchArgs)
	v := s.sel
	uids, err := s.resolve(a.Seq, cmd.UID)
	if err != nil {
		return "", err
	}
	if a.Vanished && (!cmd.UID || !s.qresync || a.ChangedSince == 0) {
		return "", errBad("VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE")
	}
	wantModSeq := a.ChangedSince > 0
	for _, it := range a.Items {
		if it.Name == "MODSEQ" {
			wantModSeq = true
		}
	}
	if wantModSeq {
		s.enableCondstore()
	}
	// Under UIDONLY the UIDFETCH response is numbered by UID: UID is not
	// added (RFC 9586 §3.3).
	plan := planFetch(a.Items, cmd.UID && !s.uidonly, a.ChangedSince > 0)
	if a.Vanished {
		if err := s.fetchVanished(a); err != nil {
			return "", err
		}
	}
	if plan.viewOnly {
		return "", s.fetchFromView(uids, plan, a.ChangedSince)
	}
	for start := 0; start < len(uids); start += fetchBatch {
		batch := uids[start:min(start+fetchBatch, len(uids))]
		details, err := v.mbox.Details(s.ctx, batch)
		if err != nil {
			return "", err
		}
		if a.ChangedSince > 0 {
			kept := details[:0]
			for _, d := range details {
				if uint64(d.ModSeq) > a.ChangedSince {
					kept = append(kept, d)
				}
			}
			details = kept
		}
		if plan.preview {
			if plan.previews, err = s.storedPreviews(details); err != nil {
				return "", err
			}
		}
		var seen map[store.UID]bool
		if plan.setSeen && !v.readOnly && s.selRights().Has(store.RightSeen) {
			if seen, err = s.markSeen(details); err != nil {
				return "", err
			}
		}
		if plan.blob {
			if err := s.prefetchBodies(details); err != nil {
				return "", err
			}
		}
		for i := range details {
			if err := s.fetchOne(&details[i], plan, seen[details[i].UID]); err != nil {
				s.dropPrefetched()
				return "", err
			}
		}
		s.dropPrefetched()
	}
	return "", nil
}

// fetchVanished reports the UIDs in the set expunged after CHANGEDSINCE
// (RFC 7162 §3.2.6).
func (s *session) fetchVanished(a *imap.FetchArgs) error {
	ch, err := s.sel.mbox.Changes(s.ctx, store.ModSeq(a.ChangedSince))
	if err != nil {
		return err
	}
	var gone []store.UID
	maxUID := uint32(s.sel.uidNext - 1)
	for _, u := range ch.Expunged {
		if a.Seq.Contains(uint32(u), maxUID) && s.sel.seqOf(u) == 0 {
			gone = append(gone, u)
		}
	}
	if len(gone) > 0 {
		w := s.c.w
		w.StartUntagged()
		w.Raw("VANISHED (EARLIER) ")
		w.SeqSet(uidSet(gone))
		w.CRLF()
	}
	return nil
}

// markSeen sets \Seen on the messages that lack it (RFC 3501 §6.4.5) and
// updates details in place; it returns the UIDs whose flags changed.
func (s *session) markSeen(details []store.MessageDetail) (map[store.UID]bool, error) {
	var need []store.UID
	for _, d := range details {
		if !hasFlag(d.Flags, store.FlagSeen) {
			need = append(need, d.UID)
		}
	}
	if len(need) == 0 {
		return nil, nil
	}
	res, err := s.sel.mbox.StoreFlags(s.ctx, need, store.FlagsAdd, []string{store.FlagSeen}, 0)
	if err != nil {
		return nil, err
	}
	byUID := make(map[store.UID]store.FlagUpdate, len(res.Updated))
	for _, u := range res.Updated {
		byUID[u.UID] = u
	}
	changed := make(map[store.UID]bool, len(res.Updated))
	for i := range details {
		if u, ok := byUID[details[i].UID]; ok {
			details[i].Flags = u.Flags
			details[i].ModSeq = u.ModSeq
			changed[u.UID] = true
		}
	}
	return changed, nil
}

// fetchOne writes one "* n FETCH (...)" response. seenSet says this FETCH
// set \Seen on the message.
func (s *session) fetchOne(d *store.MessageDetail, plan fetchPlan, seenSet bool) error {
	v := s.sel
	seq := v.seqNear(d.UID, s.lastSeq)
	if seq == 0 {
		return nil
	}
	s.lastSeq = seq
	var root *mime.Part
	var blob store.Blob
	if plan.blob {
		b, err := s.fetchBlob(d.BlobID)
		if err != nil {
			return err
		}
		defer b.Close()
		blob = b
	}
	if plan.structure {
		var err error
		// The decoded structure is shared through the process-wide cache
		// SEARCH fills too (structcache.go; never modified): a warm FETCH
		// does not decode every message's structure again.
		root, err = structureOf(d.BlobID, d.Structure)
		if err != nil || root == nil {
			// Structure missing or unreadable: parse the content again.
			if blob == nil {
				b, err := s.srv.opts.Store.OpenBlob(s.ctx, d.BlobID)
				if err != nil {
					return err
				}
				defer b.Close()
				blob = b
			}
			if root, err = mime.Parse(blob, blob.Size()); err != nil {
				return err
			}
		}
	}
	// BINARY of a part whose encoding we cannot undo fails the command
	// before its response starts (RFC 3516 §4.3 UNKNOWN-CTE).
	for _, it := range plan.items {
		if (it.Name == "BINARY" || it.Name == "BINARY.SIZE") && it.Section != nil && len(it.Section.Part) > 0 {
			if p := root.Find(it.Section.Part); p != nil && !p.IsMultipart() && p.Message == nil {
				if _, err := mime.NewDecoder(nil, p.Encoding); err != nil {
					return errNo("UNKNOWN-CTE", "Cannot decode "+p.Encoding)
				}
			}
		}
	}
	// The preview is made before the response starts: computing one the
	// store does not have may read the message.
	var preview string
	var previewNil bool
	if plan.preview {
		had := blob
		var err error
		preview, previewNil, blob, root, err = s.previewOf(d, plan, blob, root)
		if blob != nil && had == nil {
			defer blob.Close()
		}
		if err != nil {
			return err
		}
	}
	if plan.hasFlags || seenSet {
		// The client now knows these flags: no unsolicited FETCH for
		// them. A FETCH without FLAGS tells nothing: a change another
		// session made stays pending for the end of the command.
		v.setFlags(d.UID, d.Flags, d.ModSeq)
		// A keyword another session created must be in FLAGS before a
		// FETCH shows it (RFC 3501 §7.2.6): announced before the response
		// starts, since nothing may come between its parts.
		s.announceKeywords(d.Flags)
	}

	s.c.writeDeadline()
	w := s.c.w
	s.startFetch(seq, d.UID)
	items := plan.items
	if seenSet && (!plan.hasFlags || s.condstore && !plan.hasModSeq) {
		// The implicit \Seen is reported like an unsolicited flag change
		// (RFC 3501 §6.4.5), with MODSEQ under CONDSTORE (RFC 7162 §3.1),
		// each unless the client asked for it already.
		items = append([]imap.FetchItem{}, items...)
		if !plan.hasFlags {
			items = append(items, imap.FetchItem{Name: "FLAGS"})
		}
		if s.condstore && !plan.hasModSeq {
			items = append(items, imap.FetchItem{Name: "MODSEQ"})
		}
	}
	for i, it := range items {
		if i > 0 {
			w.SP()
		}
		if it.Name == "PREVIEW" {
			// RFC 8970 §6: "PREVIEW" SP nstring.
			w.Raw("PREVIEW ")
			if previewNil && it.Lazy {
				w.Nil()
			} else {
				w.String(preview)
			}
			continue
		}
		if err := s.fetchItem(d, it, root, blob); err != nil {
			// The response line is cut: the stream cannot continue.
			s.log.Error("imap fetch failed mid-response", "uid", d.UID, "err", err)
			return errCloseConn
		}
	}
	w.CloseList()
	w.CRLF()
	return w.Err()
}

// fetchItem writes one data item "NAME value".
func (s *session) fetchItem(d *store.MessageDetail, it imap.FetchItem, root *mime.Part, blob store.Blob) error {
	w := s.c.w
	switch it.Name {
	case "UID":
		w.Raw("UID ")
		w.Number(uint64(d.UID))
	case "FLAGS":
		w.Raw("FLAGS ")
		w.Flags(s.flagsForClient(d.Flags, s.sel.isRecent(d.UID)))
	case "MODSEQ":
		w.Raw("MODSEQ (")
		w.Number(uint64(d.ModSeq))
		w.CloseList()
	case "INTERNALDATE":
		w.Raw("INTERNALDATE ")
		w.DateTime(d.InternalDate)
	case "RFC822.SIZE":
		w.Raw("RFC822.SIZE ")
		w.Number(uint64(d.Size))
	case "ENVELOPE":
		w.Raw("ENVELOPE ")
		w.Envelope(root.Envelope)
	case "BODYSTRUCTURE":
		w.Raw("BODYSTRUCTURE ")
		w.BodyStructure(root, true)
	case "RFC822":
		w.Raw("RFC822 ")
		return s.writeRange(blob, mime.Range{Start: 0, End: blob.Size()}, nil, false)
	case "RFC822.HEADER":
		w.Raw("RFC822.HEADER ")
		r, _ := root.HeaderRange(nil)
		return s.writeRange(blob, r, nil, false)
	case "RFC822.TEXT":
		w.Raw("RFC822.TEXT ")
		r, _ := root.TextRange(nil)
		return s.writeRange(blob, r, nil, false)
	case "BODY":
		if it.Section == nil {
			w.Raw("BODY ")
			w.BodyStructure(root, false)
			return nil
		}
		w.Raw(it.ResponseName())
		w.SP()
		return s.writeSection(blob, root, it)
	case "BINARY", "BINARY.SIZE":
		return s.writeBinary(blob, root, it)
	case "EMAILID":
		// RFC 8474 §5.1: EMAILID (objectid).
		w.Raw("EMAILID (" + d.EmailID + ")")
	case "THREADID":
		// RFC 8474 §5.2: THREADID (objectid) / NIL.
		if d.ThreadID == "" {
			w.Raw("THREADID NIL")
		} else {
			w.Raw("THREADID (" + d.ThreadID + ")")
		}
	case "SAVEDATE":
		// RFC 8514 §4.1.
		w.Raw("SAVEDATE ")
		w.DateTime(saveDate(d))
	default:
		return errBad("Unknown FETCH item " + it.Name)
	}
	return nil
}

// writeSection writes the value of BODY[section]<partial> (RFC 3501
// §6.4.5): an empty string when the part does not exist, as Dovecot does.
func (s *session) writeSection(blob store.Blob, root *mime.Part, it imap.FetchItem) error {
	r, filtered, ok, err := sectionData(blob, root, it.Section)
	if err != nil {
		return err
	}
	if !ok {
		return s.writeBytes(nil, it.Partial)
	}
	if filtered != nil {
		return s.writeBytes(filtered, it.Partial)
	}
	return s.writeRange(blob, r, it.Partial, false)
}

// sectionData locates BODY[section] (RFC 3501 §6.4.5) in a message: a
// range of the blob, or for HEADER.FIELDS[.NOT] the filtered header bytes
// (non-nil). ok is false when the part does not exist. FETCH and the URL
// parts of CATENATE and URLFETCH (RFC 5092 ;SECTION=) share it.
func sectionData(blob store.Blob, root *mime.Part, sec *imap.Section) (r mime.Range, filtered []byte, ok bool, err error) {
	switch sec.Specifier {
	case "":
		if len(sec.Part) == 0 {
			return mime.Range{Start: 0, End: blob.Size()}, nil, true, nil
		}
		r, ok = root.BodyRange(sec.Part)
	case "HEADER":
		r, ok = root.HeaderRange(sec.Part)
	case "TEXT":
		r, ok = root.TextRange(sec.Part)
	case "MIME":
		r, ok = root.MIMERange(sec.Part)
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		hr, hok := root.HeaderRange(sec.Part)
		if !hok {
			return mime.Range{}, nil, false, nil
		}
		hdr := make([]byte, hr.Len())
		if _, err := blob.ReadAt(hdr, hr.Start); err != nil && !errors.Is(err, io.EOF) {
			return mime.Range{}, nil, false, err
		}
		f := mime.FilterHeader(hdr, sec.Fields, sec.Specifier == "HEADER.FIELDS.NOT")
		if f == nil {
			f = []byte{}
		}
		return mime.Range{}, f, true, nil
	}
	return r, nil, ok, nil
}

// writeBinary writes BINARY[section]<partial> or BINARY.SIZE[section]
// (RFC 3516 §4.2): the part's content with its transfer encoding undone,
// as a literal8.
func (s *session) writeBinary(blob store.Blob, root *mime.Part, it imap.FetchItem) error {
	w := s.c.w
	var path []int
	if it.Section != nil {
		path = it.Section.Part
	}
	if len(path) == 0 {
		whole := mime.Range{Start: 0, End: blob.Size()}
		if it.Name == "BINARY.SIZE" {
			w.Raw(it.ResponseName() + " ")
			w.Number(uint64(whole.Len()))
			return nil
		}
		w.Raw(it.ResponseName() + " ")
		return s.writeRange(blob, whole, it.Partial, true)
	}
	part := root.Find(path)
	if part == nil {
		w.Raw(it.ResponseName() + " NIL")
		return nil
	}
	if it.Name == "BINARY.SIZE" {
		n, err := mime.BinarySize(blob, part)
		if errors.Is(err, mime.ErrUnknownCTE) {
			return errNo("UNKNOWN-CTE", "Cannot decode "+part.Encoding)
		}
		if err != nil {
			return err
		}
		w.Raw(it.ResponseName() + " ")
		w.Number(uint64(n))
		return nil
	}
	size, err := mime.BinarySize(blob, part)
	if errors.Is(err, mime.ErrUnknownCTE) {
		return errNo("UNKNOWN-CTE", "Cannot decode "+part.Encoding)
	}
	if err != nil {
		return err
	}
	dec, err := mime.BinarySection(blob, part)
	if err != nil {
		return err
	}
	off, n := clip(size, it.Partial)
	w.Raw(it.ResponseName() + " ")
	if off > 0 {
		if _, err := io.CopyN(io.Discard, dec, off); err != nil {
			return err
		}
	}
	return w.LiteralFrom(dec, n, true)
}

// clip applies a <offset.count> partial to a value of size octets
// (RFC 3501 §6.4.5: an origin beyond the end gives an empty string).
func clip(size int64, p *imap.Partial) (off, n int64) {
	if p == nil {
		return 0, size
	}
	if p.Offset >= size {
		return size, 0
	}
	return p.Offset, min(p.Count, size-p.Offset)
}

// writeRange streams bytes [r.Start, r.End) of the blob, cut by partial,
// as a literal (literal8 when binary).
func (s *session) writeRange(blob store.Blob, r mime.Range, p *imap.Partial, binary bool) error {
	off, n := clip(r.Len(), p)
	if binary {
		return s.c.w.LiteralAt(blob, r.Start+off, n, true)
	}
	return s.c.w.LiteralAtFiltered(blob, r.Start+off, n, false, replaceNUL)
}

// writeBytes writes an in-memory value, cut by partial, as a literal (with
// its NULs replaced, see nulFree).
func (s *session) writeBytes(b []byte, p *imap.Partial) error {
	off, n := clip(int64(len(b)), p)
	v := b[off : off+n]
	if bytes.IndexByte(v, 0) >= 0 {
		v = bytes.Clone(v)
		replaceNUL(v)
	}
	s.c.w.Literal(v)
	return nil
}

// A literal may not hold NUL (RFC 3501 §4.3, §9 CHAR8); only a literal8
// may (RFC 3516 §4.2), and BINARY[...] is sent as one. Content stored with
// NULs (8bit or binary parts, a literal8 APPEND) is therefore sent in
// BODY[...], RFC822... with 0x80 in their place, as Dovecot does: the size
// is kept, so the literal announced before reading stays right.
//
// replaceNUL replaces NUL octets with 0x80 in place.
func replaceNUL(b []byte) {
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return
		}
		b[i] = 0x80
		b = b[i+1:]
	}
}
