package sqlite

import (
	"fmt"

	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// structureOf parses the stored body at path with internal/mime and returns
// the encoded part tree (ENVELOPE, BODYSTRUCTURE, part offsets) kept with
// the blob: computed once per body, at delivery, opaque to the store. The
// parser never fails on content; only an I/O error fails the delivery.
// With it comes the body's search signature (internal/search), from the
// same parse.
func structureOf(path string, size int64) (structure, textSig []byte, err error) {
	structure, textSig, err = blobfs.StructureAndSignature(path, size)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	return structure, textSig, nil
}
