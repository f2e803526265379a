package imapserver

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// specialUses are the attributes CREATE-SPECIAL-USE accepts (RFC 6154 §2).
var specialUses = map[string]string{
	`\all`: store.SpecialAll, `\archive`: store.SpecialArchive, `\drafts`: store.SpecialDrafts,
	`\flagged`: store.SpecialFlagged, `\junk`: store.SpecialJunk, `\sent`: store.SpecialSent,
	`\trash`: store.SpecialTrash,
}

const sep = string(store.HierarchySeparator)

// canonicalName writes INBOX (any case, also as first level) as "INBOX" and
// drops one trailing separator (RFC 3501 §5.1, §6.3.3).
func canonicalName(name string) string {
	name = strings.TrimSuffix(name, sep)
	first, rest, hasRest := strings.Cut(name, sep)
	if strings.EqualFold(first, store.InboxName) {
		if hasRest {
			return store.InboxName + sep + rest
		}
		return store.InboxName
	}
	return name
}

// existingName is canonicalName for an argument that must name an existing
// mailbox. A well-formed name that is not valid modified UTF-7 (or UTF-8)
// names no mailbox: NO [NONEXISTENT], never BAD, which is for syntax errors
// (RFC 3501 §7.1.3, RFC 5530 §3; Dovecot answers NO too).
func existingName(arg string) (string, error) {
	if imap.IsInvalidName(arg) {
		return "", errNo("NONEXISTENT", "No such mailbox (invalid mailbox name)")
	}
	return canonicalName(arg), nil
}

// newName is canonicalName for the name of a mailbox to create (CREATE,
// RENAME's new name, SUBSCRIBE): an invalid name cannot be made,
// NO [CANNOT] (RFC 5530 §3).
func newName(arg string) (string, error) {
	if imap.IsInvalidName(arg) {
		return "", errNo("CANNOT", "Invalid mailbox name")
	}
	return canonicalName(arg), nil
}

// cmdCreate: CREATE (RFC 3501 §6.3.3) with the USE parameter
// (CREATE-SPECIAL-USE, RFC 6154 §3); the OK carries the new mailbox's
// MAILBOXID (RFC 8474 §4.1).
func (s *session) cmdCreate(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.CreateArgs)
	name, err := newName(a.Mailbox)
	if err != nil {
		return "", err
	}
	if name == store.InboxName {
		return "", errNo("ALREADYEXISTS", "INBOX always exists")
	}
	if name == "" {
		return "", errNo("CANNOT", "Invalid mailbox name")
	}
	use := ""
	switch len(a.SpecialUse) {
	case 0:
	case 1:
		u, ok := specialUses[strings.ToLower(a.SpecialUse[0])]
		if !ok {
			return "", errNo("USEATTR", "Unsupported special-use attribute")
		}
		use = u
	default:
		return "", errNo("USEATTR", "Only one special-use attribute per mailbox")
	}
	ref, err := s.lookupNew(name)
	if err != nil {
		return "", err
	}
	mi, err := ref.boxes.Create(s.ctx, ref.name, use)
	if err != nil {
		return "", err
	}
	// The new mailbox's MAILBOXID (RFC 8474 §4.1).
	return "MAILBOXID (" + mi.ObjectID() + ")", nil
}

// cmdDelete: DELETE (RFC 3501 §6.3.4). Deleting the selected mailbox
// deselects it.
func (s *session) cmdDelete(cmd *imap.Command) (string, error) {
	name, err := existingName(cmd.Args.(*imap.MailboxArgs).Mailbox)
	if err != nil {
		return "", err
	}
	if name == store.InboxName {
		return "", errNo("CANNOT", "INBOX cannot be deleted")
	}
	ref, err := s.lookupBox(name)
	if err != nil {
		return "", err
	}
	if err := ref.need(store.RightDeleteMailbox); err != nil {
		return "", err
	}
	info, err := ref.boxes.Get(s.ctx, ref.name)
	if err != nil {
		return "", err
	}
	if err := ref.boxes.Delete(s.ctx, ref.name); err != nil {
		return "", err
	}
	if s.sel != nil && s.sel.id == info.ID {
		s.deselect()
	}
	return "", nil
}

