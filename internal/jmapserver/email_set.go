package jmapserver

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// Email/set (RFC 8621 §4.6), Email/copy (§4.7), Email/import (§4.8) and
// Email/parse (§4.9).

// targetMailboxes resolves a mailboxIds object (ids, or "#creationIds").
func (c *call) targetMailboxes(raw json.RawMessage) ([]store.MailboxInfo, *setError) {
	var ids map[string]bool
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, seInvalid("mailboxIds must map Mailbox ids to true", "mailboxIds")
	}
	var out []store.MailboxInfo
	for id, v := range ids {
		if !v {
			return nil, seInvalid("mailboxIds values must be true", "mailboxIds")
		}
		mb, ok, err := c.mailboxByJMAPID(id)
		if err != nil || !ok {
			return nil, seInvalid(fmt.Sprintf("no mailbox %q", id), "mailboxIds")
		}
		out = append(out, mb)
	}
	if len(out) == 0 {
		return nil, seInvalid("an Email must be in at least one mailbox", "mailboxIds")
	}
	slices.SortFunc(out, func(a, b store.MailboxInfo) int { return int(min(max(a.ID-b.ID, -1), 1)) })
	return out, nil
}

func flagsOfKeywords(raw json.RawMessage) ([]string, *setError) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var kw map[string]bool
	if err := json.Unmarshal(raw, &kw); err != nil {
		return nil, seInvalid("keywords must map keywords to true", "keywords")
	}
	var flags []string
	for k, v := range kw {
		f, ok := flagOf(k)
		if !v || !ok {
			return nil, seInvalid(fmt.Sprintf("keyword %q is not valid", k), "keywords")
		}
		flags = append(flags, f)
	}
	return flags, nil
}

// storeMessage delivers data into the mailboxes (the first by Deliver,
// the others by copy) and returns the new Email.
func (c *call) storeMessage(data []byte, mboxes []store.MailboxInfo, flags []string, received time.Time) (*emailRec, *setError, error) {
	if int64(len(data)) > c.s.opts.MaxMessageSize {
		return nil, &setError{Type: "tooLarge", Description: fmt.Sprintf("messages are at most %d octets", c.s.opts.MaxMessageSize)}, nil
	}
	res, err := c.s.opts.Store.Deliver(c.ctx, bytes.NewReader(data), []store.Target{{
		Account: c.owner.Name, Mailbox: mboxes[0].Name, Flags: flags, InternalDate: received,
	}})
	if err != nil {
		return nil, nil, err
	}
	if err := res[0].Err; err != nil {
		switch {
		case errors.Is(err, store.ErrOverQuota):
			return nil, &setError{Type: "overQuota", Description: "the account is over quota"}, nil
		case errors.Is(err, store.ErrTooLarge):
			return nil, &setError{Type: "tooLarge", Description: "the message is too large"}, nil
		}
		return nil, nil, err
	}
	ref := msgRef{mboxes[0].ID, res[0].UID}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, nil, err
	}
	h, err := mbs.Open(c.ctx, mboxes[0].Name)
	if err != nil {
		return nil, nil, err
	}
	ds, err := h.Details(c.ctx, []store.UID{ref.uid})
	if err != nil {
		return nil, nil, err
	}
	if len(ds) != 1 || ds[0].EmailID == "" {
		return nil, nil, fmt.Errorf("the stored message %d is gone", ref.uid)
	}
	eid := ds[0].EmailID
	for _, mb := range mboxes[1:] {
		// A copy keeps the Email id (RFC 8474 §5.1): one Email, several
		// mailboxes.
		if _, err := h.CopyTo(c.ctx, []store.UID{ref.uid}, mb.Name); err != nil {
			return nil, nil, err
		}
	}
	c.invalidate()
	recs, err := c.loadEmails([]string{eid})
	if err != nil {
		return nil, nil, err
	}
	if recs[eid] == nil {
		if c.rights != nil {
			// Added to shared mailboxes the user may not read (ACL i
			// without r): the created Email is still answered.
			return &emailRec{id: eid, thread: ds[0].ThreadID, emailCopy: emailCopy{ref: ref, mbox: mboxes[0], msg: ds[0]}}, nil, nil
		}
		return nil, nil, fmt.Errorf("the stored message %s is gone", eid)
	}
	return recs[eid], nil, nil
}

