package jmapserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// emailCopyAcross is Email/copy between two accounts (RFC 8621 §4.7): the
// user's own and a shared one (shared.go), or two shared ones. The
// message is stored again in the destination (content-addressed, so the
// octets are not kept twice) and is a new Email there, with the id the
// destination gives it; keywords and receivedAt are the original's unless
// the create object sets them. Reading needs r on a mailbox of the
// original, adding i on every destination mailbox (and s or w for the
// keywords), as IMAP COPY between accounts does.
func (c *call) emailCopyAcross(fromID string, ifFromInState *string, toID string, ifInState *string,
	create map[string]map[string]json.RawMessage, destroyOriginal bool, destroyFromIfInState *string) (any, error) {
	if err := c.useAccount(fromID); err != nil {
		var me *methodError
		if errors.As(err, &me) && me.Type == meAccountNotFound {
			return nil, mErr(meFromAccountNotFound, fmt.Sprintf("no account %q", fromID))
		}
		return nil, err
	}
	fromState, err := c.emailState()
	if err != nil {
		return nil, err
	}
	if ifFromInState != nil && *ifFromInState != fromState {
		return nil, mErr(meStateMismatch, "ifFromInState does not match the current state")
	}
	// Read every original first, in the source account.
	type original struct {
		data     []byte
		flags    []string
		received time.Time
	}
	originals := map[string]*original{}
	notCreated := map[string]*setError{}
	for cid, obj := range create {
		var id string
		json.Unmarshal(obj["id"], &id)
		if rid, ok := c.resolveID(id); ok {
			id = rid
		}
		recs, err := c.loadEmails([]string{id})
		if err != nil {
			return nil, err
		}
		rec := recs[id]
		if rec == nil {
			notCreated[cid] = seNotFound("no Email " + id)
			continue
		}
		blob, err := c.s.opts.Store.OpenBlob(c.ctx, rec.msg.BlobID)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.NewSectionReader(blob, 0, blob.Size()))
		blob.Close()
		if err != nil {
			return nil, err
		}
		originals[cid] = &original{data: data, flags: rec.msg.Flags, received: rec.msg.InternalDate}
	}
	if err := c.useAccount(toID); err != nil {
		return nil, err
	}
	old, err := c.emailState()
	if err != nil {
		return nil, err
	}
	if ifInState != nil && *ifInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	created := map[string]any{}
	var copied []string
	for _, cid := range slices.Sorted(maps.Keys(create)) {
		o := originals[cid]
		if o == nil {
			continue
		}
		obj := create[cid]
		mboxes, se := c.targetMailboxes(obj["mailboxIds"])
		if se != nil {
			notCreated[cid] = se
			continue
		}
		flags := keywordFlags(o.flags)
		if kw, ok := obj["keywords"]; ok {
			if flags, se = flagsOfKeywords(kw); se != nil {
				notCreated[cid] = se
				continue
			}
		}
		received := o.received
		if r, ok := obj["receivedAt"]; ok {
			var s string
			json.Unmarshal(r, &s)
			if received, err = time.Parse(time.RFC3339, s); err != nil {
				notCreated[cid] = seInvalid("receivedAt must be a UTCDate", "receivedAt")
				continue
			}
		}
		if se := c.checkInsert(mboxes, flags); se != nil {
			notCreated[cid] = se
			continue
		}
		rec, se, err := c.storeMessage(o.data, mboxes, flags, received)
		if err != nil {
			return nil, err
		}
		if se != nil {
			notCreated[cid] = se
			continue
		}
		c.created[cid] = rec.id
		created[cid] = createdEmail(rec)
		var id string
		json.Unmarshal(obj["id"], &id)
		if rid, ok := c.resolveID(id); ok {
			id = rid
		}
		copied = append(copied, id)
	}
	c.invalidate()
	st, err := c.emailState()
	if err != nil {
		return nil, err
	}
	out := map[string]any{"fromAccountId": fromID, "accountId": toID, "oldState": old, "newState": st,
		"created": nil, "notCreated": nil}
	if len(created) > 0 {
		out["created"] = created
	}
	if len(notCreated) > 0 {
		out["notCreated"] = notCreated
	}
	if destroyOriginal && len(copied) > 0 {
		// RFC 8621 §4.7: an implicit Email/set in the source account.
		if err := c.useAccount(fromID); err != nil {
			return nil, err
		}
		res, err := c.doEmailSet(setArgs{AccountID: fromID, IfInState: destroyFromIfInState, Destroy: copied})
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(res)
		c.extra = append(c.extra, invocation{Name: "Email/set", Args: b})
	}
	return out, nil
}

// keywordFlags keeps the flags that are JMAP keywords (not \Deleted,
// \Recent).
func keywordFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if _, ok := flagKeywords[f]; ok || (len(f) > 0 && f[0] != '\\') {
			out = append(out, f)
		}
	}
	return out
}