// cmdRename: RENAME (RFC 3501 §6.3.5); INBOX's messages move out and INBOX
// stays (the store implements it).
func (s *session) cmdRename(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.RenameArgs)
	from, err := existingName(a.From)
	if err != nil {
		return "", err
	}
	to, err := newName(a.To)
	if err != nil {
		return "", err
	}
	if to == store.InboxName {
		return "", errNo("ALREADYEXISTS", "INBOX always exists")
	}
	fromRef, err := s.lookupBox(from)
	if err != nil {
		return "", err
	}
	if err := fromRef.need(store.RightDeleteMailbox); err != nil {
		return "", err
	}
	toRef, err := s.lookupNew(to)
	if err != nil {
		return "", err
	}
	if toRef.owner != fromRef.owner {
		return "", errNo("CANNOT", "Cannot move a mailbox to another user")
	}
	if err := fromRef.boxes.Rename(s.ctx, fromRef.name, toRef.name); err != nil {
		return "", err
	}
	if s.sel != nil && s.selRef.owner == fromRef.owner && s.sel.name == fromRef.name && fromRef.name != store.InboxName {
		s.sel.name = toRef.name
	}
	return "", nil
}

// cmdSubscribe: SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.6-7).
func (s *session) cmdSubscribe(cmd *imap.Command) (string, error) {
	arg := cmd.Args.(*imap.MailboxArgs).Mailbox
	subscribe := cmd.Name == "SUBSCRIBE"
	name, err := existingName(arg)
	if subscribe {
		name, err = newName(arg)
	}
	if err != nil {
		return "", err
	}
	return "", s.boxes.SetSubscribed(s.ctx, name, subscribe)
}

// cmdNamespace: NAMESPACE (RFC 2342): the personal namespace and, when the
// store keeps ACLs, the Other Users namespace "shared/" (shared.go; the
// answer Dovecot gives with a shared namespace "shared/%u/").
func (s *session) cmdNamespace(cmd *imap.Command) (string, error) {
	if s.srv.acls != nil {
		s.c.w.Untagged(`NAMESPACE (("" "/")) (("` + sharedPrefix + `" "/")) NIL`)
		return "", nil
	}
	s.c.w.Untagged(`NAMESPACE (("" "/")) NIL NIL`)
	return "", nil
}

// cmdStatus: STATUS (RFC 3501 §6.3.10, RFC 9051 §6.3.11) with SIZE
// (RFC 8438), HIGHESTMODSEQ (RFC 7162 §3.1.6, a CONDSTORE enabling
// command) and MAILBOXID (RFC 8474 §4.2).
func (s *session) cmdStatus(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.StatusArgs)
	name, err := existingName(a.Mailbox)
	if err != nil {
		return "", err
	}
	ref, err := s.lookupBox(name)
	if err != nil {
		return "", err
	}
	if err := ref.need(store.RightRead); err != nil {
		return "", err
	}
	st, err := ref.boxes.Status(s.ctx, ref.name)
	if err != nil {
		return "", err
	}
	st.Name = ref.full
	for _, it := range a.Items {
		if it == imap.StatusHighestModSeq {
			s.enableCondstore()
		}
	}
	s.writeStatus(st, a.Items)
	return "", nil
}

// writeStatus writes "* STATUS name (items)".
func (s *session) writeStatus(st store.MailboxStatus, items []string) {
	w := s.c.w
	w.StartUntagged()
	w.Raw("STATUS ")
	w.Mailbox(st.Name)
	w.Raw(" (")
	for i, it := range items {
		if i > 0 {
			w.SP()
		}
		w.Atom(it)
		w.SP()
		switch it {
		case imap.StatusMessages:
			w.Number(uint64(st.Messages))
		case imap.StatusRecent:
			w.Number(uint64(st.Recent))
		case imap.StatusUIDNext:
			w.Number(uint64(st.UIDNext))
		case imap.StatusUIDValidity:
			w.Number(uint64(st.UIDValidity))
		case imap.StatusUnseen:
			w.Number(uint64(st.Unseen))
		case imap.StatusDeleted:
			w.Number(uint64(st.Deleted))
		case imap.StatusDeletedStorage:
			// Units of 1024 octets, like the STORAGE resource
			// (RFC 9208 §4.3, §5.1); what an EXPUNGE frees at least.
			w.Number(uint64(st.DeletedSize / 1024))
		case imap.StatusSize:
			w.Number(uint64(st.Size))
		case imap.StatusHighestModSeq:
			w.Number(uint64(st.HighestModSeq))
		case imap.StatusMailboxID:
			// RFC 8474 §4.2: MAILBOXID (objectid).
			w.Raw("(" + st.ObjectID() + ")")
		default:
			w.Number(0)
		}
	}
	w.CloseList()
	w.CRLF()
}

