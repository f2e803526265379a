package blobfs

import (
	"fmt"
	"os"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/search"
)

// StructureOf parses the body stored at path with internal/mime and
// returns the encoded part tree (ENVELOPE, BODYSTRUCTURE, part offsets) a
// driver keeps with the blob: computed once per body, at delivery, opaque
// to the store. The parser never fails on content; only an I/O error fails.
func StructureOf(path string, size int64) ([]byte, error) {
	structure, _, err := parse(path, size, false)
	return structure, err
}

// StructureAndSignature is StructureOf plus the body's search signature
// (internal/search: what SEARCH BODY and TEXT use to skip messages), from
// one parse. Both are opaque to the store.
func StructureAndSignature(path string, size int64) (structure, textSig []byte, err error) {
	return parse(path, size, true)
}

func parse(path string, size int64, withSig bool) (structure, textSig []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("blobfs: parsing structure: %w", err)
	}
	defer f.Close()
	root, err := mime.Parse(f, size)
	if err != nil {
		return nil, nil, fmt.Errorf("blobfs: parsing structure: %w", err)
	}
	if withSig {
		if textSig, err = search.Build(f, root); err != nil {
			return nil, nil, fmt.Errorf("blobfs: search signature: %w", err)
		}
	}
	return root.Encode(), textSig, nil
}
