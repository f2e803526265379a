package jmapserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/letterbox/letterbox/internal/store"
)

// Shared accounts (RFC 8620 §1.6.2, RFC 8621 §2 myRights). The mailboxes
// other users shared with this user through IMAP ACLs (store.ACLs, RFC
// 4314; IMAP shows them as "shared/<owner>/<mailbox>") appear as one more
// JMAP account per owner, with the owner's account id ("a" and the
// owner's number), isPersonal false, and only the mail capability. In it
// the user sees the owner's mailboxes on which they have l (lookup), and
// the Emails of those on which they also have r (read); every write needs
// the right IMAP would need (imapserver/shared.go, acl.go):
//
//	$seen               s          other keywords   w
//	into a mailbox      i          out of one       t and e
//	destroy             t and e    rename, destroy  x (and k on the new parent)
//	create a child      k
//
// A missing right is a "forbidden" SetError. Rights are read again at
// every method call, as IMAP reads them at every command, so an owner's
// SETACL counts from the user's next call. Subscriptions are the user's
// own (the IMAP name "shared/<owner>/<mailbox>"), sortOrder the owner's.

// sharedAccount is one owner's mailboxes shared with the user.
type sharedAccount struct {
	owner  store.Account
	rights map[int64]store.Rights // mailbox id → the user's rights
}

// readOnly says whether the user may change nothing in the account.
func (sa sharedAccount) readOnly() bool {
	const writes = store.RightSeen | store.RightWrite | store.RightInsert | store.RightCreate |
		store.RightDeleteMailbox | store.RightDeleteMessage | store.RightExpunge
	for _, r := range sa.rights {
		if r&writes != 0 {
			return false
		}
	}
	return true
}

// sharedAccounts lists the accounts that share mailboxes with user, by
// owner name (none when the store keeps no ACLs). Only mailboxes with l
// make an account appear.
func (s *Server) sharedAccounts(ctx context.Context, user store.Account) ([]sharedAccount, error) {
	acls, ok := s.opts.Store.(store.ACLs)
	if !ok {
		return nil, nil
	}
	sms, err := acls.SharedWith(ctx, user.Name)
	if err != nil {
		return nil, err
	}
	var out []sharedAccount
	for _, sm := range sms {
		if !sm.Rights.Has(store.RightLookup) || sm.Owner == user.Name {
			continue
		}
		if len(out) == 0 || out[len(out)-1].owner.Name != sm.Owner {
			owner, err := s.opts.Store.Account(ctx, sm.Owner)
			if err != nil {
				continue // gone meanwhile
			}
			out = append(out, sharedAccount{owner: owner, rights: map[int64]store.Rights{}})
		}
		out[len(out)-1].rights[sm.Info.ID] = sm.Rights
	}
	return out, nil
}

// switchTo makes the call work on owner's account as the user sees it
// (rights nil: the user's own, every right).
func (c *call) switchTo(owner store.Account, rights map[int64]store.Rights) {
	if owner.ID != c.owner.ID || c.owner.Name == "" {
		c.mbs = nil
	}
	c.owner, c.rights = owner, rights
	c.mboxCache, c.threadIdx = nil, nil
}

// useAccount selects the account a mail method names: the user's own or
// a shared one (accountNotFound for any other).
func (c *call) useAccount(id string) error {
	if id == accountID(c.acct) {
		c.switchTo(c.acct, nil)
		return nil
	}
	shared, err := c.s.sharedAccounts(c.ctx, c.acct)
	if err != nil {
		return err
	}
	for _, sa := range shared {
		if accountID(sa.owner) == id {
			c.switchTo(sa.owner, sa.rights)
			return nil
		}
	}
	return mErr(meAccountNotFound, fmt.Sprintf("no account %q", id))
}

// may reports whether the user has every right of want on a mailbox of
// the current account.
func (c *call) may(mbID int64, want store.Rights) bool {
	return c.rights == nil || c.rights[mbID].Has(want)
}

// forbidden is the SetError for a missing right.
func forbidden(format string, args ...any) *setError {
	return &setError{Type: "forbidden", Description: fmt.Sprintf(format, args...)}
}