// listEntry is one line of a LIST answer.
type listEntry struct {
	name   string
	info   store.MailboxInfo
	exists bool // false for a parent implied by a child's name
	// inTree: the mailbox exists or is the parent of one (a plain LIST
	// shows it); false for a subscribed name that does not exist and for
	// the parents only such names imply.
	inTree     bool
	children   bool // has existing children
	subscribed bool
	childSub   bool // a descendant is subscribed (RECURSIVEMATCH, RFC 5258 §3.5)
}

// cmdList: LIST and LSUB (RFC 3501 §6.3.8-9, RFC 9051 §6.3.9) with
// LIST-EXTENDED selection and return options (RFC 5258), CHILDREN
// (RFC 3348), SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819).
func (s *session) cmdList(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ListArgs)
	lsub := cmd.Name == "LSUB"
	w := s.c.w
	if len(a.Patterns) == 1 && a.Patterns[0] == "" && a.Selection == (imap.ListSelection{}) {
		// The hierarchy delimiter and root (RFC 3501 §6.3.8).
		w.StartUntagged()
		w.Raw(cmd.Name)
		w.Raw(` (\Noselect) "/" ""`)
		w.CRLF()
		return "", nil
	}
	sel := a.Selection
	ret := a.Return
	if lsub {
		sel = imap.ListSelection{Subscribed: true}
	}
	boxes, err := s.boxes.List(s.ctx)
	if err != nil {
		return "", err
	}
	// Other users' mailboxes this user may look up (RFC 4314 §4: l),
	// named in the Other Users namespace.
	shared, err := s.sharedBoxes()
	if err != nil {
		return "", err
	}
	for name, sm := range shared {
		info := sm.Info
		info.Name, info.Subscribed = name, false
		boxes = append(boxes, info)
	}
	var subs []string
	if sel.Subscribed || ret.Subscribed && len(shared) > 0 {
		// Subscriptions outlive their mailboxes (RFC 3501 §6.3.6: DELETE
		// does not unsubscribe): LSUB and LIST (SUBSCRIBED) show every
		// subscribed name, those that do not exist as \NonExistent
		// (RFC 5258 §3).
		if subs, err = s.boxes.Subscriptions(s.ctx); err != nil {
			return "", err
		}
	}
	entries := buildListEntries(boxes, subs)
	if sel.RecursiveMatch && !sel.Subscribed {
		return "", errBad("RECURSIVEMATCH needs another selection option")
	}
	if ret.Status != nil {
		for _, it := range ret.Status {
			if it == imap.StatusHighestModSeq {
				s.enableCondstore()
			}
		}
	}
	// A reference or pattern that is not valid modified UTF-7 (or UTF-8)
	// matches nothing (Dovecot: OK, nothing listed).
	var patterns []string
	for _, p := range a.Patterns {
		if imap.IsInvalidName(a.Reference) || imap.IsInvalidName(p) {
			continue
		}
		patterns = append(patterns, canonicalPattern(a.Reference+p))
	}
	matches := func(name string) bool {
		for _, p := range patterns {
			if matchPattern(p, name) {
				return true
			}
		}
		return false
	}
	// unreturned: the parents of subscribed mailboxes that the patterns
	// do not return.
	var unreturned map[string]bool
	if sel.Subscribed && (lsub || sel.RecursiveMatch) {
		unreturned = map[string]bool{}
		for _, e := range entries {
			if e.subscribed && !matches(e.name) {
				for _, p := range store.ParentNames(e.name) {
					unreturned[p] = true
				}
			}
		}
	}
	var marked func(store.MailboxInfo) bool // \Marked, asked on first use
	for _, e := range entries {
		if !matches(e.name) || !e.inTree && !sel.Subscribed {
			continue
		}
		var attrs []string
		childInfo := false
		switch {
		case sel.Subscribed && !e.subscribed:
			// A parent of subscribed mailboxes the patterns do not
			// return: LSUB shows it \Noselect (RFC 3501 §6.3.9),
			// RECURSIVEMATCH with CHILDINFO. When they are all returned
			// it would be redundant and is left out (RFC 5258 §3.5:
			// "servers SHOULD suppress redundant CHILDINFO responses").
			if !unreturned[e.name] {
				continue
			}
			childInfo = sel.RecursiveMatch
			if lsub {
				attrs = append(attrs, `\Noselect`)
			}
		case sel.Subscribed && sel.RecursiveMatch && e.childSub:
			// Subscribed, with subscribed descendants: CHILDINFO too
			// (RFC 5258 §3.5, §5 example 5; as Dovecot).
			childInfo = true
		case sel.SpecialUse && e.info.SpecialUse == "":
			continue
		}
		if !e.exists && !lsub {
			if a.Extended || s.rev2 {
				attrs = append(attrs, `\NonExistent`)
			}
			attrs = append(attrs, `\Noselect`)
		}
		if !lsub {
			if e.children {
				attrs = append(attrs, `\HasChildren`)
			} else {
				attrs = append(attrs, `\HasNoChildren`)
			}
			if e.exists && marked == nil {
				marked = s.listMarks() // listmarked.go
			}
			if e.exists && marked(e.info) {
				attrs = append(attrs, `\Marked`)
			}
			if e.info.SpecialUse != "" && (!a.Extended || ret.SpecialUse || sel.SpecialUse) {
				attrs = append(attrs, e.info.SpecialUse)
			}
		}
		if (ret.Subscribed || sel.Subscribed) && e.subscribed && !lsub {
			attrs = append(attrs, `\Subscribed`)
		}
		w.StartUntagged()
		w.Raw(cmd.Name)
		w.SP()
		w.Flags(attrs)
		w.Raw(` "/" `)
		w.Mailbox(e.name)
		if childInfo {
			w.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
		}
		w.CRLF()
		sm, isShared := shared[e.name]
		if ret.Status != nil && e.exists {
			st, err := s.boxes.Status(s.ctx, e.name)
			if isShared {
				st, err = s.sharedStatus(sm)
			}
			if err == nil {
				st.Name = e.name
				s.writeStatus(st, ret.Status)
			}
		}
		if ret.MyRights && e.exists {
			// RFC 8440 §3: the rights after the mailbox's LIST response.
			rights := store.AllRights
			if isShared {
				rights = sm.Rights
			}
			s.writeMyRights(e.name, rights)
		}
	}
	return "", nil
}

