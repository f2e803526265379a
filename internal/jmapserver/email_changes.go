package jmapserver

import (
	"encoding/json"
	"slices"

	"github.com/letterbox/letterbox/internal/store"
)

// Email/changes (RFC 8621 §4.3) and Thread/changes (§3.2), answered from
// the store's per-mailbox changes since the MODSEQs in the client's state
// (store.Mailbox.Changes: the rows with a higher MODSEQ and the
// tombstones of expunged UIDs, the query behind IMAP QRESYNC). Rows are
// turned into Email ids with Details, tombstones with
// store.TombstoneObjects; an Email with copies in several mailboxes is
// created, updated or destroyed once for all of them.

// emailChanges is the outcome of computeEmailChanges, with the thread of
// every Email it names.
type emailChanges struct {
	changesResponse
	threads map[string]string // email id → thread id
}

// idsOfRows reads the object ids of rows of one mailbox.
func (c *call) idsOfRows(h store.Mailbox, uids []store.UID) (map[store.UID]store.MessageDetail, error) {
	out := make(map[store.UID]store.MessageDetail, len(uids))
	for i := 0; i < len(uids); i += 512 {
		ds, err := h.Details(c.ctx, uids[i:min(i+512, len(uids))])
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			d.Structure = nil
			out[d.UID] = d
		}
	}
	return out, nil
}

// tombstoneIDs names the Emails of expunged UIDs.
func (c *call) tombstoneIDs(h store.Mailbox, uids []store.UID) (map[store.UID]store.TombstoneObject, error) {
	if to, ok := h.(store.TombstoneObjects); ok {
		return to.TombstoneObjects(c.ctx, uids)
	}
	// A store without them: only the content still kept for IMAP
	// sessions (Details of expunged UIDs) tells.
	out := map[store.UID]store.TombstoneObject{}
	ds, err := h.Details(c.ctx, uids)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		out[d.UID] = store.TombstoneObject{EmailID: d.EmailID, ThreadID: d.ThreadID}
	}
	return out, nil
}

// computeEmailChanges compares the state since with now. maxChanges 0 is
// no limit; with a limit, whole mailboxes are taken until it is reached
// and the new state is the intermediate one.
func (c *call) computeEmailChanges(since string, maxChanges int) (emailChanges, error) {
	resp := emailChanges{changesResponse: changesResponse{OldState: since, Created: []string{}, Updated: []string{}, Destroyed: []string{}},
		threads: map[string]string{}}
	old, ok := decodeState(since, 'e')
	if !ok {
		if t, okT := decodeState(since, 't'); okT {
			old, ok = t, true
		}
	}
	if !ok {
		return resp, mErr(meCannotCalculateChanges, "sinceState is not an Email state of this server")
	}
	l, err := c.emailList()
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
	// What happened to each Email: a copy appeared (a UID above the old
	// UIDNEXT), a copy changed, a copy went; and whether it had a copy
	// before the old state.
	type event struct{ appeared, changed, gone, before bool }
	events := map[string]*event{}
	ev := func(id string) *event {
		e := events[id]
		if e == nil {
			e = &event{}
			events[id] = e
		}
		return e
	}
	next := slices.Clone(old)
	for _, e := range cur {
		o, known := old.find(e.id)
		if known && o.modseq == e.modseq && o.uidnext == e.uidnext {
			continue
		}
		if known && (o.modseq > e.modseq || o.uidnext > e.uidnext) {
			return resp, mErr(meCannotCalculateChanges, "the state is newer than the mailbox")
		}
		if maxChanges > 0 && len(events) >= maxChanges {
			resp.HasMoreChanges = true
			break
		}
		h, err := mbs.Open(c.ctx, byID[e.id].Name)
		if err != nil {
			return resp, err
		}
		var rows []store.UID
		var gone []store.UID
		uidnext := store.UID(0)
		if known {
			ch, err := h.Changes(c.ctx, o.modseq)
			if err != nil {
				return resp, err
			}
			for _, m := range ch.Updated {
				rows = append(rows, m.UID)
			}
			for _, u := range ch.Expunged {
				if u < o.uidnext { // one created and expunged since was never seen
					gone = append(gone, u)
				}
			}
			uidnext = o.uidnext
			e = vecEntry{id: e.id, modseq: ch.HighestModSeq, uidnext: ch.UIDNext}
		} else {
			msgs, err := h.Messages(c.ctx)
			if err != nil {
				return resp, err
			}
			for _, m := range msgs {
				rows = append(rows, m.UID)
			}
		}
		ds, err := c.idsOfRows(h, rows)
		if err != nil {
			return resp, err
		}
		for _, d := range ds {
			if d.EmailID == "" {
				continue
			}
			resp.threads[d.EmailID] = d.ThreadID
			if known && d.UID < uidnext {
				x := ev(d.EmailID)
				x.changed, x.before = true, true
			} else {
				ev(d.EmailID).appeared = true
			}
		}
		if len(gone) > 0 {
			ts, err := c.tombstoneIDs(h, gone)
			if err != nil {
				return resp, err
			}
			for _, u := range gone {
				t, ok := ts[u]
				if !ok {
					return resp, mErr(meCannotCalculateChanges, "an expunged message's Email id is no longer known")
				}
				resp.threads[t.EmailID] = t.ThreadID
				x := ev(t.EmailID)
				x.gone, x.before = true, true
			}
		}
		if i := slices.IndexFunc(next, func(x vecEntry) bool { return x.id == e.id }); i >= 0 {
			next[i] = e
		} else {
			next = append(next, e)
		}
	}
	// Where the other copies of those Emails are now.
	var ask []string
	for id, x := range events {
		if x.gone || (x.appeared && !x.before) {
			ask = append(ask, id)
		}
	}
	live := map[string][]store.EmailLocation{}
	if len(ask) > 0 {
		ol, ok := c.s.opts.Store.(store.ObjectLookup)
		if !ok {
			return resp, mErr(meCannotCalculateChanges, "the store keeps no object ids")
		}
		if live, err = c.findEmails(ol, ask); err != nil {
			return resp, err
		}
	}
	for id, x := range events {
		if x.appeared && !x.before {
			// A copy of an Email that was already in an unchanged
			// mailbox is an update of that Email.
			for _, loc := range live[id] {
				if o, ok := old.find(loc.MailboxID); ok && loc.UID < o.uidnext {
					x.before = true
				}
			}
		}
		switch {
		case x.gone && len(live[id]) == 0:
			resp.Destroyed = append(resp.Destroyed, id)
		case !x.before:
			resp.Created = append(resp.Created, id)
		default:
			resp.Updated = append(resp.Updated, id)
		}
	}
	slices.Sort(resp.Created)
	slices.Sort(resp.Updated)
	slices.Sort(resp.Destroyed)
	slices.SortFunc(next, func(x, y vecEntry) int { return int(min(max(x.id-y.id, -1), 1)) })
	resp.NewState = next.encode('e')
	return resp, nil
}

