package store

import "context"

// TextSignature is the search signature a driver keeps with one stored
// content (internal/search's encoding, computed at delivery; opaque to the
// store, like the parsed structure).
type TextSignature struct {
	UID    UID
	BlobID string
	// Sig is nil when the content has none (stored before the driver kept
	// signatures): such a message must be searched the slow way.
	Sig []byte
}

// TextSignatures is implemented by the Mailbox handles of drivers that
// keep search signatures. Front ends check for it with a type assertion
// and fall back to reading every message when it is missing.
type TextSignatures interface {
	// TextSignatures returns, in ascending UID order, the blob and the
	// signature of the messages with the given UIDs, including those
	// Details would still return (expunged but pinned). UIDs with neither
	// are skipped.
	TextSignatures(ctx context.Context, uids []UID) ([]TextSignature, error)
}

// TextSignatureWriter is implemented by stores that let a reader keep a
// signature it computed itself, for content stored without one or with one
// of a version internal/search no longer reads: the next search, in any
// process or node, uses it instead of reading the content again. sigs maps
// blob IDs to signatures; an existing signature is replaced, a blob that
// no longer exists is skipped. The write is one transaction.
type TextSignatureWriter interface {
	PutTextSignatures(ctx context.Context, sigs map[string][]byte) error
}
