package jmapserver

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// The Email object (RFC 8621 §4.1) and Email/get (§4.2).

// emailCopy is one row of an Email: a message in one mailbox.
type emailCopy struct {
	ref  msgRef
	mbox store.MailboxInfo
	msg  store.MessageDetail
}

// emailRec is one Email as the store has it: every copy in the account
// (ordered by mailbox id, then UID); the first is the one read.
type emailRec struct {
	id, thread string
	emailCopy
	copies []emailCopy
}

var emailProperties = []string{"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject",
	"sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments",
	"bodyStructure", "headers"}

var defaultEmailProperties = []string{"id", "blobId", "threadId", "mailboxIds", "keywords", "size",
	"receivedAt", "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
	"subject", "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments"}

// Convenience properties and the header they read (RFC 8621 §4.1.3).
var headerConvenience = map[string]headerProp{
	"messageId":  {name: "message-id", form: "MessageIds"},
	"inReplyTo":  {name: "in-reply-to", form: "MessageIds"},
	"references": {name: "references", form: "MessageIds"},
	"sender":     {name: "sender", form: "Addresses"},
	"from":       {name: "from", form: "Addresses"},
	"to":         {name: "to", form: "Addresses"},
	"cc":         {name: "cc", form: "Addresses"},
	"bcc":        {name: "bcc", form: "Addresses"},
	"replyTo":    {name: "reply-to", form: "Addresses"},
	"subject":    {name: "subject", form: "Text"},
	"sentAt":     {name: "date", form: "Date"},
}

// keyword mapping between IMAP flags and JMAP keywords (RFC 8621 §4.1.1).
var flagKeywords = map[string]string{
	store.FlagSeen: "$seen", store.FlagAnswered: "$answered", store.FlagFlagged: "$flagged", store.FlagDraft: "$draft",
}

