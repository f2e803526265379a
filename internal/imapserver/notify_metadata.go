package imapserver

import (
	"slices"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// NOTIFY's METADATA events (RFC 5465 §5.6 MailboxMetadataChange, §5.7
// ServerMetadataChange): when an entry of a mailbox the filters match, or
// a server entry, is set or removed, the session sends the unsolicited
// METADATA response of RFC 5464 §4.4.2, which names the changed entries
// without their values (the client asks GETMETADATA for those):
//
//	* METADATA "INBOX" /private/comment /shared/comment
//	* METADATA "" /shared/motd
//
// (metadata-resp with entry-list, RFC 5464 §5: no parentheses, unlike the
// entry-values of a GETMETADATA answer.) The changes come from the feed
// (store.MetadataChanged, one event per entry written, across PostgreSQL
// nodes too); nothing polls. Entries the client set itself with SETMETADATA
// are not echoed (RFC 5465 §5: the server SHOULD omit the client's own
// changes). An event without an entry name (a driver that could not carry
// it) is told as every entry the mailbox now has, as §5.6 allows when "the
// server can't detect a change to a single metadata item".

// metaPending are the METADATA changes of one mailbox (or the server) not
// yet told.
type metaPending struct {
	name    string          // mailbox name at the write ("" for the server or when not carried)
	entries map[string]bool // changed entry names (lower-case)
	all     bool            // a change without an entry name: tell every entry set
}

// noteMetadata records a MetadataChanged feed event the client asked for.
func (n *notifyState) noteMetadata(ch store.Change) {
	if ch.MailboxID == 0 && !n.serverMeta || ch.MailboxID != 0 && !n.mailboxMeta || n.meta == nil {
		return
	}
	p := n.meta[ch.MailboxID]
	if p == nil {
		p = &metaPending{entries: map[string]bool{}}
		n.meta[ch.MailboxID] = p
	}
	if ch.Mailbox != "" {
		p.name = ch.Mailbox
	}
	if ch.Entry == "" {
		p.all = true
	} else {
		p.entries[ch.Entry] = true
	}
}

// notifyQuietMetadata takes the entries a successful SETMETADATA of this
// session wrote as known (RFC 5465 §5: own changes are not echoed).
func (s *session) notifyQuietMetadata(a *imap.SetMetadataArgs) {
	n := s.notify
	if len(n.meta) == 0 {
		return
	}
	var id int64
	if a.Mailbox != "" {
		name, err := existingName(a.Mailbox)
		if err != nil {
			return
		}
		mi, err := s.boxes.Get(s.ctx, name)
		if err != nil {
			return
		}
		id = mi.ID
	}
	p := n.meta[id]
	if p == nil {
		return
	}
	for _, e := range a.Entries {
		delete(p.entries, lowerEntry(e.Name))
	}
	if len(p.entries) == 0 && !p.all {
		delete(n.meta, id)
	}
}

// notifyMetadata writes the pending METADATA changes, the server's first,
// then the mailboxes' by ID (creation order), each mailbox's entries in
// name order. A mailbox change is told when the mailbox still exists and
// the first group matching its current name has MailboxMetadataChange
// (RFC 5465 §5, §6); a server change needs no mailbox. It reports false
// when the session overflowed (§5.8) and must stop.
func (s *session) notifyMetadata() bool {
	n := s.notify
	if len(n.meta) == 0 {
		return true
	}
	ids := make([]int64, 0, len(n.meta))
	for id := range n.meta {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sent := 0
	for _, id := range ids {
		p := n.meta[id]
		delete(n.meta, id)
		mailbox := store.ServerMetadata
		if id != 0 {
			b, ok := n.boxes[id]
			if !ok || !n.match(b.Name, evMailboxMeta) {
				continue // deleted (its entries went with it) or not watched
			}
			mailbox = b.Name
		}
		entries := make([]string, 0, len(p.entries))
		for e := range p.entries {
			entries = append(entries, e)
		}
		if p.all {
			entries = s.metadataNames(mailbox, entries)
		}
		if len(entries) == 0 {
			continue
		}
		slices.Sort(entries)
		s.writeMetadataChanged(mailbox, slices.Compact(entries))
		if sent++; sent > notifyOverflowLimit {
			s.notifyOverflow()
			return false
		}
	}
	return true
}

// metadataNames adds the names of every entry mailbox has now to names.
func (s *session) metadataNames(mailbox string, names []string) []string {
	md, ok := s.srv.opts.Store.(store.Metadata)
	if !ok {
		return names
	}
	stored, err := md.GetMetadata(s.ctx, s.account.Name, mailbox, []string{"/private", "/shared"})
	if err != nil {
		s.log.Error("imap notify: metadata read failed", "mailbox", mailbox, "err", err)
		return names
	}
	for _, e := range stored {
		names = append(names, e.Name)
	}
	return names
}

// writeMetadataChanged writes the unsolicited "* METADATA mailbox entry
// ..." (RFC 5464 §4.4.2, entry-list of §5).
func (s *session) writeMetadataChanged(mailbox string, entries []string) {
	w := s.c.w
	w.StartUntagged()
	w.Raw("METADATA ")
	s.writeMetadataMailbox(mailbox)
	for _, e := range entries {
		w.SP()
		w.AString(e)
	}
	w.CRLF()
}
