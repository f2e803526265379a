package store

import (
	"context"
	"errors"
)

// METADATA (RFC 5464): annotations on a mailbox, or on the server when the
// mailbox name is ServerMetadata. An entry name is a lower-case path that
// starts with "/private" or "/shared" ("/private/comment"); the front end
// checks its syntax (RFC 5464 §3.2) and lower-cases it before it reaches
// the store, and the store compares names byte for byte.
//
// Entries are not message state: a write bumps no MODSEQ. They go with
// their mailbox: DELETE removes them, RENAME carries them (the mailbox
// keeps its ID), and RENAME of INBOX leaves them on INBOX, which stays
// (only its messages move). Server entries belong to the account and go
// with it.

// ServerMetadata names the server (account-wide) entries in the Metadata
// methods. It is the empty name GETMETADATA and SETMETADATA use for them;
// note that NormalizeMailbox would read "" as INBOX, so drivers test for
// it first.
const ServerMetadata = ""

// MetadataEntry is one entry and its value. Value is never nil in what
// GetMetadata returns; in SetMetadata a nil Value removes the entry (NIL).
// A value may hold any octets, NUL included (literal8).
type MetadataEntry struct {
	Name  string
	Value []byte
}

// MetadataLimits bound what SetMetadata may store. Zero fields mean no
// bound. A write that removes or shrinks entries is never refused, even
// when the account is over a bound (the bounds may have been lowered).
type MetadataLimits struct {
	// MaxEntries bounds the entries of one mailbox, and the server
	// entries of one account. Over it: ErrMetadataTooMany.
	MaxEntries int
	// MaxTotalSize bounds the octets (entry names plus values) of every
	// entry of the account, server entries included. Over it:
	// ErrMetadataOverQuota.
	MaxTotalSize int64
}

// Check refuses a write that grows the entry count (of its mailbox, or of
// the server entries) or the account's total size past a bound; one that
// does not grow them always passes, so removing entries works even after
// a limit was lowered. Drivers call it with the counts before and after
// the write, inside its transaction.
func (l MetadataLimits) Check(countBefore, count, totalBefore, total int64) error {
	if l.MaxEntries > 0 && count > int64(l.MaxEntries) && count > countBefore {
		return ErrMetadataTooMany
	}
	if l.MaxTotalSize > 0 && total > l.MaxTotalSize && total > totalBefore {
		return ErrMetadataOverQuota
	}
	return nil
}

var (
	// ErrMetadataTooMany: the write would leave more entries than
	// MetadataLimits.MaxEntries (RFC 5464 §4.3 [METADATA TOOMANY]).
	ErrMetadataTooMany = errors.New("store: too many metadata entries")
	// ErrMetadataOverQuota: the write would leave the account's entries
	// above MetadataLimits.MaxTotalSize (RFC 5530 [OVERQUOTA]).
	ErrMetadataOverQuota = errors.New("store: metadata storage of the account is full")
)

// Metadata is implemented by stores that keep METADATA entries. Front ends
// check for it once, with a type assertion on the Store, and advertise
// METADATA only when it is there.
type Metadata interface {
	// GetMetadata returns, sorted by name, the entries of mailbox
	// (ServerMetadata for the account's server entries) whose name is one
	// of names or lies below one of them (name + "/..."). A mailbox that
	// does not exist gives ErrNoSuchMailbox.
	GetMetadata(ctx context.Context, account, mailbox string, names []string) ([]MetadataEntry, error)
	// SetMetadata stores and removes (nil Value) entries of mailbox in one
	// transaction: all of them or, on any error, none. When it returns nil
	// a MetadataChanged event naming the entries is on the account's
	// change feed. Removing an entry that does not exist is no error.
	SetMetadata(ctx context.Context, account, mailbox string, entries []MetadataEntry, limits MetadataLimits) error
}
