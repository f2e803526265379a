package store

import "context"

// AccessKeys is an optional Store capability: the per-mailbox access keys
// of IMAP URLAUTH (RFC 4467 §7). A key authorizes the URLs GENURLAUTH made
// for its mailbox; RESETKEY discards it, which invalidates every one of
// them. Keys are random (AccessKeySize octets, well above the 128 bits
// §7 asks for), kept per account and mailbox, and go with the mailbox when
// it is deleted (a new mailbox of the same name never inherits them).
type AccessKeys interface {
	// MailboxAccessKey returns the key of account's mailbox. When the
	// mailbox has none, create makes and stores a new random one;
	// without create the answer is nil, nil. ErrNoSuchAccount,
	// ErrNoSuchMailbox as usual.
	MailboxAccessKey(ctx context.Context, account, mailbox string, create bool) ([]byte, error)
	// ResetAccessKeys discards the key of the named mailbox, or of every
	// mailbox of the account when mailbox is "" (RFC 4467 §6.1).
	ResetAccessKeys(ctx context.Context, account, mailbox string) error
}

// AccessKeySize is the length of a mailbox access key in octets.
const AccessKeySize = 32