func (c *call) emailChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	max, err := a.limit()
	if err != nil {
		return nil, err
	}
	resp, err := c.computeEmailChanges(a.SinceState, max)
	if err != nil {
		return nil, err
	}
	resp.AccountID = a.AccountID
	return resp.changesResponse, nil
}

// threadChanges reports the threads of the changed Emails: destroyed when
// no Email is left in it, created when all its Emails are new, else
// updated.
func (c *call) threadChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	max, err := a.limit()
	if err != nil {
		return nil, err
	}
	ch, err := c.computeEmailChanges(a.SinceState, max)
	if err != nil {
		return nil, err
	}
	ol, ok := c.s.opts.Store.(store.ObjectLookup)
	if !ok {
		return nil, mErr(meCannotCalculateChanges, "the store keeps no object ids")
	}
	created := map[string]bool{}
	for _, id := range ch.Created {
		created[id] = true
	}
	resp := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: "t" + ch.NewState[1:],
		HasMoreChanges: ch.HasMoreChanges, Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	done := map[string]bool{}
	for _, set := range [][]string{ch.Created, ch.Updated, ch.Destroyed} {
		for _, id := range set {
			t := ch.threads[id]
			if t == "" || done[t] {
				continue
			}
			done[t] = true
			emails, err := c.threadEmails(ol, t)
			if err != nil {
				return nil, err
			}
			allNew := len(emails) > 0
			for _, e := range emails {
				allNew = allNew && created[e]
			}
			switch {
			case len(emails) == 0:
				resp.Destroyed = append(resp.Destroyed, t)
			case allNew:
				resp.Created = append(resp.Created, t)
			default:
				resp.Updated = append(resp.Updated, t)
			}
		}
	}
	return resp, nil
}

// threadGet is Thread/get (RFC 8621 §3.1): the Emails of the thread,
// oldest first (store.ObjectLookup.ThreadEmails).
func (c *call) threadGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
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
	ol, ok := c.s.opts.Store.(store.ObjectLookup)
	if !ok {
		return nil, mErr(meServerFail, "the store keeps no object ids")
	}
	state, err := c.threadState()
	if err != nil {
		return nil, err
	}
	list := []any{}
	notFound := []string{}
	for _, id := range *a.IDs {
		var emails []string
		if validThreadID(id) {
			if emails, err = c.threadEmails(ol, id); err != nil {
				return nil, err
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
