package jmapserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/store"
)

// Mailbox methods (RFC 8621 §2).

// maxMailboxNameOctets bounds a Mailbox name (maxSizeMailboxName).
const maxMailboxNameOctets = 490

var mailboxProperties = []string{"id", "name", "parentId", "role", "sortOrder", "totalEmails",
	"unreadEmails", "totalThreads", "unreadThreads", "myRights", "isSubscribed"}

// myRights: the owner may do everything with their own mailboxes
// (RFC 8621 §2: MailboxRights).
var allRights = map[string]bool{
	"mayReadItems": true, "mayAddItems": true, "mayRemoveItems": true, "maySetSeen": true,
	"maySetKeywords": true, "mayCreateChild": true, "mayRename": true, "mayDelete": true, "maySubmit": true,
}

// mailboxObject renders one Mailbox.
func (c *call) mailboxObject(mb store.MailboxInfo, all []store.MailboxInfo, orders map[int64]int, props map[string]bool) (map[string]any, error) {
	o := map[string]any{"id": mailboxID(mb)}
	want := func(p string) bool { return props == nil || props[p] }
	if want("name") {
		o["name"] = leafName(mb.Name)
		if strings.EqualFold(mb.Name, store.InboxName) {
			o["name"] = "Inbox"
		}
	}
	if want("parentId") {
		o["parentId"] = nil
		if p := parentName(mb.Name); p != "" {
			for _, q := range all {
				if q.Name == p {
					o["parentId"] = mailboxID(q)
				}
			}
		}
	}
	if want("role") {
		if r := roleOf(mb); r != "" {
			o["role"] = r
		} else {
			o["role"] = nil
		}
	}
	if want("sortOrder") {
		o["sortOrder"] = sortOrderOf(mb, orders)
	}
	if !c.may(mb.ID, store.RightRead) {
		// A shared mailbox the user may list but not read: its counts
		// are not theirs to know (RFC 4314 §4: STATUS needs r).
		for _, p := range []string{"totalEmails", "unreadEmails", "totalThreads", "unreadThreads"} {
			if want(p) {
				o[p] = 0
			}
		}
	} else if want("totalEmails") || want("unreadEmails") || want("totalThreads") || want("unreadThreads") {
		mbs, err := c.mailboxes()
		if err != nil {
			return nil, err
		}
		st, err := mbs.Status(c.ctx, mb.Name)
		if err != nil {
			return nil, err
		}
		o["totalEmails"], o["unreadEmails"] = st.Messages, st.Unseen
		if want("totalThreads") || want("unreadThreads") {
			tc, err := c.threadCounts(mb)
			if err != nil {
				return nil, err
			}
			o["totalThreads"], o["unreadThreads"] = tc.total, tc.unread
		}
		for _, p := range []string{"totalEmails", "unreadEmails", "totalThreads", "unreadThreads"} {
			if !want(p) {
				delete(o, p)
			}
		}
	}
	if want("myRights") {
		o["myRights"] = c.myRights(mb.ID)
	}
	if want("isSubscribed") {
		o["isSubscribed"] = mb.Subscribed
	}
	return o, nil
}

// propertySet checks /get's properties against the known ones.
func propertySet(p *[]string, known []string) (map[string]bool, error) {
	if p == nil {
		return nil, nil
	}
	set := map[string]bool{"id": true}
	for _, name := range *p {
		if !slices.Contains(known, name) {
			return nil, invalidArgs(fmt.Sprintf("unknown property %q", name))
		}
		set[name] = true
	}
	return set, nil
}

func (c *call) mailboxGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	props, err := propertySet(a.Properties, mailboxProperties)
	if err != nil {
		return nil, err
	}
	if a.IDs != nil && len(*a.IDs) > c.s.limits.MaxObjectsInGet {
		return nil, mErr(meRequestTooLarge, fmt.Sprintf("at most %d ids per get", c.s.limits.MaxObjectsInGet))
	}
	all, err := c.list()
	if err != nil {
		return nil, err
	}
	state, err := c.mailboxState()
	if err != nil {
		return nil, err
	}
	orders := c.sortOrders()
	list := []any{}
	notFound := []string{}
	if a.IDs == nil {
		for _, mb := range all {
			o, err := c.mailboxObject(mb, all, orders, props)
			if err != nil {
				return nil, err
			}
			list = append(list, o)
		}
	} else {
		for _, id := range *a.IDs {
			mb, ok, err := c.mailboxByJMAPID(id)
			if err != nil {
				return nil, err
			}
			if !ok {
				notFound = append(notFound, id)
				continue
			}
			o, err := c.mailboxObject(mb, all, orders, props)
			if err != nil {
				return nil, err
			}
			list = append(list, o)
		}
	}
	return map[string]any{"accountId": a.AccountID, "state": state, "list": list, "notFound": notFound}, nil
}

