//go:build !unix

package blobfs

import (
	"errors"
	"os"
)

// Without flock there is no cross-process exclusion: Lock only serialises
// within the process (see Lock), and ClaimSpool treats every other owner as
// alive.

func flock(f *os.File, exclusive, nonblock bool) error { return errors.ErrUnsupported }
func funlock(f *os.File) error                         { return nil }

const locksSupported = false