func createdEmail(rec *emailRec) map[string]any {
	return map[string]any{"id": rec.id, "blobId": blobID(rec.id), "threadId": rec.thread, "size": rec.msg.Size}
}

func (c *call) hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func (c *call) emailSet(raw json.RawMessage) (any, error) {
	var a setArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	return c.doEmailSet(a)
}

func (c *call) doEmailSet(a setArgs) (*setResponse, error) {
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.limits.MaxObjectsInSet {
		return nil, mErr(meRequestTooLarge, fmt.Sprintf("at most %d objects per set", c.s.limits.MaxObjectsInSet))
	}
	old, err := c.emailState()
	if err != nil {
		return nil, err
	}
	if a.IfInState != nil && *a.IfInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	resp := newSetResponse(a.AccountID, old)
	for _, cid := range maps2slice(a.Create) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(a.Create[cid], &obj); err != nil || obj == nil {
			resp.NotCreated[cid] = seInvalid("an Email create must be an object")
			continue
		}
		rec, se, err := c.createEmail(obj)
		if err != nil {
			return nil, err
		}
		if se != nil {
			resp.NotCreated[cid] = se
			continue
		}
		c.created[cid] = rec.id
		resp.Created[cid] = createdEmail(rec)
	}
	for id, patch := range a.Update {
		rid, _ := c.resolveID(id)
		se, err := c.updateEmail(rid, patch)
		if err != nil {
			return nil, err
		}
		if se != nil {
			resp.NotUpdated[id] = se
			continue
		}
		resp.Updated[id] = nil
	}
	for _, id := range a.Destroy {
		rid, _ := c.resolveID(id)
		recs, err := c.loadEmails([]string{rid})
		if err != nil {
			return nil, err
		}
		rec := recs[rid]
		if rec == nil {
			resp.NotDestroyed[id] = seNotFound("no Email " + id)
			continue
		}
		if se := c.checkRemoveAll(rec.copies); se != nil {
			resp.NotDestroyed[id] = se
			continue
		}
		if err := c.expungeCopies(rec.copies); err != nil {
			return nil, err
		}
		resp.Destroyed = append(resp.Destroyed, id)
	}
	c.invalidate()
	if resp.NewState, err = c.emailState(); err != nil {
		return nil, err
	}
	return resp, nil
}

func (c *call) createEmail(obj map[string]json.RawMessage) (*emailRec, *setError, error) {
	for _, p := range []string{"id", "blobId", "threadId", "size", "hasAttachment", "preview"} {
		if _, ok := obj[p]; ok {
			return nil, seInvalid(p+" is set by the server", p), nil
		}
	}
	for k := range obj {
		switch {
		case strings.HasPrefix(k, "header:"), slices.Contains(emailProperties, k):
		default:
			return nil, seInvalid(fmt.Sprintf("unknown property %q", k), k), nil
		}
	}
	raw, ok := obj["mailboxIds"]
	if !ok {
		return nil, seInvalid("mailboxIds is required", "mailboxIds"), nil
	}
	mboxes, se := c.targetMailboxes(raw)
	if se != nil {
		return nil, se, nil
	}
	flags, se := flagsOfKeywords(obj["keywords"])
	if se != nil {
		return nil, se, nil
	}
	if se := c.checkInsert(mboxes, flags); se != nil {
		return nil, se, nil
	}
	var received time.Time
	if r, ok := obj["receivedAt"]; ok {
		var s string
		json.Unmarshal(r, &s)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, seInvalid("receivedAt must be a UTCDate", "receivedAt"), nil
		}
		received = t
	}
	data, se := c.composeMessage(obj, c.hostname())
	if se != nil {
		return nil, se, nil
	}
	return c.storeMessage(data, mboxes, flags, received)
}

