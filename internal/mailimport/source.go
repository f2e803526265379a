package mailimport

import (
	"context"
	"io"
	"time"
)

// Source is where mail comes from.
type Source interface {
	// ID names the source in the import state ("imap://user@host",
	// "maildir:/path"): state from another source is not used.
	ID() string
	// Mailboxes lists the source's mailboxes, INBOX first.
	Mailboxes(ctx context.Context) ([]*SourceMailbox, error)
	// Subscriptions lists the subscribed names ('/' separated).
	Subscriptions(ctx context.Context) ([]string, error)
	// Fetch calls fn for every message of mb with a UID above after, in
	// ascending UID order.
	Fetch(ctx context.Context, mb *SourceMailbox, after uint32, fn func(*SourceMessage) error) error
	Close() error
}

// SourceMailbox is one mailbox of a source.
type SourceMailbox struct {
	Name string // '/' separated; "INBOX"
	// UIDValidity of the source mailbox; 0 when it has none (mbox, a
	// Maildir without dovecot-uidlist): then UIDs are positions and are
	// not kept.
	UIDValidity uint32
	UIDNext     uint32 // the source's next UID (0: unknown)
	Messages    int    // count, for progress (-1: unknown)
	Bytes       int64  // total size, for progress (-1: unknown)

	handle any // the source's own data
}

// SourceMessage is one message to import.
type SourceMessage struct {
	UID   uint32
	Flags []string
	Date  time.Time
	Size  int64
	// Open returns the message's bytes.
	Open func() (io.ReadCloser, error)
}
