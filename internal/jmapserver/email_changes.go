package jmapserver

import (
	"encoding/json"
	"slices"

	"github.com/letterbox/letterbox/internal/store"
)

// Email/changes (RFC 8621 §4.3) and Thread/changes (§3.2), answered from
// the store's per-mailbox changes since the MODSEQs in the client's state
// (store.Mailbox.Changes: the rows with a higher MODSEQ and the
// tombstones of expunged UIDs, the query behind IMAP QRESYNC).

// computeEmailChanges compares the state since with now. maxChanges 0 is
// no limit; with a limit, whole mailboxes are taken until it is reached
// and the new state is the intermediate one.
func (c *call) computeEmailChanges(since string, maxChanges int) (changesResponse, error) {
	resp := changesResponse{OldState: since, Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	old, ok := decodeState(since, 'e')
	if !ok {
		if t, okT := decodeState(since, 't'); okT {
			old, ok = t, true
		}
	}
	if !ok {
		return resp, mErr(meCannotCalculateChanges, "sinceState is not an Email state of this server")
	}
	l, err := c.list()
	if err != nil {
		return resp, err
	}
	cur := vectorOf(l, nil)
	for _, o := range old {
		if _, ok := cur.find(o.id); !ok {
			// A deleted mailbox takes its tombstones with it.
			return resp, mErr(meCannotCalculateChanges, "a mailbox was deleted since that state; its changes are gone")
		}
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return resp, err
	}
	byID := map[int64]store.MailboxInfo{}
	for _, mb := range l {
		byID[mb.ID] = mb
	}
	next := slices.Clone(old)
	count := 0
	for _, e := range cur {
		o, known := old.find(e.id)
		if known && o.modseq == e.modseq && o.uidnext == e.uidnext {
			continue
		}
		if known && (o.modseq > e.modseq || o.uidnext > e.uidnext) {
			return resp, mErr(meCannotCalculateChanges, "the state is newer than the mailbox")
		}
		mb := byID[e.id]
		h, err := mbs.Open(c.ctx, mb.Name)
		if err != nil {
			return resp, err
		}
		var created, updated, destroyed []string
		if known {
			ch, err := h.Changes(c.ctx, o.modseq)
			if err != nil {
				return resp, err
			}
			for _, m := range ch.Updated {
				id := emailID(msgRef{e.id, m.UID})
				if m.UID >= o.uidnext {
					created = append(created, id)
				} else {
					updated = append(updated, id)
				}
			}
			for _, u := range ch.Expunged {
				if u < o.uidnext { // one created and expunged since was never seen
					destroyed = append(destroyed, emailID(msgRef{e.id, u}))
				}
			}
			e = vecEntry{id: e.id, modseq: ch.HighestModSeq, uidnext: ch.UIDNext}
		} else {
			msgs, err := h.Messages(c.ctx)
			if err != nil {
				return resp, err
			}
			for _, m := range msgs {
				created = append(created, emailID(msgRef{e.id, m.UID}))
			}
		}
		n := len(created) + len(updated) + len(destroyed)
		if maxChanges > 0 && count > 0 && count+n > maxChanges {
			resp.HasMoreChanges = true
			break
		}
		count += n
		resp.Created = append(resp.Created, created...)
		resp.Updated = append(resp.Updated, updated...)
		resp.Destroyed = append(resp.Destroyed, destroyed...)
		if i := slices.IndexFunc(next, func(x vecEntry) bool { return x.id == e.id }); i >= 0 {
			next[i] = e
		} else {
			next = append(next, e)
		}
	}
	slices.SortFunc(next, func(x, y vecEntry) int { return int(min(max(x.id-y.id, -1), 1)) })
	resp.NewState = next.encode('e')
	return resp, nil
}

func (c *call) emailChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	max := 0
	if a.MaxChanges != nil {
		if *a.MaxChanges <= 0 {
			return nil, invalidArgs("maxChanges must be positive")
		}
		max = *a.MaxChanges
	}
	resp, err := c.computeEmailChanges(a.SinceState, max)
	if err != nil {
		return nil, err
	}
	resp.AccountID = a.AccountID
	return resp, nil
}

func (c *call) threadChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	max := 0
	if a.MaxChanges != nil {
		if *a.MaxChanges <= 0 {
			return nil, invalidArgs("maxChanges must be positive")
		}
		max = *a.MaxChanges
	}
	resp, err := c.computeEmailChanges(a.SinceState, max)
	if err != nil {
		return nil, err
	}
	conv := func(ids []string) []string {
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			if r, ok := parseEmailID(id); ok {
				out = append(out, threadID(r))
			}
		}
		return out
	}
	resp.AccountID = a.AccountID
	resp.Created, resp.Updated, resp.Destroyed = conv(resp.Created), conv(resp.Updated), conv(resp.Destroyed)
	resp.NewState = "t" + resp.NewState[1:]
	return resp, nil
}

// threadGet is Thread/get (RFC 8621 §3.1).
func (c *call) threadGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	if _, err := propertySet(a.Properties, []string{"id", "emailIds"}); err != nil {
		return nil, err
	}
	if a.IDs == nil {
		return nil, mErr(meRequestTooLarge, "Thread/get needs ids")
	}
	if len(*a.IDs) > c.s.limits.MaxObjectsInGet {
		return nil, mErr(meRequestTooLarge, "too many ids")
	}
	state, err := c.threadState()
	if err != nil {
		return nil, err
	}
	var want []string
	owner := map[string]string{}
	for _, id := range *a.IDs {
		if r, ok := parseThreadID(id); ok {
			for _, m := range threadMembers(r) {
				want = append(want, emailID(m))
				owner[emailID(m)] = id
			}
		}
	}
	recs, err := c.loadEmails(want)
	if err != nil {
		return nil, err
	}
	list := []any{}
	notFound := []string{}
	for _, id := range *a.IDs {
		var emails []string
		for _, e := range want {
			if owner[e] == id && recs[e] != nil {
				emails = append(emails, e)
			}
		}
		if len(emails) == 0 {
			notFound = append(notFound, id)
			continue
		}
		list = append(list, map[string]any{"id": id, "emailIds": emails})
	}
	return map[string]any{"accountId": a.AccountID, "state": state, "list": list, "notFound": notFound}, nil
}