// updateEmail applies a PatchObject (RFC 8620 §5.3) of keywords and
// mailboxIds, the only mutable properties.
func (c *call) updateEmail(id string, patch map[string]json.RawMessage) (*setError, error) {
	recs, err := c.loadEmails([]string{id})
	if err != nil {
		return nil, err
	}
	rec := recs[id]
	if rec == nil {
		return seNotFound("no Email " + id), nil
	}
	var add, remove []string
	var replace []string
	replaceKW := false
	var newMboxes map[int64]store.MailboxInfo
	for path, val := range patch {
		switch {
		case path == "keywords":
			flags, se := flagsOfKeywords(val)
			if se != nil {
				return se, nil
			}
			replace, replaceKW = flags, true
		case strings.HasPrefix(path, "keywords/"):
			kw := unescapePointer(path[len("keywords/"):])
			f, ok := flagOf(kw)
			if !ok {
				return seInvalid(fmt.Sprintf("keyword %q is not valid", kw), "keywords"), nil
			}
			switch string(val) {
			case "true":
				add = append(add, f)
			case "null", "false":
				remove = append(remove, f)
			default:
				return seInvalid("a keyword patch is true or null", "keywords"), nil
			}
		case path == "mailboxIds":
			mbs, se := c.targetMailboxes(val)
			if se != nil {
				return se, nil
			}
			newMboxes = map[int64]store.MailboxInfo{}
			for _, mb := range mbs {
				newMboxes[mb.ID] = mb
			}
		case strings.HasPrefix(path, "mailboxIds/"):
			if newMboxes == nil {
				newMboxes = map[int64]store.MailboxInfo{}
				for _, cp := range rec.copies {
					newMboxes[cp.mbox.ID] = cp.mbox
				}
			}
			mb, ok, err := c.mailboxByJMAPID(unescapePointer(path[len("mailboxIds/"):]))
			if err != nil {
				return nil, err
			}
			if !ok {
				return seInvalid("no such mailbox in "+path, "mailboxIds"), nil
			}
			switch string(val) {
			case "true":
				newMboxes[mb.ID] = mb
			case "null", "false":
				delete(newMboxes, mb.ID)
			default:
				return seInvalid("a mailboxIds patch is true or null", "mailboxIds"), nil
			}
		default:
			if slices.Contains(emailProperties, path) || strings.HasPrefix(path, "header:") {
				return seInvalid(path+" cannot be changed", path), nil
			}
			return &setError{Type: "invalidPatch", Description: fmt.Sprintf("cannot patch %q", path)}, nil
		}
	}
	if newMboxes != nil && len(newMboxes) == 0 {
		return seInvalid("an Email must be in at least one mailbox", "mailboxIds"), nil
	}
	if c.rights != nil {
		// In a shared account every change must be allowed before any
		// is made (RFC 4314 §4, as IMAP STORE, COPY and MOVE check).
		for _, cp := range rec.copies {
			next := slices.Clone(cp.msg.Flags)
			switch {
			case replaceKW:
				next = slices.Clone(replace)
			default:
				for _, f := range add {
					if !slices.Contains(next, f) {
						next = append(next, f)
					}
				}
				next = slices.DeleteFunc(next, func(f string) bool { return slices.Contains(remove, f) })
			}
			if se := c.checkKeywordChange(cp.ref.mbox, cp.msg.Flags, next); se != nil {
				return se, nil
			}
		}
		if newMboxes != nil {
			have := map[int64]bool{}
			for _, cp := range rec.copies {
				have[cp.ref.mbox] = true
				if _, stays := newMboxes[cp.ref.mbox]; !stays {
					if se := c.checkRemove(cp.ref.mbox); se != nil {
						return se, nil
					}
				}
			}
			for _, mb := range newMboxes {
				if !have[mb.ID] && !c.may(mb.ID, store.RightInsert) {
					return forbidden("no right to add Emails to %s (ACL right i)", leafName(mb.Name)), nil
				}
			}
		}
	}
	// Keywords are set on every copy.
	for _, cp := range rec.copies {
		h, _, ok, err := c.open(cp.ref.mbox)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		uids := []store.UID{cp.ref.uid}
		if replaceKW {
			flags := slices.Clone(replace)
			if slices.Contains(cp.msg.Flags, store.FlagDeleted) {
				flags = append(flags, store.FlagDeleted) // not a JMAP keyword: kept
			}
			if _, err := h.StoreFlags(c.ctx, uids, store.FlagsReplace, flags, 0); err != nil {
				return nil, err
			}
		}
		if len(add) > 0 {
			if _, err := h.StoreFlags(c.ctx, uids, store.FlagsAdd, add, 0); err != nil {
				return nil, err
			}
		}
		if len(remove) > 0 {
			if _, err := h.StoreFlags(c.ctx, uids, store.FlagsRemove, remove, 0); err != nil {
				return nil, err
			}
		}
	}
	if newMboxes != nil {
		// Copies leave the mailboxes no longer named and go to the new
		// ones: MOVE where one leaves and one arrives, COPY and EXPUNGE
		// for the rest; every copy keeps the Email id.
		var leave []emailCopy
		have := map[int64]bool{}
		for _, cp := range rec.copies {
			have[cp.ref.mbox] = true
			if _, stays := newMboxes[cp.ref.mbox]; !stays {
				leave = append(leave, cp)
			}
		}
		var arrive []store.MailboxInfo
		for _, mb := range newMboxes {
			if !have[mb.ID] {
				arrive = append(arrive, mb)
			}
		}
		slices.SortFunc(arrive, func(a, b store.MailboxInfo) int { return cmp.Compare(a.ID, b.ID) })
		for len(arrive) > len(leave) {
			h, _, ok, err := c.open(rec.ref.mbox)
			if err != nil {
				return nil, err
			}
			if !ok {
				return seNotFound("no Email " + id), nil
			}
			res, err := h.CopyTo(c.ctx, []store.UID{rec.ref.uid}, arrive[len(arrive)-1].Name)
			if err != nil {
				return nil, err
			}
			if err := c.arrived(arrive[len(arrive)-1], res, rec.msg.Flags); err != nil {
				return nil, err
			}
			arrive = arrive[:len(arrive)-1]
		}
		for i, mb := range arrive {
			h, _, ok, err := c.open(leave[i].ref.mbox)
			if err != nil {
				return nil, err
			}
			if ok {
				res, err := h.MoveTo(c.ctx, []store.UID{leave[i].ref.uid}, mb.Name)
				if err != nil {
					return nil, err
				}
				if err := c.arrived(mb, res, leave[i].msg.Flags); err != nil {
					return nil, err
				}
			}
		}
		if err := c.expungeCopies(leave[len(arrive):]); err != nil {
			return nil, err
		}
		c.invalidate()
	}
	return nil, nil
}

