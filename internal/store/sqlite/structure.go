package sqlite

import (
	"fmt"

	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// structureOf parses the spooled body with internal/mime (from the bytes
// Spool kept for the journal, else from its file) and returns
// the encoded part tree (ENVELOPE, BODYSTRUCTURE, part offsets) kept with
// the blob: computed once per body, at delivery, opaque to the store. The
// parser never fails on content; only an I/O error fails the delivery.
// With it comes the body's search signature (internal/search), from the
// same parse.
// With them come the preview and the message IDs threading needs.
func structureOf(tb tempBlob) (*blobfs.Analysis, error) {
	a, err := blobfs.AnalyzeTemp(tb)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &a, nil
}
