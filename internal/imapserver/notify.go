package imapserver

import (
	"errors"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// NOTIFY (RFC 5465): the client names mailboxes (filters) and the events it
// wants to hear about; the session tells it about changes to mailboxes other
// than the selected one (untagged STATUS and LIST), while IDLE, between
// commands and before a command's tagged response.
//
// Like the rest of the session it runs on the change feed, a signal: a
// MailboxChanged for a watched mailbox makes the session ask the store for
// that mailbox's STATUS and compare it with what it last told the client;
// MailboxCreated/Deleted/Renamed make it list the mailboxes again and diff
// them (by mailbox ID) against the list it last told; SubscriptionChanged
// makes it read the subscriptions again and diff them; MetadataChanged
// names the METADATA entry to announce (notify_metadata.go). Nothing polls:
// with no signal the session runs no store query.

// notifyEvents are the events this server supports (RFC 5465 §3.1: a NOTIFY
// naming any other is answered NO [BADEVENT (these)]). AnnotationChange
// needs ANNOTATE (RFC 5257), which the server lacks.
var notifyEvents = []string{
	imap.EventMessageNew, imap.EventMessageExpunge, imap.EventFlagChange,
	imap.EventMailboxName, imap.EventSubscriptionChange,
}

// notifyMetadataEvents are supported too when the store keeps METADATA
// (METADATA and METADATA-SERVER are advertised then, and RFC 5465 §5.6-5.7
// make these events REQUIRED with them); see notify_metadata.go.
var notifyMetadataEvents = []string{imap.EventMailboxMetadataChange, imap.EventServerMetadataChange}

// notifySupported lists the events this session's server supports.
func (s *session) notifySupported() []string {
	if _, ok := s.srv.opts.Store.(store.Metadata); ok {
		return append(slices.Clone(notifyEvents), notifyMetadataEvents...)
	}
	return notifyEvents
}

// notifyOverflowLimit bounds the feed events and the responses one round
// may accumulate for a session: past it the session has fallen behind, says
// "* OK [NOTIFICATIONOVERFLOW]" and stops notifying, as after NOTIFY NONE
// (RFC 5465 §5.8). Tests lower it.
var notifyOverflowLimit = 10000

// event bits of one group.
type notifyEventSet uint8

const (
	evMessage      notifyEventSet = 1 << iota // MessageNew and MessageExpunge (always together, §5)
	evFlags                                   // FlagChange
	evMailboxName                             // MailboxName
	evSubscription                            // SubscriptionChange
	evMailboxMeta                             // MailboxMetadataChange
	evServerMeta                              // ServerMetadataChange
)

// notifyGroup is one parsed event group.
type notifyGroup struct {
	filter    string
	mailboxes []string
	events    notifyEventSet
}

// notifyState is what NOTIFY set up, and what the client was last told.
type notifyState struct {
	// groups are the filters other than selected/selected-delayed, in the
	// order given (the first one that matches a mailbox decides, a NONE
	// group included).
	groups []notifyGroup
	// sel is the selected/selected-delayed group; nil means SELECTED NONE
	// (§3.1): no message events for the selected mailbox outside what a
	// command's completion reports anyway.
	sel       *notifyGroup
	delayed   bool             // selected-delayed: EXPUNGE only when RFC 3501 §7.4.1 allows
	fetchAtts []imap.FetchItem // MessageNew's fetch-atts for the selected mailbox

	needList, needSubs bool
	// mailboxMeta: some group has MailboxMetadataChange; serverMeta: some
	// group has ServerMetadataChange (it names no mailbox, so any group
	// but selected/selected-delayed may carry it).
	mailboxMeta, serverMeta bool

	// What the client was last told (or the starting point).
	boxes  map[int64]store.MailboxInfo   // by mailbox ID
	subs   map[string]bool               // subscribed names
	status map[int64]store.MailboxStatus // last STATUS of a watched mailbox

	// Pending work, set by the feed.
	dirty     map[int64]bool // non-selected mailboxes that changed
	listDirty bool
	subsDirty bool
	meta      map[int64]*metaPending // METADATA changes not yet told, by mailbox ID (0: server)
	events    int                    // feed events since the last round (overflow bound)
}

// active reports whether any notification may be sent outside commands.
func (n *notifyState) active() bool { return n != nil && (len(n.groups) > 0 || n.sel != nil) }

// cmdNotify: NOTIFY NONE / NOTIFY SET [STATUS] (RFC 5465 §3.1).
func (s *session) cmdNotify(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.NotifyArgs)
	// What the feed brought before this command belongs to the old set
	// (or none): the new one starts from the state read below, and a
	// change made before it (a METADATA write, which has no state to
	// compare with) must not be told as if it came after.
	s.drainFeed()
	if a.None {
		s.notify = &notifyState{}
		return "", nil
	}
	n := &notifyState{dirty: map[int64]bool{}, meta: map[int64]*metaPending{}}
	_, hasMetadata := s.srv.opts.Store.(store.Metadata)
	for _, g := range a.Groups {
		ng := notifyGroup{filter: g.Filter, mailboxes: g.Mailboxes}
		for _, ev := range g.Events {
			switch ev.Name {
			case imap.EventMessageNew:
				ng.events |= evMessage
				if ev.FetchAtts != nil && (g.Filter == "selected" || g.Filter == "selected-delayed") {
					n.fetchAtts = ev.FetchAtts
				}
			case imap.EventMessageExpunge:
				ng.events |= evMessage
			case imap.EventFlagChange:
				ng.events |= evFlags
			case imap.EventMailboxName:
				ng.events |= evMailboxName
			case imap.EventSubscriptionChange:
				ng.events |= evSubscription
			case imap.EventMailboxMetadataChange, imap.EventServerMetadataChange:
				if !hasMetadata {
					return "", errNo("BADEVENT ("+strings.Join(s.notifySupported(), " ")+")", "Unsupported event "+ev.Name)
				}
				if ev.Name == imap.EventMailboxMetadataChange {
					ng.events |= evMailboxMeta
					n.mailboxMeta = true
				} else {
					ng.events |= evServerMeta
					n.serverMeta = true
				}
			default:
				// RFC 5465 §3.1: NO, not BAD, listing what is supported.
				return "", errNo("BADEVENT ("+strings.Join(s.notifySupported(), " ")+")", "Unsupported event "+ev.Name)
			}
		}
		switch g.Filter {
		case "selected", "selected-delayed":
			n.sel = &ng
			n.delayed = g.Filter == "selected-delayed"
		default:
			n.groups = append(n.groups, ng)
			if g.Filter == "subscribed" || ng.events&evSubscription != 0 {
				n.needSubs = true
			}
			n.needList = true
		}
	}
	for _, it := range n.fetchAtts {
		if it.Name == "MODSEQ" {
			s.enableCondstore()
		}
	}
	if err := n.load(s); err != nil {
		return "", err
	}
	// §3.1: with STATUS, a STATUS for every mailbox other than the selected
	// one for which message events are now enabled, before the tagged OK.
	for _, b := range n.sortedBoxes() {
		if s.sel != nil && b.ID == s.sel.id {
			continue
		}
		if n.match(b.Name, evMessage) {
			st, err := s.boxes.Status(s.ctx, b.Name)
			if errors.Is(err, store.ErrNoSuchMailbox) {
				continue
			} else if err != nil {
				return "", err
			}
			n.status[b.ID] = st
			if a.Status {
				s.writeNotifyStatus(st)
			}
		}
	}
	// The new set replaces the old one (§3.1); the implicit NOOP for the
	// selected mailbox is the end of this command (execute).
	s.notify = n
	return "", nil
}

