package store

import "context"

// RecentMarks is implemented by the Mailboxes handles of drivers that can
// tell in one query which of the account's mailboxes hold messages no
// session has claimed as \Recent yet (Mailbox.RecentFrom below UIDNEXT:
// they arrived after the last SELECT). IMAP LIST shows those \Marked
// (RFC 3501 §7.2.2); without the interface it asks RecentFrom per mailbox.
type RecentMarks interface {
	// Unclaimed returns the IDs of those mailboxes.
	Unclaimed(ctx context.Context) (map[int64]bool, error)
}