// mailboxChanges answers from the state vectors (state.go): a mailbox
// new in the current vector was created, one missing was destroyed, one
// whose entry differs was updated; when only MODSEQ or UIDNEXT moved,
// only the counts did (updatedProperties).
func (c *call) mailboxChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if _, err := a.limit(); err != nil {
		return nil, err
	}
	old, ok := decodeState(a.SinceState, 'm')
	if !ok {
		return nil, mErr(meCannotCalculateChanges, "sinceState is not a Mailbox state of this server")
	}
	l, err := c.list()
	if err != nil {
		return nil, err
	}
	cur := mailboxVector(l, c.sortOrders(), c.rights)
	type change struct {
		kind int // 0 created, 1 updated, 2 destroyed
		e    vecEntry
	}
	var changes []change
	countsOnly := true
	for _, e := range cur {
		o, ok := old.find(e.id)
		switch {
		case !ok:
			changes = append(changes, change{0, e})
		case o != e:
			if o.tag != e.tag {
				countsOnly = false
			}
			changes = append(changes, change{1, e})
		}
	}
	for _, o := range old {
		if _, ok := cur.find(o.id); !ok {
			changes = append(changes, change{2, o})
		}
	}
	resp := changesResponse{AccountID: a.AccountID, OldState: a.SinceState,
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	next := cur
	if a.MaxChanges != nil && len(changes) > *a.MaxChanges {
		changes = changes[:*a.MaxChanges]
		resp.HasMoreChanges = true
		// The intermediate state: the old vector with these changes applied.
		next = slices.Clone(old)
		for _, ch := range changes {
			i := slices.IndexFunc(next, func(x vecEntry) bool { return x.id == ch.e.id })
			switch {
			case ch.kind == 2:
				next = slices.Delete(next, i, i+1)
			case i >= 0:
				next[i] = ch.e
			default:
				next = append(next, ch.e)
			}
		}
		slices.SortFunc(next, func(x, y vecEntry) int { return int(min(max(x.id-y.id, -1), 1)) })
	}
	for _, ch := range changes {
		id := mailboxID(store.MailboxInfo{ID: ch.e.id})
		switch ch.kind {
		case 0:
			resp.Created = append(resp.Created, id)
		case 1:
			resp.Updated = append(resp.Updated, id)
		default:
			resp.Destroyed = append(resp.Destroyed, id)
		}
	}
	resp.NewState = next.encode('m')
	out := map[string]any{}
	b, _ := json.Marshal(resp)
	json.Unmarshal(b, &out)
	out["updatedProperties"] = nil
	if countsOnly && len(resp.Updated) > 0 {
		out["updatedProperties"] = []string{"totalEmails", "unreadEmails", "totalThreads", "unreadThreads"}
	}
	return out, nil
}

// mailboxFilter is a Mailbox FilterCondition (RFC 8621 §2.3).
type mailboxFilter struct {
	ParentID     *json.RawMessage `json:"parentId"`
	Name         *string          `json:"name"`
	Role         *json.RawMessage `json:"role"`
	HasAnyRole   *bool            `json:"hasAnyRole"`
	IsSubscribed *bool            `json:"isSubscribed"`
}

type mboxItem struct {
	mb     store.MailboxInfo
	parent string // JMAP id of the parent, "" for none
	order  int
}

func (c *call) mailboxItems() ([]mboxItem, error) {
	l, err := c.list()
	if err != nil {
		return nil, err
	}
	orders := c.sortOrders()
	byName := map[string]store.MailboxInfo{}
	for _, mb := range l {
		byName[mb.Name] = mb
	}
	items := make([]mboxItem, 0, len(l))
	for _, mb := range l {
		it := mboxItem{mb: mb, order: sortOrderOf(mb, orders)}
		if p, ok := byName[parentName(mb.Name)]; ok && parentName(mb.Name) != "" {
			it.parent = mailboxID(p)
		}
		items = append(items, it)
	}
	return items, nil
}

