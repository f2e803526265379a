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