// sharedView keeps the owner's mailboxes the user may look up, with the
// user's own subscriptions of their shared names.
func (c *call) sharedView(l []store.MailboxInfo) ([]store.MailboxInfo, error) {
	mine, err := c.s.opts.Store.Mailboxes(c.ctx, c.acct.Name)
	if err != nil {
		return nil, err
	}
	subs, err := mine.Subscriptions(c.ctx)
	if err != nil {
		return nil, err
	}
	out := make([]store.MailboxInfo, 0, len(c.rights))
	for _, mb := range l {
		if !c.rights[mb.ID].Has(store.RightLookup) {
			continue
		}
		mb.Subscribed = slices.Contains(subs, sharedName(c.owner.Name, mb.Name))
		out = append(out, mb)
	}
	return out, nil
}

// sharedName is the IMAP name of another account's mailbox (the Other
// Users namespace, as imapserver names it).
func sharedName(owner, name string) string { return "shared/" + owner + "/" + name }

// emailList is the mailboxes whose Emails the user sees: every one of
// their own; in a shared account those with l and r.
func (c *call) emailList() ([]store.MailboxInfo, error) {
	l, err := c.list()
	if err != nil || c.rights == nil {
		return l, err
	}
	out := make([]store.MailboxInfo, 0, len(l))
	for _, mb := range l {
		if c.rights[mb.ID].Has(store.RightRead) {
			out = append(out, mb)
		}
	}
	return out, nil
}

// visibleLocations keeps the copies the user may read.
func (c *call) visibleLocations(locs map[string][]store.EmailLocation) (map[string][]store.EmailLocation, error) {
	if c.rights == nil {
		return locs, nil
	}
	l, err := c.emailList()
	if err != nil {
		return nil, err
	}
	ok := map[int64]bool{}
	for _, mb := range l {
		ok[mb.ID] = true
	}
	out := make(map[string][]store.EmailLocation, len(locs))
	for id, ls := range locs {
		var keep []store.EmailLocation
		for _, loc := range ls {
			if ok[loc.MailboxID] {
				keep = append(keep, loc)
			}
		}
		if len(keep) > 0 {
			out[id] = keep
		}
	}
	return out, nil
}

// findEmails is ObjectLookup.FindEmails in the current account, limited
// to the copies the user may read.
func (c *call) findEmails(ol store.ObjectLookup, ids []string) (map[string][]store.EmailLocation, error) {
	locs, err := ol.FindEmails(c.ctx, c.owner.Name, ids)
	if err != nil {
		return nil, err
	}
	return c.visibleLocations(locs)
}

// threadEmails is ObjectLookup.ThreadEmails in the current account,
// limited to the Emails the user may read.
func (c *call) threadEmails(ol store.ObjectLookup, thread string) ([]string, error) {
	ids, err := ol.ThreadEmails(c.ctx, c.owner.Name, thread)
	if err != nil || c.rights == nil || len(ids) == 0 {
		return ids, err
	}
	locs, err := c.findEmails(ol, ids)
	if err != nil {
		return nil, err
	}
	out := ids[:0]
	for _, id := range ids {
		if len(locs[id]) > 0 {
			out = append(out, id)
		}
	}
	return out, nil
}

// mailboxRights renders myRights (RFC 8621 §2) from ACL rights, as RFC
// 8621 §2 relates them to RFC 4314: mayRemoveItems needs t and e (IMAP
// MOVE out), mayRename and mayDelete x, maySubmit p.
func mailboxRights(r store.Rights) map[string]bool {
	return map[string]bool{
		"mayReadItems":   r.Has(store.RightRead),
		"mayAddItems":    r.Has(store.RightInsert),
		"mayRemoveItems": r.Has(store.RightDeleteMessage | store.RightExpunge),
		"maySetSeen":     r.Has(store.RightSeen),
		"maySetKeywords": r.Has(store.RightWrite),
		"mayCreateChild": r.Has(store.RightCreate),
		"mayRename":      r.Has(store.RightDeleteMailbox),
		"mayDelete":      r.Has(store.RightDeleteMailbox),
		"maySubmit":      r.Has(store.RightPost),
	}
}

// myRights is a mailbox's myRights in the current account.
func (c *call) myRights(mbID int64) map[string]bool {
	if c.rights == nil {
		return allRights
	}
	return mailboxRights(c.rights[mbID])
}

// keywordRights is the right a change of flag needs (RFC 4314 §4).
func keywordRight(flag string) store.Rights {
	if flag == store.FlagSeen {
		return store.RightSeen
	}
	return store.RightWrite
}