func compileMailboxFilter(raw json.RawMessage) (func(mboxItem) bool, error) {
	return compileFilter(raw, func(r json.RawMessage) (func(mboxItem) bool, error) {
		var f mailboxFilter
		if err := decodeCondition(r, &f); err != nil {
			return nil, err
		}
		var parent *string
		parentSet := f.ParentID != nil
		if parentSet && string(*f.ParentID) != "null" {
			var s string
			if json.Unmarshal(*f.ParentID, &s) != nil {
				return nil, invalidArgs("filter parentId must be a string or null")
			}
			parent = &s
		}
		var role *string
		roleSet := f.Role != nil
		if roleSet && string(*f.Role) != "null" {
			var s string
			if json.Unmarshal(*f.Role, &s) != nil {
				return nil, invalidArgs("filter role must be a string or null")
			}
			role = &s
		}
		return func(it mboxItem) bool {
			if parentSet && (parent == nil && it.parent != "" || parent != nil && it.parent != *parent) {
				return false
			}
			if f.Name != nil && !strings.Contains(strings.ToLower(leafName(it.mb.Name)), strings.ToLower(*f.Name)) {
				return false
			}
			r := roleOf(it.mb)
			if roleSet && (role == nil && r != "" || role != nil && r != *role) {
				return false
			}
			if f.HasAnyRole != nil && (r != "") != *f.HasAnyRole {
				return false
			}
			if f.IsSubscribed != nil && it.mb.Subscribed != *f.IsSubscribed {
				return false
			}
			return true
		}, nil
	})
}

