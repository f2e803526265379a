package blobfs

import (
	"fmt"
	"os"

	"github.com/letterbox/letterbox/internal/mime"
)

// StructureOf parses the body stored at path with internal/mime and
// returns the encoded part tree (ENVELOPE, BODYSTRUCTURE, part offsets) a
// driver keeps with the blob: computed once per body, at delivery, opaque
// to the store. The parser never fails on content; only an I/O error fails.
func StructureOf(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("blobfs: parsing structure: %w", err)
	}
	defer f.Close()
	root, err := mime.Parse(f, size)
	if err != nil {
		return nil, fmt.Errorf("blobfs: parsing structure: %w", err)
	}
	return root.Encode(), nil
}