// load reads the starting point: the mailboxes and subscriptions as they
// are now.
func (n *notifyState) load(s *session) error {
	n.boxes, n.subs, n.status = map[int64]store.MailboxInfo{}, map[string]bool{}, map[int64]store.MailboxStatus{}
	if !n.needList {
		return nil
	}
	boxes, err := s.boxes.List(s.ctx)
	if err != nil {
		return err
	}
	for _, b := range boxes {
		n.boxes[b.ID] = b
	}
	if n.needSubs {
		subs, err := s.boxes.Subscriptions(s.ctx)
		if err != nil {
			return err
		}
		for _, name := range subs {
			n.subs[name] = true
		}
	}
	return nil
}

func (n *notifyState) sortedBoxes() []store.MailboxInfo {
	out := make([]store.MailboxInfo, 0, len(n.boxes))
	for _, b := range n.boxes {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b store.MailboxInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// match reports whether an event of kind ev for the mailbox name (not the
// selected mailbox's message events, which go by n.sel) is to be told: the
// first group whose filter matches the mailbox decides (a NONE group
// silences it, RFC 5465 §5; mailboxes that do not exist simply never
// match, §6).
func (n *notifyState) match(name string, ev notifyEventSet) bool {
	return n.matchIn(n.subs, name, ev)
}

// matchIn is match with the subscriptions subs.
func (n *notifyState) matchIn(subs map[string]bool, name string, ev notifyEventSet) bool {
	for _, g := range n.groups {
		if !filterMatches(g, subs, name) {
			continue
		}
		if g.events == 0 {
			return false
		}
		if g.events&ev != 0 {
			return true
		}
	}
	return false
}

// filterMatches applies one mailbox filter (RFC 5465 §6.2-6.6).
func filterMatches(g notifyGroup, subs map[string]bool, name string) bool {
	switch g.filter {
	case "personal":
		return true // every mailbox is in the one personal namespace
	case "inboxes":
		// Mail is delivered to INBOX only (§6.3).
		return name == store.InboxName
	case "subscribed":
		return subs[name]
	case "subtree":
		for _, m := range g.mailboxes {
			if name == m || strings.HasPrefix(name, m+sep) {
				return true
			}
		}
	case "mailboxes":
		// No wildcard expansion (§6.6).
		return slices.Contains(g.mailboxes, name)
	}
	return false
}

// notifyNote records a feed event for NOTIFY (called for every event the
// session drains).
func (s *session) notifyNote(ch store.Change) {
	n := s.notify
	if !n.active() {
		return
	}
	n.events++
	switch ch.Kind {
	case store.MailboxChanged:
		if s.sel == nil || ch.MailboxID != s.sel.id {
			if st, ok := n.status[ch.MailboxID]; !ok || ch.ModSeq != st.HighestModSeq {
				n.dirty[ch.MailboxID] = true
			}
		}
	case store.MailboxCreated, store.MailboxDeleted, store.MailboxRenamed:
		n.listDirty = n.needList
		n.subsDirty = n.needSubs // a rename moves subscriptions
		n.dirty[ch.MailboxID] = true
	case store.SubscriptionChanged:
		n.subsDirty = n.needSubs
	case store.MetadataChanged:
		n.noteMetadata(ch)
	}
}

// notifyCommandDone runs before a command's tagged response: what the
// client did itself is taken as known (RFC 5465 §5: the server SHOULD
// omit notifying the client of its own changes), then what others did is
// told.
func (s *session) notifyCommandDone(cmd *imap.Command, ok bool) {
	n := s.notify
	if !n.active() || s.state == stateLogout {
		return // nothing after LOGOUT's BYE
	}
	s.drainFeed()
	if ok {
		var own []string
		switch a := cmd.Args.(type) {
		case *imap.CreateArgs:
			own = []string{a.Mailbox}
		case *imap.MailboxArgs: // DELETE, SUBSCRIBE, UNSUBSCRIBE
			own = []string{a.Mailbox}
		case *imap.RenameArgs:
			own = []string{a.From, a.To}
		case *imap.AppendArgs:
			s.notifyQuietStatus(a.Mailbox)
		case *imap.CopyArgs: // COPY, MOVE
			s.notifyQuietStatus(a.Mailbox)
		case *imap.SetMetadataArgs:
			s.notifyQuietMetadata(a)
		}
		if own != nil {
			// The named mailboxes, those below them (RENAME moves
			// children) and above them (CREATE makes missing parents).
			s.notifyDiff(func(name string) bool {
				for _, o := range own {
					if name == o || strings.HasPrefix(name, o+sep) || strings.HasPrefix(o, name+sep) {
						return true
					}
				}
				return false
			})
		}
	}
	s.notifyOthers()
}

// notifyQuietStatus takes the current STATUS of a mailbox the client
// changed itself as told.
func (s *session) notifyQuietStatus(name string) {
	n := s.notify
	name, err := existingName(name)
	if err != nil {
		return
	}
	for id, b := range n.boxes {
		if b.Name != name || !n.dirty[id] {
			continue
		}
		if st, err := s.boxes.Status(s.ctx, name); err == nil && st.ID == id {
			n.status[id] = st
			delete(n.dirty, id)
		}
	}
}

// notifyOthers tells what changed in mailboxes other than the selected one:
// names first (LIST, §5.4), then subscriptions (LIST, §5.5), then metadata
// (METADATA, §5.6-5.7, of the selected mailbox too), then counts (STATUS,
// §5.1-5.3).
func (s *session) notifyOthers() {
	n := s.notify
	if !n.active() {
		return
	}
	if n.events > notifyOverflowLimit {
		s.notifyOverflow()
		return
	}
	n.events = 0
	if n.listDirty || n.subsDirty {
		s.notifyDiff(nil)
	}
	if !s.notifyMetadata() {
		return // overflowed
	}
	if len(n.dirty) == 0 {
		return
	}
	ids := make([]int64, 0, len(n.dirty))
	for id := range n.dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sent := 0
	for _, id := range ids {
		delete(n.dirty, id)
		b, known := n.boxes[id]
		if !known || s.sel != nil && id == s.sel.id || !n.match(b.Name, evMessage) {
			continue
		}
		st, err := s.boxes.Status(s.ctx, b.Name)
		if err != nil || st.ID != id {
			continue // gone or renamed meanwhile: the name diff tells
		}
		old, had := n.status[id]
		n.status[id] = st
		counts := !had || st.Messages != old.Messages || st.UIDNext != old.UIDNext || st.UIDValidity != old.UIDValidity
		flags := st.Unseen != old.Unseen || st.HighestModSeq != old.HighestModSeq
		if counts || flags && n.match(b.Name, evFlags) {
			s.writeNotifyStatus(st)
			if sent++; sent > notifyOverflowLimit {
				s.notifyOverflow()
				return
			}
		}
	}
}

// notifyOverflow gives up on a client that fell behind (RFC 5465 §5.8):
// it is told once, and from then on the session behaves as after NOTIFY
// NONE.
func (s *session) notifyOverflow() {
	s.c.w.WriteStatus("", "OK", "NOTIFICATIONOVERFLOW", "Too many notifications pending, NOTIFY is now off")
	s.notify = &notifyState{}
}

// writeNotifyStatus writes the STATUS of a non-selected mailbox (RFC 5465
// §5.2: UIDNEXT MESSAGES; §5.1: UNSEEN for flag changes, and with
// CONDSTORE HIGHESTMODSEQ with UIDVALIDITY).
func (s *session) writeNotifyStatus(st store.MailboxStatus) {
	items := []string{imap.StatusMessages, imap.StatusUIDNext, imap.StatusUIDValidity, imap.StatusUnseen}
	if s.condstore {
		items = append(items, imap.StatusHighestModSeq)
	}
	s.writeStatus(st, items)
}

// notifyDiff lists the mailboxes and subscriptions again and tells the
// differences from what the client was last told: created, deleted and
// renamed mailboxes (LIST, RFC 5465 §5.4), subscriptions added or removed
// (LIST, §5.5). quiet names the client's own changes: they are taken as
// known without a response; nil means the diff is for others' changes.
func (s *session) notifyDiff(quiet func(name string) bool) {
	n := s.notify
	if !n.needList {
		return
	}
	boxes, err := s.boxes.List(s.ctx)
	if err != nil {
		s.log.Error("imap notify: list failed", "err", err)
		return
	}
	var subs map[string]bool
	if n.needSubs {
		names, err := s.boxes.Subscriptions(s.ctx)
		if err != nil {
			s.log.Error("imap notify: subscriptions failed", "err", err)
			return
		}
		subs = make(map[string]bool, len(names))
		for _, name := range names {
			subs[name] = true
		}
	}
	n.listDirty, n.subsDirty = false, false
	isQuiet := func(name string) bool { return quiet != nil && quiet(name) }
	cur := make(map[int64]store.MailboxInfo, len(boxes))
	children := map[string]bool{}
	for _, b := range boxes {
		cur[b.ID] = b
		for _, p := range store.ParentNames(b.Name) {
			children[p] = true
		}
	}
	told := map[string]bool{} // names a LIST went out for this round
	var newBoxes []store.MailboxInfo
	// Deleted (§5.4: LIST with \NonExistent), in name order.
	for _, old := range n.sortedBoxes() {
		if _, ok := cur[old.ID]; ok {
			continue
		}
		delete(n.boxes, old.ID)
		delete(n.status, old.ID)
		delete(n.dirty, old.ID)
		if !isQuiet(old.Name) && n.match(old.Name, evMailboxName) {
			s.writeNotifyList(old.Name, []string{`\NonExistent`}, "")
			told[old.Name] = true
		}
	}
	// Created and renamed, in name order.
	sorted := slices.Clone(boxes)
	slices.SortFunc(sorted, func(a, b store.MailboxInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, b := range sorted {
		old, known := n.boxes[b.ID]
		n.boxes[b.ID] = b
		switch {
		case !known:
			newBoxes = append(newBoxes, b)
			if !isQuiet(b.Name) && n.match(b.Name, evMailboxName) {
				s.writeNotifyList(b.Name, s.notifyAttrs(b, children, subs), "")
				told[b.Name] = true
			}
		case old.Name != b.Name:
			if !isQuiet(b.Name) && !isQuiet(old.Name) && (n.match(b.Name, evMailboxName) || n.match(old.Name, evMailboxName)) {
				s.writeNotifyList(b.Name, s.notifyAttrs(b, children, subs), old.Name)
				told[b.Name] = true
			}
		}
	}
	if subs != nil {
		var changed []string
		for name := range subs {
			if !n.subs[name] {
				changed = append(changed, name)
			}
		}
		for name := range n.subs {
			if !subs[name] {
				changed = append(changed, name)
			}
		}
		slices.Sort(changed)
		byName := make(map[string]store.MailboxInfo, len(boxes))
		for _, b := range boxes {
			byName[b.Name] = b
		}
		old := n.subs
		n.subs = subs
		for _, name := range changed {
			if told[name] || isQuiet(name) {
				continue
			}
			// Either side of the change: a subscribed filter matches
			// a name being unsubscribed too.
			if !n.matchIn(old, name, evSubscription) && !n.matchIn(subs, name, evSubscription) {
				continue
			}
			if b, ok := byName[name]; ok {
				s.writeNotifyList(name, s.notifyAttrs(b, children, subs), "")
			} else if subs[name] {
				s.writeNotifyList(name, []string{`\NonExistent`, `\Subscribed`}, "")
			} else {
				s.writeNotifyList(name, []string{`\NonExistent`}, "")
			}
		}
	}
	// Mailboxes new to the client are the starting point for their
	// STATUS notifications.
	for _, b := range newBoxes {
		if n.match(b.Name, evMessage) {
			if st, err := s.boxes.Status(s.ctx, b.Name); err == nil && st.ID == b.ID {
				n.status[b.ID] = st
			}
		}
	}
}

// notifyAttrs are the LIST attributes of an existing mailbox in a
// notification: children (RFC 5465 §5.4 SHOULD, RFC 3348), special use,
// \Subscribed (§5.4-5.5).
func (s *session) notifyAttrs(b store.MailboxInfo, children map[string]bool, subs map[string]bool) []string {
	var attrs []string
	if children[b.Name] {
		attrs = append(attrs, `\HasChildren`)
	} else {
		attrs = append(attrs, `\HasNoChildren`)
	}
	if b.SpecialUse != "" {
		attrs = append(attrs, b.SpecialUse)
	}
	if b.Subscribed || subs[b.Name] {
		attrs = append(attrs, `\Subscribed`)
	}
	return attrs
}

// writeNotifyList writes "* LIST (attrs) "/" name", with the OLDNAME
// extended data item after a rename (RFC 5465 §5.4, RFC 5258 §3.5).
func (s *session) writeNotifyList(name string, attrs []string, oldName string) {
	w := s.c.w
	w.StartUntagged()
	w.Raw("LIST ")
	w.Flags(attrs)
	w.Raw(` "/" `)
	w.Mailbox(name)
	if oldName != "" {
		w.Raw(` ("OLDNAME" (`)
		w.Mailbox(oldName)
		w.Raw("))")
	}
	w.CRLF()
}