// expungeCopies expunges the given copies.
func (c *call) expungeCopies(copies []emailCopy) error {
	for _, cp := range copies {
		h, _, ok, err := c.open(cp.ref.mbox)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if _, err := h.Expunge(c.ctx, []store.UID{cp.ref.uid}); err != nil {
			return err
		}
	}
	return nil
}

// unescapePointer undoes JSON Pointer escaping of one path element.
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func (c *call) emailImport(raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string `json:"accountId"`
		IfInState *string
		Emails    map[string]struct {
			BlobID     string          `json:"blobId"`
			MailboxIDs json.RawMessage `json:"mailboxIds"`
			Keywords   json.RawMessage `json:"keywords"`
			ReceivedAt *string         `json:"receivedAt"`
		} `json:"emails"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if len(a.Emails) > c.s.limits.MaxObjectsInSet {
		return nil, mErr(meRequestTooLarge, "too many emails")
	}
	old, err := c.emailState()
	if err != nil {
		return nil, err
	}
	if a.IfInState != nil && *a.IfInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	created := map[string]any{}
	notCreated := map[string]*setError{}
	for cid, e := range a.Emails {
		mboxes, se := c.targetMailboxes(e.MailboxIDs)
		if se != nil {
			notCreated[cid] = se
			continue
		}
		flags, se := flagsOfKeywords(e.Keywords)
		if se != nil {
			notCreated[cid] = se
			continue
		}
		if se := c.checkInsert(mboxes, flags); se != nil {
			notCreated[cid] = se
			continue
		}
		var received time.Time
		if e.ReceivedAt != nil {
			if received, err = time.Parse(time.RFC3339, *e.ReceivedAt); err != nil {
				notCreated[cid] = seInvalid("receivedAt must be a UTCDate", "receivedAt")
				continue
			}
		}
		bid, _ := c.resolveID(e.BlobID)
		data, _, ok, err := c.openBlob(bid)
		if err != nil {
			return nil, err
		}
		if !ok {
			notCreated[cid] = &setError{Type: "blobNotFound", Description: "no such blob", NotFound: []string{e.BlobID}}
			continue
		}
		rec, se, err := c.storeMessage(data, mboxes, flags, received)
		if err != nil {
			return nil, err
		}
		if se != nil {
			notCreated[cid] = se
			continue
		}
		c.created[cid] = rec.id
		created[cid] = createdEmail(rec)
	}
	c.invalidate()
	st, err := c.emailState()
	if err != nil {
		return nil, err
	}
	out := map[string]any{"accountId": a.AccountID, "oldState": old, "newState": st, "created": nil, "notCreated": nil}
	if len(created) > 0 {
		out["created"] = created
	}
	if len(notCreated) > 0 {
		out["notCreated"] = notCreated
	}
	return out, nil
}

// emailCopy is Email/copy. Within one account a copy is an IMAP COPY
// into mailboxIds (the Email keeps its id); between the user's account
// and a shared one see emailCopyAcross.
func (c *call) emailCopy(raw json.RawMessage) (any, error) {
	var a struct {
		FromAccountID            string  `json:"fromAccountId"`
		IfFromInState            *string `json:"ifFromInState"`
		AccountID                string  `json:"accountId"`
		IfInState                *string `json:"ifInState"`
		Create                   map[string]map[string]json.RawMessage
		OnSuccessDestroyOriginal bool    `json:"onSuccessDestroyOriginal"`
		DestroyFromIfInState     *string `json:"destroyFromIfInState"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.FromAccountID != a.AccountID {
		return c.emailCopyAcross(a.FromAccountID, a.IfFromInState, a.AccountID, a.IfInState, a.Create,
			a.OnSuccessDestroyOriginal, a.DestroyFromIfInState)
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	old, err := c.emailState()
	if err != nil {
		return nil, err
	}
	if (a.IfInState != nil && *a.IfInState != old) || (a.IfFromInState != nil && *a.IfFromInState != old) {
		return nil, mErr(meStateMismatch, "state does not match")
	}
	created := map[string]any{}
	notCreated := map[string]*setError{}
	var originals []string
	for cid, obj := range a.Create {
		var id string
		json.Unmarshal(obj["id"], &id)
		id, _ = c.resolveID(id)
		recs, err := c.loadEmails([]string{id})
		if err != nil {
			return nil, err
		}
		rec := recs[id]
		if rec == nil {
			notCreated[cid] = seNotFound("no Email " + id)
			continue
		}
		mboxes, se := c.targetMailboxes(obj["mailboxIds"])
		if se != nil {
			notCreated[cid] = se
			continue
		}
		kwFlags := rec.msg.Flags
		if kw, ok := obj["keywords"]; ok {
			kwFlags, _ = flagsOfKeywords(kw)
		}
		if se := c.checkInsert(mboxes, kwFlags); se != nil {
			notCreated[cid] = se
			continue
		}
		h, _, ok, err := c.open(rec.ref.mbox)
		if err != nil {
			return nil, err
		}
		if !ok {
			notCreated[cid] = seNotFound("no Email " + id)
			continue
		}
		for _, mb := range mboxes {
			if _, err := h.CopyTo(c.ctx, []store.UID{rec.ref.uid}, mb.Name); err != nil {
				return nil, err
			}
		}
		c.invalidate()
		// The copies keep the Email id (RFC 8474 §5.1): within one
		// account, Email/copy adds mailboxes to the Email.
		got, err := c.loadEmails([]string{id})
		if err != nil {
			return nil, err
		}
		first := got[id]
		if first == nil {
			return nil, fmt.Errorf("copy of %s not found", id)
		}
		if kw, ok := obj["keywords"]; ok {
			if flags, se := flagsOfKeywords(kw); se == nil {
				for _, cp := range first.copies {
					if slices.ContainsFunc(mboxes, func(mb store.MailboxInfo) bool { return mb.ID == cp.ref.mbox }) {
						if hh, _, ok, _ := c.open(cp.ref.mbox); ok {
							hh.StoreFlags(c.ctx, []store.UID{cp.ref.uid}, store.FlagsReplace, flags, 0)
						}
					}
				}
			}
		}
		c.created[cid] = first.id
		created[cid] = createdEmail(first)
		originals = append(originals, id)
	}
	c.invalidate()
	st, err := c.emailState()
	if err != nil {
		return nil, err
	}
	out := map[string]any{"fromAccountId": a.FromAccountID, "accountId": a.AccountID, "oldState": old, "newState": st,
		"created": nil, "notCreated": nil}
	if len(created) > 0 {
		out["created"] = created
	}
	if len(notCreated) > 0 {
		out["notCreated"] = notCreated
	}
	if a.OnSuccessDestroyOriginal && len(originals) > 0 {
		res, err := c.doEmailSet(setArgs{AccountID: a.AccountID, IfInState: a.DestroyFromIfInState, Destroy: originals})
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(res)
		c.extra = append(c.extra, invocation{Name: "Email/set", Args: b})
	}
	return out, nil
}

func (c *call) emailParse(raw json.RawMessage) (any, error) {
	var a struct {
		emailGetArgs
		BlobIDs []string `json:"blobIds"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if a.IDs != nil {
		return nil, invalidArgs("Email/parse takes blobIds, not ids")
	}
	if len(a.BlobIDs) > c.s.limits.MaxObjectsInGet {
		return nil, mErr(meRequestTooLarge, "too many blobIds")
	}
	sp, err := a.spec(true)
	if err != nil {
		return nil, err
	}
	parsed := map[string]any{}
	notParsable, notFound := []string{}, []string{}
	for _, id := range a.BlobIDs {
		data, typ, ok, err := c.openBlob(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			notFound = append(notFound, id)
			continue
		}
		if !strings.HasPrefix(typ, "message/") && !strings.HasPrefix(typ, "application/octet-stream") && !strings.HasPrefix(typ, "text/plain") {
			notParsable = append(notParsable, id)
			continue
		}
		root := mime.ParseBytes(data)
		v := newMsgView(bytes.NewReader(data), int64(len(data)), root, func(path []int) string { return id + "_" + strings.ReplaceAll(partIDString(path), ".", "_") })
		o, err := renderMessage(v, sp, "", false)
		if err != nil {
			return nil, err
		}
		for _, p := range sp.props {
			if p == "blobId" {
				o["blobId"] = id
			}
		}
		parsed[id] = o
	}
	out := map[string]any{"accountId": a.AccountID, "parsed": nil, "notParsable": notParsable, "notFound": notFound}
	if len(parsed) > 0 {
		out["parsed"] = parsed
	}
	return out, nil
}
