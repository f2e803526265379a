package imapserver

import "github.com/letterbox/letterbox/internal/store"

// marked reports whether LIST shows the mailbox \Marked (RFC 3501 §7.2.2,
// RFC 9051 §7.3.1: "probably contains messages that have been added since
// the last time the mailbox was selected"). The rule is \Recent's: a
// message no session has claimed yet (store.Mailbox.RecentFrom below
// UIDNEXT) arrived after the last SELECT; EXAMINE, STATUS and LIST do not
// claim, so they leave the mark. It is "probably": a message delivered
// and expunged again (POP3, another session's EXPUNGE) before the next
// SELECT leaves the mark on. \Unmarked is never sent (both attributes are
// optional hints): a mailbox without \Marked has nothing new as far as the
// server knows. Dovecot marks mbox mailboxes by file times and Maildir
// ones not at all; nothing else in IMAP depends on the hint.
//
// listMarks returns the test for one LIST: with store.RecentMarks one
// query answers for every mailbox of the account; without it, marked asks
// each mailbox (two reads apiece).
func (s *session) listMarks() func(store.MailboxInfo) bool {
	rm, ok := s.boxes.(store.RecentMarks)
	if !ok {
		return s.marked
	}
	ids, err := rm.Unclaimed(s.ctx)
	if err != nil {
		s.log.Warn("imap list: recent marks", "err", err)
		return func(store.MailboxInfo) bool { return false }
	}
	return func(info store.MailboxInfo) bool { return ids[info.ID] }
}

// marked is the per-mailbox test.
func (s *session) marked(info store.MailboxInfo) bool {
	if info.UIDNext <= 1 {
		return false // never had a message
	}
	mb, err := s.boxes.Open(s.ctx, info.Name)
	if err != nil {
		return false
	}
	from, err := mb.RecentFrom(s.ctx)
	return err == nil && from < info.UIDNext
}