// buildListEntries adds implied parents, the subscribed names that do not
// exist (subs, the account's subscriptions; nil when not needed) and the
// children/subscription relations, sorted by name with INBOX first.
func buildListEntries(boxes []store.MailboxInfo, subs []string) []*listEntry {
	byName := map[string]*listEntry{}
	entry := func(name string) *listEntry {
		e := byName[name]
		if e == nil {
			e = &listEntry{name: name}
			byName[name] = e
		}
		return e
	}
	for _, b := range boxes {
		e := entry(b.Name)
		e.info, e.exists, e.inTree = b, true, true
		e.subscribed = e.subscribed || b.Subscribed
	}
	for _, name := range subs {
		entry(name).subscribed = true
	}
	for _, b := range boxes {
		for _, parent := range store.ParentNames(b.Name) {
			pe := entry(parent)
			pe.children, pe.inTree = true, true
		}
	}
	for _, e := range slices.Collect(maps.Values(byName)) {
		if e.subscribed {
			for _, parent := range store.ParentNames(e.name) {
				entry(parent).childSub = true
			}
		}
	}
	out := make([]*listEntry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].name == store.InboxName) != (out[j].name == store.InboxName) {
			return out[i].name == store.InboxName
		}
		return out[i].name < out[j].name
	})
	return out
}

// canonicalPattern makes a leading INBOX level match case-insensitively.
func canonicalPattern(p string) string {
	first, rest, hasRest := strings.Cut(p, sep)
	if strings.EqualFold(first, store.InboxName) {
		if hasRest {
			return store.InboxName + sep + rest
		}
		return store.InboxName
	}
	return p
}

// matchPattern matches a LIST pattern: '*' matches anything, '%' anything
// but the hierarchy separator (RFC 3501 §6.3.8). Dynamic programming keeps
// hostile patterns linear in len(p)*len(name).
func matchPattern(p, name string) bool {
	// cur[j]: p[:i] matches name[:j].
	cur := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	cur[0] = true
	for i := 0; i < len(p); i++ {
		c := p[i]
		clear(next)
		switch c {
		case '*':
			run := false
			for j := 0; j <= len(name); j++ {
				run = run || cur[j]
				next[j] = run
			}
		case '%':
			run := false
			for j := 0; j <= len(name); j++ {
				if j > 0 && name[j-1] == store.HierarchySeparator {
					run = false
				}
				run = run || cur[j]
				next[j] = run
			}
		default:
			for j := 1; j <= len(name); j++ {
				next[j] = cur[j-1] && name[j-1] == c
			}
		}
		cur, next = next, cur
	}
	return cur[len(name)]
}