// checkKeywordChange refuses a change from flags to next that the user's
// rights on mailbox mbID do not allow; nil when it may go ahead.
func (c *call) checkKeywordChange(mbID int64, flags, next []string) *setError {
	if c.rights == nil {
		return nil
	}
	r := c.rights[mbID]
	check := func(f string) *setError {
		if f == store.FlagDeleted { // not a keyword: kept as it is

			return nil
		}
		if !r.Has(keywordRight(f)) {
			if f == store.FlagSeen {
				return forbidden("no right to change $seen here (ACL right s)")
			}
			return forbidden("no right to change keywords other than $seen here (ACL right w)")
		}
		return nil
	}
	for _, f := range next {
		if !slices.Contains(flags, f) {
			if se := check(f); se != nil {
				return se
			}
		}
	}
	for _, f := range flags {
		if !slices.Contains(next, f) {
			if se := check(f); se != nil {
				return se
			}
		}
	}
	return nil
}

// jsonString reads a JSON string value ("" when it is none).
func jsonString(raw *json.RawMessage) string {
	var s string
	if raw != nil {
		json.Unmarshal(*raw, &s)
	}
	return s
}

// setSubscribed changes a subscription: the owner's in their own
// account; in a shared one the user's own, of the mailbox's shared name
// (as IMAP SUBSCRIBE "shared/<owner>/<mailbox>" does).
func (c *call) setSubscribed(mbs store.Mailboxes, name string, on bool) error {
	if c.rights == nil {
		return mbs.SetSubscribed(c.ctx, name, on)
	}
	mine, err := c.s.opts.Store.Mailboxes(c.ctx, c.acct.Name)
	if err != nil {
		return err
	}
	err = mine.SetSubscribed(c.ctx, sharedName(c.owner.Name, name), on)
	c.invalidate()
	return err
}

// copyParentACL gives a mailbox made in a shared account the ACL entries
// of its parent.
func (c *call) copyParentACL(parent, name string) error {
	acls, ok := c.s.opts.Store.(store.ACLs)
	if !ok {
		return nil
	}
	entries, err := acls.ACL(c.ctx, c.owner.Name, parent)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := acls.SetACL(c.ctx, c.owner.Name, name, e.Identifier, e.Rights); err != nil {
			return err
		}
	}
	return nil
}

// checkInsert refuses adding an Email with flags to mailboxes where the
// user may not (ACL i, and s or w for its keywords).
func (c *call) checkInsert(mboxes []store.MailboxInfo, flags []string) *setError {
	for _, mb := range mboxes {
		if !c.may(mb.ID, store.RightInsert) {
			return forbidden("no right to add Emails to %s (ACL right i)", leafName(mb.Name))
		}
		if se := c.checkKeywordChange(mb.ID, nil, flags); se != nil {
			return se
		}
	}
	return nil
}

// checkRemove refuses taking an Email out of a mailbox without t and e
// (IMAP MOVE out, or STORE \Deleted and EXPUNGE).
func (c *call) checkRemove(mbID int64) *setError {
	if !c.may(mbID, store.RightDeleteMessage|store.RightExpunge) {
		return forbidden("no right to remove Emails from this mailbox (ACL rights t and e)")
	}
	return nil
}

func (c *call) checkRemoveAll(copies []emailCopy) *setError {
	for _, cp := range copies {
		if se := c.checkRemove(cp.ref.mbox); se != nil {
			return se
		}
	}
	return nil
}

// arrived clears, on the copies a COPY or MOVE put into dest, the flags
// of flags (the source's) that the user's rights there do not let them
// set: as IMAP COPY and MOVE into a shared mailbox do (RFC 4314 §4:
// \Seen needs s, \Deleted t, any other flag w). The move itself needed
// only i, so it is not refused.
func (c *call) arrived(dest store.MailboxInfo, res store.CopyResult, flags []string) error {
	if c.rights == nil || len(res.DestUIDs) == 0 {
		return nil
	}
	r := c.rights[dest.ID]
	var drop []string
	for _, f := range flags {
		need := keywordRight(f)
		if f == store.FlagDeleted {
			need = store.RightDeleteMessage
		}
		if !r.Has(need) {
			drop = append(drop, f)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return err
	}
	h, err := mbs.Open(c.ctx, dest.Name)
	if err != nil {
		return err
	}
	_, err = h.StoreFlags(c.ctx, res.DestUIDs, store.FlagsRemove, drop, 0)
	return err
}