// mailboxResults runs a Mailbox query: filter, sort (sortOrder, name;
// sortAsTree puts each parent before its children).
func (c *call) mailboxResults(filter json.RawMessage, sortBy []comparator, sortAsTree, filterAsTree bool) ([]string, error) {
	match, err := compileMailboxFilter(filter)
	if err != nil {
		return nil, err
	}
	for _, k := range sortBy {
		if k.Property != "sortOrder" && k.Property != "name" {
			return nil, mErr(meUnsupportedSort, fmt.Sprintf("cannot sort Mailboxes by %q", k.Property))
		}
	}
	items, err := c.mailboxItems()
	if err != nil {
		return nil, err
	}
	cmp := func(x, y mboxItem) int {
		for _, k := range sortBy {
			d := 0
			if k.Property == "sortOrder" {
				d = x.order - y.order
			} else {
				d = strings.Compare(strings.ToLower(leafName(x.mb.Name)), strings.ToLower(leafName(y.mb.Name)))
			}
			if !k.ascending() {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return int(min(max(x.mb.ID-y.mb.ID, -1), 1))
	}
	byID := map[string]mboxItem{}
	for _, it := range items {
		byID[mailboxID(it.mb)] = it
	}
	matched := map[string]bool{}
	for _, it := range items {
		matched[mailboxID(it.mb)] = match(it)
	}
	if filterAsTree {
		// A mailbox whose ancestor does not match is left out too.
		for id := range matched {
			for p := byID[id].parent; p != "" && matched[id]; p = byID[p].parent {
				if !matched[p] {
					matched[id] = false
				}
			}
		}
	}
	var out []string
	if sortAsTree {
		var walk func(parent string)
		walk = func(parent string) {
			var kids []mboxItem
			for _, it := range items {
				if it.parent == parent {
					kids = append(kids, it)
				}
			}
			slices.SortFunc(kids, cmp)
			for _, k := range kids {
				if id := mailboxID(k.mb); matched[id] {
					out = append(out, id)
				}
				walk(mailboxID(k.mb))
			}
		}
		walk("")
	} else {
		slices.SortFunc(items, cmp)
		for _, it := range items {
			if id := mailboxID(it.mb); matched[id] {
				out = append(out, id)
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func (c *call) mailboxQuery(raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if a.CollapseThreads {
		return nil, invalidArgs("collapseThreads is an Email/query argument")
	}
	ids, err := c.mailboxResults(a.Filter, a.Sort, a.SortAsTree, a.FilterAsTree)
	if err != nil {
		return nil, err
	}
	pos, page, err := window(ids, a)
	if err != nil {
		return nil, err
	}
	state, err := c.mailboxState()
	if err != nil {
		return nil, err
	}
	resp := queryResponse{AccountID: a.AccountID, QueryState: state, CanCalculateChanges: true, Position: pos, IDs: page}
	if a.CalculateTotal {
		n := len(ids)
		resp.Total = &n
	}
	return resp, nil
}

func (c *call) mailboxQueryChanges(raw json.RawMessage) (any, error) {
	var a queryChangesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	chRaw, _ := json.Marshal(changesArgs{AccountID: a.AccountID, SinceState: a.SinceQueryState})
	ch, err := c.mailboxChanges(chRaw)
	if err != nil {
		return nil, err
	}
	m := ch.(map[string]any)
	changed := map[string]bool{}
	for _, k := range []string{"created", "updated", "destroyed"} {
		for _, id := range m[k].([]any) {
			changed[id.(string)] = true
		}
	}
	ids, err := c.mailboxResults(a.Filter, a.Sort, a.SortAsTree, a.FilterAsTree)
	if err != nil {
		return nil, err
	}
	removed, added, err := queryChangesFrom(changed, ids, a)
	if err != nil {
		return nil, err
	}
	resp := queryChangesResponse{AccountID: a.AccountID, OldQueryState: a.SinceQueryState,
		NewQueryState: m["newState"].(string), Removed: removed, Added: added}
	if a.CalculateTotal {
		n := len(ids)
		resp.Total = &n
	}
	return resp, nil
}

// mailboxCreate is a Mailbox create or update object.
type mailboxPatch struct {
	Name         *string          `json:"name"`
	ParentID     *json.RawMessage `json:"parentId"`
	Role         *json.RawMessage `json:"role"`
	SortOrder    *int             `json:"sortOrder"`
	IsSubscribed *bool            `json:"isSubscribed"`
}

// checkServerSet refuses server-set properties in a create or update.
func checkServerSet(obj map[string]json.RawMessage, serverSet ...string) *setError {
	for _, p := range serverSet {
		if _, ok := obj[p]; ok {
			return seInvalid(p+" is set by the server", p)
		}
	}
	return nil
}

func (c *call) mailboxSet(raw json.RawMessage) (any, error) {
	var a struct {
		setArgs
		OnDestroyRemoveEmails bool `json:"onDestroyRemoveEmails"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.limits.MaxObjectsInSet {
		return nil, mErr(meRequestTooLarge, fmt.Sprintf("at most %d objects per set", c.s.limits.MaxObjectsInSet))
	}
	old, err := c.mailboxState()
	if err != nil {
		return nil, err
	}
	if a.IfInState != nil && *a.IfInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return nil, err
	}
	resp := newSetResponse(a.AccountID, old)
	// Creates: parents first, so a child may name a parent created in the
	// same call ("#cid").
	pending := maps2slice(a.Create)
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var later []string
		for _, cid := range pending {
			obj := a.Create[cid]
			var p mailboxPatch
			if err := decodeArgs(obj, &p); err != nil {
				resp.NotCreated[cid] = seInvalid(err.(*methodError).Description)
				progress = true
				continue
			}
			if p.ParentID != nil {
				var pid string
				if json.Unmarshal(*p.ParentID, &pid) == nil && strings.HasPrefix(pid, "#") {
					if _, ok := c.created[pid[1:]]; !ok && a.Create[pid[1:]] != nil && resp.NotCreated[pid[1:]] == nil {
						later = append(later, cid)
						continue
					}
				}
			}
			progress = true
			info, se := c.createMailbox(mbs, obj, p)
			if se != nil {
				resp.NotCreated[cid] = se
				continue
			}
			id := mailboxID(info)
			c.created[cid] = id
			resp.Created[cid] = map[string]any{"id": id, "sortOrder": defaultSortOrder(info),
				"totalEmails": 0, "unreadEmails": 0, "totalThreads": 0, "unreadThreads": 0,
				"myRights": c.myRights(info.ID), "isSubscribed": info.Subscribed, "role": nilIfEmpty(roleOf(info))}
			if p.SortOrder != nil {
				resp.Created[cid].(map[string]any)["sortOrder"] = *p.SortOrder
			}
		}
		pending = later
	}
	for _, cid := range pending {
		resp.NotCreated[cid] = seInvalid("parentId names a mailbox that was not created", "parentId")
	}
	for id, patch := range a.Update {
		if se := c.updateMailbox(mbs, id, patch); se != nil {
			resp.NotUpdated[id] = se
			continue
		}
		resp.Updated[id] = nil
	}
	for _, id := range a.Destroy {
		if se := c.destroyMailbox(mbs, id, a.OnDestroyRemoveEmails); se != nil {
			resp.NotDestroyed[id] = se
			continue
		}
		resp.Destroyed = append(resp.Destroyed, id)
	}
	c.invalidate()
	if resp.NewState, err = c.mailboxState(); err != nil {
		return nil, err
	}
	return resp, nil
}

func maps2slice(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// validLeaf checks a Mailbox name (one level; the separator is ours).
func validLeaf(name string) *setError {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return seInvalid("name must not be empty", "name")
	case !utf8.ValidString(name) || len(name) > maxMailboxNameOctets:
		return seInvalid(fmt.Sprintf("name must be UTF-8 of at most %d octets", maxMailboxNameOctets), "name")
	case strings.ContainsRune(name, store.HierarchySeparator):
		return seInvalid(`name must not contain "/" (the hierarchy separator); use parentId`, "name")
	case strings.ContainsAny(name, "\x00\r\n*%"):
		return seInvalid("name contains a character mailbox names may not have", "name")
	}
	return nil
}

// parentFullName resolves a parentId value to the parent's full name.
func (c *call) parentFullName(raw *json.RawMessage) (string, *setError) {
	if raw == nil || string(*raw) == "null" {
		return "", nil
	}
	var pid string
	if json.Unmarshal(*raw, &pid) != nil {
		return "", seInvalid("parentId must be a Mailbox id or null", "parentId")
	}
	mb, ok, err := c.mailboxByJMAPID(pid)
	if err != nil || !ok {
		return "", seInvalid("parentId names no mailbox", "parentId")
	}
	return mb.Name, nil
}

func storeSetError(err error, prop string) *setError {
	switch {
	case errors.Is(err, store.ErrMailboxExists):
		return &setError{Type: "alreadyExists", Description: "a mailbox with this name already exists", Properties: []string{prop}}
	case errors.Is(err, store.ErrInvalidName):
		return seInvalid("the mailbox name is not valid", prop)
	case errors.Is(err, store.ErrNoSuchMailbox):
		return seNotFound("no such mailbox")
	}
	return &setError{Type: "serverFail", Description: err.Error()}
}

func (c *call) createMailbox(mbs store.Mailboxes, obj json.RawMessage, p mailboxPatch) (store.MailboxInfo, *setError) {
	var all map[string]json.RawMessage
	json.Unmarshal(obj, &all)
	if se := checkServerSet(all, "id", "totalEmails", "unreadEmails", "totalThreads", "unreadThreads", "myRights"); se != nil {
		return store.MailboxInfo{}, se
	}
	if p.Name == nil {
		return store.MailboxInfo{}, seInvalid("name is required", "name")
	}
	if se := validLeaf(*p.Name); se != nil {
		return store.MailboxInfo{}, se
	}
	parent, se := c.parentFullName(p.ParentID)
	if se != nil {
		return store.MailboxInfo{}, se
	}
	var parentRights store.Rights
	if c.rights != nil {
		// In a shared account: k on the parent (RFC 4314 §4 CREATE);
		// no role, no new top-level mailbox.
		pm, _, _ := c.mailboxByJMAPID(jsonString(p.ParentID))
		switch {
		case parent == "":
			return store.MailboxInfo{}, forbidden("no mailbox can be made at the top of another user's account")
		case !c.may(pm.ID, store.RightCreate):
			return store.MailboxInfo{}, forbidden("no right to create mailboxes below %s (ACL right k)", leafName(parent))
		case p.Role != nil && string(*p.Role) != "null":
			return store.MailboxInfo{}, forbidden("roles are the owner's to give")
		case p.SortOrder != nil:
			return store.MailboxInfo{}, forbidden("sortOrder is the owner's to set")
		}
		parentRights = c.rights[pm.ID]
	}
	full := *p.Name
	if parent != "" {
		full = parent + string(store.HierarchySeparator) + full
	}
	special := ""
	if p.Role != nil && string(*p.Role) != "null" {
		var role string
		json.Unmarshal(*p.Role, &role)
		su, ok := specialUseOf(role)
		if !ok {
			return store.MailboxInfo{}, seInvalid(fmt.Sprintf("role %q cannot be given to a new mailbox", role), "role")
		}
		l, _ := c.list()
		for _, mb := range l {
			if roleOf(mb) == role {
				return store.MailboxInfo{}, seInvalid("another mailbox has role "+role, "role")
			}
		}
		special = su
	}
	info, err := mbs.Create(c.ctx, full, special)
	if err != nil {
		return store.MailboxInfo{}, storeSetError(err, "name")
	}
	c.invalidate()
	if c.rights != nil {
		// The new mailbox takes its parent's ACL (as Dovecot does), so
		// the user who made it keeps the rights they had there.
		if err := c.copyParentACL(parent, full); err != nil {
			return store.MailboxInfo{}, &setError{Type: "serverFail", Description: err.Error()}
		}
		c.rights[info.ID] = parentRights
	}
	if p.IsSubscribed != nil {
		if err := c.setSubscribed(mbs, full, *p.IsSubscribed); err == nil {
			info.Subscribed = *p.IsSubscribed
		}
	}
	if p.SortOrder != nil {
		orders := c.sortOrders()
		if orders == nil {
			orders = map[int64]int{}
		}
		orders[info.ID] = *p.SortOrder
		c.writeSortOrders(orders)
	}
	return info, nil
}

func (c *call) updateMailbox(mbs store.Mailboxes, id string, patch map[string]json.RawMessage) *setError {
	mb, ok, err := c.mailboxByJMAPID(id)
	if err != nil {
		return &setError{Type: "serverFail", Description: err.Error()}
	}
	if !ok {
		return seNotFound("no mailbox " + id)
	}
	if se := checkServerSet(patch, "id", "totalEmails", "unreadEmails", "totalThreads", "unreadThreads", "myRights"); se != nil {
		return se
	}
	b, _ := json.Marshal(patch)
	var p mailboxPatch
	if err := decodeArgs(b, &p); err != nil {
		return seInvalid(err.(*methodError).Description)
	}
	if _, ok := patch["role"]; ok {
		var role *string
		json.Unmarshal(patch["role"], &role)
		if cur := roleOf(mb); (role == nil && cur != "") || (role != nil && *role != cur) {
			return seInvalid("the role of an existing mailbox cannot be changed here", "role")
		}
	}
	_, parentGiven := patch["parentId"]
	if c.rights != nil && p.SortOrder != nil {
		return forbidden("sortOrder is the owner's to set")
	}
	if p.Name != nil || parentGiven {
		leaf, parent := leafName(mb.Name), parentName(mb.Name)
		if p.Name != nil {
			if se := validLeaf(*p.Name); se != nil {
				return se
			}
			leaf = *p.Name
		}
		if parentGiven {
			var se *setError
			if parent, se = c.parentFullName(p.ParentID); se != nil {
				return se
			}
			if parent == mb.Name || strings.HasPrefix(parent, mb.Name+string(store.HierarchySeparator)) {
				return seInvalid("a mailbox cannot move below itself", "parentId")
			}
			if c.rights != nil && parent != parentName(mb.Name) {
				// RFC 4314 §4 RENAME: k on the new parent.
				pm, _, _ := c.mailboxByJMAPID(jsonString(p.ParentID))
				if parent == "" || !c.may(pm.ID, store.RightCreate) {
					return forbidden("no right to create mailboxes there (ACL right k)")
				}
			}
		}
		full := leaf
		if parent != "" {
			full = parent + string(store.HierarchySeparator) + leaf
		}
		if strings.EqualFold(mb.Name, store.InboxName) && full != mb.Name {
			return &setError{Type: "forbidden", Description: "INBOX cannot be renamed through JMAP (IMAP RENAME INBOX moves its messages instead)"}
		}
		if full != mb.Name {
			if !c.may(mb.ID, store.RightDeleteMailbox) {
				return forbidden("no right to rename this mailbox (ACL right x)")
			}
			if err := mbs.Rename(c.ctx, mb.Name, full); err != nil {
				return storeSetError(err, "name")
			}
			mb.Name = full
			c.invalidate()
		}
	}
	if p.IsSubscribed != nil && *p.IsSubscribed != mb.Subscribed {
		if err := c.setSubscribed(mbs, mb.Name, *p.IsSubscribed); err != nil {
			return storeSetError(err, "isSubscribed")
		}
		c.invalidate()
	}
	if p.SortOrder != nil {
		if *p.SortOrder < 0 {
			return seInvalid("sortOrder must not be negative", "sortOrder")
		}
		orders := c.sortOrders()
		if orders == nil {
			orders = map[int64]int{}
		}
		orders[mb.ID] = *p.SortOrder
		if err := c.writeSortOrders(orders); err != nil {
			return seInvalid(err.Error(), "sortOrder")
		}
	}
	return nil
}

func (c *call) destroyMailbox(mbs store.Mailboxes, id string, removeEmails bool) *setError {
	mb, ok, err := c.mailboxByJMAPID(id)
	if err != nil {
		return &setError{Type: "serverFail", Description: err.Error()}
	}
	if !ok {
		return seNotFound("no mailbox " + id)
	}
	if strings.EqualFold(mb.Name, store.InboxName) {
		return &setError{Type: "forbidden", Description: "INBOX cannot be destroyed"}
	}
	if !c.may(mb.ID, store.RightDeleteMailbox) {
		return forbidden("no right to delete this mailbox (ACL right x)")
	}
	l, _ := c.list()
	for _, o := range l {
		if strings.HasPrefix(o.Name, mb.Name+string(store.HierarchySeparator)) {
			return &setError{Type: "mailboxHasChild", Description: "the mailbox has child mailboxes"}
		}
	}
	if !removeEmails {
		st, err := mbs.Status(c.ctx, mb.Name)
		if err != nil {
			return storeSetError(err, "id")
		}
		if st.Messages > 0 {
			return &setError{Type: "mailboxHasEmail", Description: fmt.Sprintf("the mailbox holds %d emails (set onDestroyRemoveEmails to remove them)", st.Messages)}
		}
	}
	if err := mbs.Delete(c.ctx, mb.Name); err != nil {
		if errors.Is(err, store.ErrMailboxHasChildren) {
			return &setError{Type: "mailboxHasChild", Description: "the mailbox has child mailboxes"}
		}
		return storeSetError(err, "id")
	}
	c.invalidate()
	return nil
}

// threadCount is a Mailbox's totalThreads and unreadThreads: the threads
// with an Email in the mailbox, and those of them with an unread Email in
// the mailbox (RFC 8621 §2 counts unread Emails of the thread anywhere;
// here only the mailbox's own are looked at).
type threadCount struct {
	modseq        store.ModSeq
	total, unread int
}

// threadCounts reads the thread of every message of the mailbox, once
// per HIGHESTMODSEQ (Server.threadCounts keeps the answer).
func (c *call) threadCounts(mb store.MailboxInfo) (threadCount, error) {
	c.s.tcMu.Lock()
	tc, ok := c.s.tc[mb.ID]
	c.s.tcMu.Unlock()
	if ok && tc.modseq == mb.HighestModSeq {
		return tc, nil
	}
	mbs, err := c.mailboxes()
	if err != nil {
		return tc, err
	}
	h, err := mbs.Open(c.ctx, mb.Name)
	if err != nil {
		return tc, err
	}
	msgs, err := c.s.lists.messages(c.ctx, h, mb)
	if err != nil {
		return tc, err
	}
	uids := make([]store.UID, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	ds, err := c.idsOfRows(h, uids)
	if err != nil {
		return tc, err
	}
	all, unread := map[string]bool{}, map[string]bool{}
	for _, d := range ds {
		all[d.ThreadID] = true
		if !slices.Contains(d.Flags, store.FlagSeen) {
			unread[d.ThreadID] = true
		}
	}
	tc = threadCount{modseq: mb.HighestModSeq, total: len(all), unread: len(unread)}
	c.s.tcMu.Lock()
	if len(c.s.tc) > 10000 {
		clear(c.s.tc)
	}
	c.s.tc[mb.ID] = tc
	c.s.tcMu.Unlock()
	return tc, nil
}
