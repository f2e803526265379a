package sqlite

import (
	"fmt"
	"os"

	"github.com/letterbox/letterbox/internal/mime"
)

// structureOf parses the stored body at path with internal/mime and returns
// the encoded part tree (ENVELOPE, BODYSTRUCTURE, part offsets) kept with
// the blob: computed once per body, at delivery, opaque to the store. The
// parser never fails on content; only an I/O error fails the delivery.
func structureOf(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: parsing structure: %w", err)
	}
	defer f.Close()
	root, err := mime.Parse(f, size)
	if err != nil {
		return nil, fmt.Errorf("sqlite: parsing structure: %w", err)
	}
	return root.Encode(), nil
}
