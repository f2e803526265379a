package jmapserver

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// mailboxes opens the account's mailbox store once per request.
func (c *call) mailboxes() (store.Mailboxes, error) {
	if c.mbs == nil {
		mbs, err := c.s.opts.Store.Mailboxes(c.ctx, c.owner.Name)
		if err != nil {
			return nil, err
		}
		c.mbs = mbs
	}
	return c.mbs, nil
}

// list is the account's mailboxes, read once per request until a change
// (invalidate) makes it stale.
func (c *call) list() ([]store.MailboxInfo, error) {
	if c.mboxCache != nil {
		return c.mboxCache, nil
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, err
	}
	l, err := mbs.List(c.ctx)
	if err != nil {
		return nil, err
	}
	if c.rights != nil {
		if l, err = c.sharedView(l); err != nil {
			return nil, err
		}
	}
	c.mboxCache = l
	return l, nil
}

func (c *call) invalidate() { c.mboxCache = nil }

// refreshed re-reads the mailbox list (after writes, for new states).
func (c *call) refreshed() ([]store.MailboxInfo, error) {
	c.invalidate()
	return c.list()
}

// mailboxByID finds a mailbox by store id.
func (c *call) mailboxByID(id int64) (store.MailboxInfo, bool, error) {
	l, err := c.list()
	if err != nil {
		return store.MailboxInfo{}, false, err
	}
	for _, mb := range l {
		if mb.ID == id {
			return mb, true, nil
		}
	}
	return store.MailboxInfo{}, false, nil
}

// mailboxByJMAPID resolves a Mailbox id (or "#creationId").
func (c *call) mailboxByJMAPID(jid string) (store.MailboxInfo, bool, error) {
	jid, ok := c.resolveID(jid)
	if !ok {
		return store.MailboxInfo{}, false, nil
	}
	id, ok := parseMailboxID(jid)
	if !ok {
		return store.MailboxInfo{}, false, nil
	}
	return c.mailboxByID(id)
}

// open opens a mailbox by store id to read or change its Emails; ok is
// false when it is gone, or in a shared account when the user may not
// read it (ACL r).
func (c *call) open(id int64) (store.Mailbox, store.MailboxInfo, bool, error) {
	mb, ok, err := c.mailboxByID(id)
	if err != nil || !ok || !c.may(id, store.RightRead) {
		return nil, mb, false, err
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, mb, false, err
	}
	h, err := mbs.Open(c.ctx, mb.Name)
	if errors.Is(err, store.ErrNoSuchMailbox) {
		return nil, mb, false, nil
	}
	if err != nil {
		return nil, mb, false, err
	}
	return h, mb, true, nil
}

// sortOrderEntry is the server METADATA entry (RFC 5464) that keeps the
// Mailbox sortOrder values set through JMAP, as a JSON object mailbox
// id → order. Stores without METADATA get the default orders.
const sortOrderEntry = "/private/vendor/letterbox/jmap-sortorder"

func (c *call) sortOrders() map[int64]int {
	return readSortOrders(c.ctx, c.s.opts.Store, c.owner.Name)
}

func readSortOrders(ctx context.Context, st store.Store, account string) map[int64]int {
	md, ok := st.(store.Metadata)
	if !ok {
		return nil
	}
	es, err := md.GetMetadata(ctx, account, store.ServerMetadata, []string{sortOrderEntry})
	if err != nil || len(es) == 0 {
		return nil
	}
	var m map[int64]int
	if json.Unmarshal(es[0].Value, &m) != nil {
		return nil
	}
	return m
}

func (c *call) writeSortOrders(m map[int64]int) error {
	md, ok := c.s.opts.Store.(store.Metadata)
	if !ok {
		return errors.New("this store keeps no sortOrder")
	}
	b, _ := json.Marshal(m)
	return md.SetMetadata(c.ctx, c.owner.Name, store.ServerMetadata, []store.MetadataEntry{{Name: sortOrderEntry, Value: b}}, store.MetadataLimits{})
}

// roleOf maps a mailbox to its JMAP role (RFC 8621 §2, the IANA registry
// of RFC 6154 special uses); "" for none.
func roleOf(mb store.MailboxInfo) string {
	if strings.EqualFold(mb.Name, store.InboxName) {
		return "inbox"
	}
	if mb.SpecialUse == "" {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(mb.SpecialUse, `\`))
}

// specialUseOf maps a role back to a special-use attribute.
func specialUseOf(role string) (string, bool) {
	switch role {
	case "all":
		return store.SpecialAll, true
	case "archive":
		return store.SpecialArchive, true
	case "drafts":
		return store.SpecialDrafts, true
	case "flagged":
		return store.SpecialFlagged, true
	case "junk":
		return store.SpecialJunk, true
	case "sent":
		return store.SpecialSent, true
	case "trash":
		return store.SpecialTrash, true
	}
	return "", false
}

// defaultSortOrder puts INBOX first and the special mailboxes next.
func defaultSortOrder(mb store.MailboxInfo) int {
	switch roleOf(mb) {
	case "inbox":
		return 1
	case "drafts":
		return 2
	case "sent":
		return 3
	case "archive":
		return 4
	case "junk":
		return 5
	case "trash":
		return 6
	case "":
		return 10
	}
	return 7
}

func sortOrderOf(mb store.MailboxInfo, orders map[int64]int) int {
	if o, ok := orders[mb.ID]; ok {
		return o
	}
	return defaultSortOrder(mb)
}

// leafName is the last level of a hierarchical name; parentName the rest.
func leafName(name string) string {
	if i := strings.LastIndexByte(name, store.HierarchySeparator); i >= 0 {
		return name[i+1:]
	}
	return name
}

func parentName(name string) string {
	if i := strings.LastIndexByte(name, store.HierarchySeparator); i >= 0 {
		return name[:i]
	}
	return ""
}

// Account states (see state.go).

func (c *call) emailState() (string, error) {
	l, err := c.emailList()
	if err != nil {
		return "", err
	}
	return vectorOf(l, nil).encode('e'), nil
}

func (c *call) threadState() (string, error) {
	l, err := c.emailList()
	if err != nil {
		return "", err
	}
	return vectorOf(l, nil).encode('t'), nil
}

func (c *call) mailboxState() (string, error) {
	l, err := c.list()
	if err != nil {
		return "", err
	}
	return mailboxVector(l, c.sortOrders(), c.rights).encode('m'), nil
}

// mailboxVector is the Mailbox state vector; in a shared account the
// user's rights are part of each mailbox's tag (myRights).
func mailboxVector(l []store.MailboxInfo, orders map[int64]int, rights map[int64]store.Rights) stateVec {
	if rights != nil {
		// The counts of a mailbox the user may not read are not shown,
		// so its changes must not move the state either.
		l = slices.Clone(l)
		for i := range l {
			if !rights[l[i].ID].Has(store.RightRead) {
				l[i].HighestModSeq, l[i].UIDNext = 0, 0
			}
		}
	}
	return vectorOf(l, func(mb store.MailboxInfo) uint32 {
		sub := "0"
		if mb.Subscribed {
			sub = "1"
		}
		if rights != nil {
			return hashTag(mb.Name, mb.SpecialUse, sub, string(rune(sortOrderOf(mb, orders))), rights[mb.ID].Letters())
		}
		return hashTag(mb.Name, mb.SpecialUse, sub, string(rune(sortOrderOf(mb, orders))))
	})
}