func keywordsOf(flags []string) map[string]bool {
	kw := map[string]bool{}
	for _, f := range flags {
		if k, ok := flagKeywords[f]; ok {
			kw[k] = true
		} else if !strings.HasPrefix(f, `\`) {
			kw[strings.ToLower(f)] = true
		}
	}
	return kw
}

// flagOf maps a keyword to the flag stored for it; ok false for a
// keyword that is not a valid IMAP atom.
func flagOf(kw string) (string, bool) {
	k := strings.ToLower(kw)
	for f, w := range flagKeywords {
		if w == k {
			return f, true
		}
	}
	if k == "" || len(k) > 255 {
		return "", false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()]{%*"\`, c) >= 0 {
			return "", false
		}
	}
	return k, true
}

// loadEmails reads the Emails with the given ids (store.ObjectLookup
// finds their copies); unknown ids are absent.
func (c *call) loadEmails(ids []string) (map[string]*emailRec, error) {
	out := map[string]*emailRec{}
	var want []string
	for _, id := range ids {
		if validEmailID(id) {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	ol, ok := c.s.opts.Store.(store.ObjectLookup)
	if !ok {
		return nil, errors.New("the store keeps no object ids (store.ObjectLookup)")
	}
	locs, err := c.findEmails(ol, want)
	if err != nil {
		return nil, err
	}
	byMbox := map[int64][]store.UID{}
	for _, ls := range locs {
		for _, l := range ls {
			byMbox[l.MailboxID] = append(byMbox[l.MailboxID], l.UID)
		}
	}
	for mbID, uids := range byMbox {
		h, info, ok, err := c.open(mbID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		slices.Sort(uids)
		details, err := h.Details(c.ctx, slices.Compact(uids))
		if err != nil {
			return nil, err
		}
		for _, d := range details {
			if _, asked := locs[d.EmailID]; !asked {
				continue
			}
			rec := out[d.EmailID]
			if rec == nil {
				rec = &emailRec{id: d.EmailID}
				out[d.EmailID] = rec
			}
			rec.copies = append(rec.copies, emailCopy{ref: msgRef{mbID, d.UID}, mbox: info, msg: d})
		}
	}
	for _, rec := range out {
		slices.SortFunc(rec.copies, func(a, b emailCopy) int {
			if a.ref.mbox != b.ref.mbox {
				return cmp.Compare(a.ref.mbox, b.ref.mbox)
			}
			return cmp.Compare(a.ref.uid, b.ref.uid)
		})
		rec.emailCopy = rec.copies[0]
		rec.thread = rec.msg.ThreadID
	}
	return out, nil
}

// emailGetArgs are Email/get's arguments (RFC 8621 §4.2).
type emailGetArgs struct {
	getArgs
	BodyProperties      *[]string `json:"bodyProperties"`
	FetchTextBodyValues bool      `json:"fetchTextBodyValues"`
	FetchHTMLBodyValues bool      `json:"fetchHTMLBodyValues"`
	FetchAllBodyValues  bool      `json:"fetchAllBodyValues"`
	MaxBodyValueBytes   int       `json:"maxBodyValueBytes"`
}

// renderSpec is what to render of each Email.
type renderSpec struct {
	props          []string
	headerProps    []headerProp
	bodyProps      []string
	bodyHeaders    []headerProp
	fetchText      bool
	fetchHTML      bool
	fetchAll       bool
	maxValueBytes  int
	needBlob       bool
	needStructure  bool
	withoutStorage bool // Email/parse: no id, mailboxIds, keywords, receivedAt
	// previews are the stored previews by blob (store.PreviewReader),
	// read once for all the Emails of a get.
	previews map[string]string
}

func (a emailGetArgs) spec(parse bool) (*renderSpec, error) {
	if a.MaxBodyValueBytes < 0 {
		return nil, invalidArgs("maxBodyValueBytes must not be negative")
	}
	sp := &renderSpec{fetchText: a.FetchTextBodyValues, fetchHTML: a.FetchHTMLBodyValues,
		fetchAll: a.FetchAllBodyValues, maxValueBytes: a.MaxBodyValueBytes, withoutStorage: parse}
	props := defaultEmailProperties
	if parse {
		props = []string{"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc",
			"replyTo", "subject", "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments"}
	}
	if a.Properties != nil {
		props = *a.Properties
		if !parse && !slices.Contains(props, "id") {
			props = append([]string{"id"}, props...)
		}
	}
	for _, p := range props {
		switch {
		case strings.HasPrefix(p, "header:"):
			hp, err := parseHeaderProp(p)
			if err != nil {
				return nil, invalidArgs(err.Error())
			}
			sp.headerProps = append(sp.headerProps, hp)
			sp.needBlob = true
		case slices.Contains(emailProperties, p):
			if parse && (p == "id" || p == "mailboxIds" || p == "keywords" || p == "receivedAt" || p == "threadId") {
				sp.props = append(sp.props, p) // rendered as null
				continue
			}
			sp.props = append(sp.props, p)
			switch p {
			case "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt":
			default:
				sp.needBlob, sp.needStructure = true, true
			}
		default:
			return nil, invalidArgs(fmt.Sprintf("unknown Email property %q", p))
		}
	}
	sp.bodyProps = defaultBodyProperties
	if a.BodyProperties != nil {
		sp.bodyProps = nil
		for _, p := range *a.BodyProperties {
			switch {
			case strings.HasPrefix(p, "header:"):
				hp, err := parseHeaderProp(p)
				if err != nil {
					return nil, invalidArgs(err.Error())
				}
				sp.bodyHeaders = append(sp.bodyHeaders, hp)
			case slices.Contains(bodyPartProperties, p):
				sp.bodyProps = append(sp.bodyProps, p)
			default:
				return nil, invalidArgs(fmt.Sprintf("unknown body part property %q", p))
			}
		}
	}
	return sp, nil
}

func (c *call) emailGet(raw json.RawMessage) (any, error) {
	var a emailGetArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	sp, err := a.spec(false)
	if err != nil {
		return nil, err
	}
	state, err := c.emailState()
	if err != nil {
		return nil, err
	}
	var ids []string
	if a.IDs == nil {
		// All Emails, if there are few enough (RFC 8620 §5.1).
		all, err := c.allEmailIDs(c.s.limits.MaxObjectsInGet + 1)
		if err != nil {
			return nil, err
		}
		ids = all
	} else {
		for _, id := range *a.IDs {
			r, ok := c.resolveID(id)
			if !ok {
				r = id
			}
			ids = append(ids, r)
		}
	}
	if len(ids) > c.s.limits.MaxObjectsInGet {
		return nil, mErr(meRequestTooLarge, fmt.Sprintf("at most %d ids per get", c.s.limits.MaxObjectsInGet))
	}
	recs, err := c.loadEmails(ids)
	if err != nil {
		return nil, err
	}
	if pr, ok := c.s.opts.Store.(store.PreviewReader); ok && slices.Contains(sp.props, "preview") {
		blobs := make([]string, 0, len(recs))
		for _, rec := range recs {
			blobs = append(blobs, rec.msg.BlobID)
		}
		if sp.previews, err = pr.Previews(c.ctx, blobs); err != nil {
			return nil, err
		}
	}
	list := []any{}
	notFound := []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		rec, ok := recs[id]
		if !ok {
			notFound = append(notFound, id)
			continue
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		o, err := c.renderEmail(rec, sp)
		if err != nil {
			return nil, err
		}
		list = append(list, o)
	}
	return map[string]any{"accountId": a.AccountID, "state": state, "list": list, "notFound": notFound}, nil
}

// allEmailIDs lists up to n Email ids of the account.
func (c *call) allEmailIDs(n int) ([]string, error) {
	l, err := c.emailList()
	if err != nil {
		return nil, err
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, mb := range l {
		h, err := mbs.Open(c.ctx, mb.Name)
		if err != nil {
			continue
		}
		msgs, err := h.Messages(c.ctx)
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(msgs); i += 512 {
			uids := make([]store.UID, 0, 512)
			for _, m := range msgs[i:min(i+512, len(msgs))] {
				uids = append(uids, m.UID)
			}
			ds, err := h.Details(c.ctx, uids)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				if !seen[d.EmailID] && d.EmailID != "" {
					seen[d.EmailID] = true
					ids = append(ids, d.EmailID)
				}
				if len(ids) >= n {
					return ids, nil
				}
			}
		}
	}
	return ids, nil
}

// renderEmail renders one Email with the properties of sp.
func (c *call) renderEmail(rec *emailRec, sp *renderSpec) (map[string]any, error) {
	var v *msgView
	preview, stored := sp.previews[rec.msg.BlobID]
	if sp.needBlob {
		root, _ := mime.Decode(rec.msg.Structure)
		if root != nil && root.Envelope != nil && !sp.readsOctets(stored) {
			// A list view (addresses, subject, dates, preview stored,
			// hasAttachment) is answered from the structure parsed at
			// delivery, without opening the message.
			v = newMsgView(nil, rec.msg.Size, root, func(path []int) string { return partBlobID(rec.id, path) })
		} else {
			blob, err := c.s.opts.Store.OpenBlob(c.ctx, rec.msg.BlobID)
			if err != nil {
				return nil, err
			}
			defer blob.Close()
			if root == nil {
				if root, err = mime.Parse(blob, blob.Size()); err != nil {
					return nil, err
				}
			}
			v = newMsgView(blob, blob.Size(), root, func(path []int) string { return partBlobID(rec.id, path) })
		}
	}
	o, err := renderMessage(v, sp, preview, stored)
	if err != nil {
		return nil, err
	}
	for _, p := range sp.props {
		switch p {
		case "id":
			o["id"] = rec.id
		case "blobId":
			o["blobId"] = blobID(rec.id)
		case "threadId":
			o["threadId"] = rec.thread
		case "mailboxIds":
			m := map[string]bool{}
			for _, cp := range rec.copies {
				m[mailboxID(cp.mbox)] = true
			}
			o["mailboxIds"] = m
		case "keywords":
			o["keywords"] = keywordsOf(rec.msg.Flags)
		case "size":
			o["size"] = rec.msg.Size
		case "receivedAt":
			o["receivedAt"] = rec.msg.InternalDate.UTC().Format(time.RFC3339)
		}
	}
	return o, nil
}

// renderMessage renders the properties that come from the message
// itself (headers and body), for Email/get and Email/parse.
// A stored preview (RFC 8970, computed at delivery) is used when there is
// one.
func renderMessage(v *msgView, sp *renderSpec, storedPreview string, haveStored bool) (map[string]any, error) {
	o := map[string]any{}
	if v == nil {
		return o, nil
	}
	var fields []rawField
	if v.r != nil {
		var err error
		if fields, err = v.fields(v.root); err != nil {
			return nil, err
		}
	}
	for _, hp := range sp.headerProps {
		o[hp.prop] = hp.value(fields)
	}
	var text, html, attach []*mime.Part
	bodiesDone := false
	bodies := func() {
		if !bodiesDone {
			text, html, attach = v.bodies()
			bodiesDone = true
		}
	}
	renderParts := func(ps []*mime.Part) ([]any, error) {
		out := []any{}
		for _, p := range ps {
			bp, err := v.bodyPart(p, sp.bodyProps, sp.bodyHeaders)
			if err != nil {
				return nil, err
			}
			out = append(out, bp)
		}
		return out, nil
	}
	for _, p := range sp.props {
		if hp, ok := headerConvenience[p]; ok {
			if v.r == nil {
				o[p] = envelopeValue(p, v.root.Envelope)
			} else {
				o[p] = hp.value(fields)
			}
			continue
		}
		switch p {
		case "id", "mailboxIds", "keywords", "receivedAt", "threadId":
			if sp.withoutStorage {
				o[p] = nil
			}
		case "blobId", "size":
			if sp.withoutStorage && p == "size" {
				o["size"] = v.size
			}
		case "headers":
			o["headers"] = headersList(fields)
		case "bodyStructure":
			props := sp.bodyProps
			if !slices.Contains(props, "subParts") {
				props = append(slices.Clone(props), "subParts")
			}
			bs, err := v.bodyPart(v.root, props, sp.bodyHeaders)
			if err != nil {
				return nil, err
			}
			o["bodyStructure"] = bs
		case "textBody", "htmlBody", "attachments":
			bodies()
			ps := map[string][]*mime.Part{"textBody": text, "htmlBody": html, "attachments": attach}[p]
			r, err := renderParts(ps)
			if err != nil {
				return nil, err
			}
			o[p] = r
		case "hasAttachment":
			bodies()
			has := false
			for _, a := range attach {
				has = has || a.Disposition == "attachment" || a.Filename() != "" || !isInlineMediaType(a)
			}
			o["hasAttachment"] = has
		case "preview":
			if haveStored {
				o["preview"] = storedPreview
				continue
			}
			bodies()
			o["preview"] = v.preview(text)
		case "bodyValues":
			bodies()
			vals := map[string]bodyValue{}
			add := func(ps []*mime.Part) error {
				for _, p := range ps {
					if p.Type != "text" {
						continue
					}
					id := partIDString(v.paths[p])
					if _, done := vals[id]; done {
						continue
					}
					s, trunc, err := v.text(p, sp.maxValueBytes)
					if err != nil {
						return err
					}
					vals[id] = bodyValue{Value: s, IsTruncated: trunc}
				}
				return nil
			}
			if sp.fetchAll {
				var all []*mime.Part
				v.root.Walk(func(p *mime.Part) bool {
					if _, ok := v.paths[p]; ok && !p.IsMultipart() {
						all = append(all, p)
					}
					return !p.IsMessage()
				})
				if err := add(all); err != nil {
					return nil, err
				}
			}
			if sp.fetchText {
				if err := add(text); err != nil {
					return nil, err
				}
			}
			if sp.fetchHTML {
				if err := add(html); err != nil {
					return nil, err
				}
			}
			o["bodyValues"] = vals
		}
	}
	return o, nil
}

// readsOctets says whether rendering needs the message's octets: header
// fields the envelope does not hold (or holds defaulted: Sender and
// Reply-To are From when absent), body parts (sizes are decoded sizes)
// and values, or a preview that was not stored.
func (sp *renderSpec) readsOctets(storedPreview bool) bool {
	if len(sp.headerProps) > 0 {
		return true
	}
	for _, p := range sp.props {
		switch p {
		case "headers", "bodyValues", "bodyStructure", "textBody", "htmlBody", "attachments",
			"sender", "replyTo", "references":
			return true
		case "preview":
			if !storedPreview {
				return true
			}
		}
	}
	return false
}

// envelopeValue renders a convenience property from the ENVELOPE parsed
// at delivery (raw values, decoded here as the header forms would).
func envelopeValue(p string, e *mime.Envelope) any {
	addrs := func(as []mime.Address) any {
		if as == nil {
			return nil
		}
		out := []emailAddress{}
		for _, a := range as {
			if !a.IsGroupStart() && !a.IsGroupEnd() {
				out = append(out, toEmailAddress(a))
			}
		}
		return out
	}
	str := func(raw string, f func(string) any) any {
		if raw == "" {
			return nil
		}
		return f(raw)
	}
	switch p {
	case "from":
		return addrs(e.From)
	case "to":
		return addrs(e.To)
	case "cc":
		return addrs(e.Cc)
	case "bcc":
		return addrs(e.Bcc)
	case "subject":
		return str(e.Subject, func(s string) any { return asText(s) })
	case "sentAt":
		return str(e.Date, asDate)
	case "messageId":
		return str(e.MessageID, func(s string) any { return asMessageIDs(s) })
	case "inReplyTo":
		return str(e.InReplyTo, func(s string) any { return asMessageIDs(s) })
	}
	return nil
}
