package sqlite

// structureOf returns the parsed MIME structure stored with a blob
// (internal/mime's encoding, opaque to the store). It is computed once per
// body, at delivery. Until internal/mime lands it records no structure; the
// IMAP server parses on demand when Structure is nil.
func structureOf(path string, size int64) []byte {
	return nil
}
