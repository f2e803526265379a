package imapserver

import "sync"

// SetCompressLevel changes the DEFLATE level of the responses for a
// measurement (compress_sync_test.go); call the returned function to
// restore it. Not safe while a server is compressing.
func SetCompressLevel(level int) (restore func()) {
	old := compressLevel
	compressLevel = level
	compressors = sync.Pool{New: newCompressor}
	return func() {
		compressLevel = old
		compressors = sync.Pool{New: newCompressor}
	}
}
