package blobfs

import (
	"path/filepath"

	"github.com/letterbox/letterbox/internal/store"
)

var errTooLarge = store.ErrTooLarge

// ValidID reports whether id is a content address: 64 lower-case hex
// digits. Anything else (a path, "../x") is refused before it reaches a
// file name or a query.
func ValidID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Dir is the fan-out directory of a valid id under root.
func Dir(root, id string) string { return filepath.Join(root, id[:2]) }

// Path is the file of a valid id under root.
func Path(root, id string) string { return filepath.Join(root, id[:2], id[2:]) }
