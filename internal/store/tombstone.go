package store

import "context"

// TombstoneObject is the object identity (RFC 8474) a message had when it
// was expunged: its tombstone keeps it for the mailbox's life, as it keeps
// the UID and MODSEQ.
type TombstoneObject struct {
	EmailID, ThreadID string
}

// TombstoneObjects is an optional capability of Mailbox handles: the
// identity of expunged messages, for front ends that name messages by
// email ID and must say which were destroyed (JMAP Email/changes, RFC 8621
// §4.3), long after the content is gone. Front ends check for it with a
// type assertion.
type TombstoneObjects interface {
	// TombstoneObjects maps each of uids that has a tombstone in this
	// mailbox to the identity its message had. UIDs without a tombstone
	// (live or never used), and tombstones from before identities were
	// kept, are absent.
	TombstoneObjects(ctx context.Context, uids []UID) (map[UID]TombstoneObject, error)
}
