package imapserver

import "os"

// makeTempDir makes a directory for the fuzz store; fuzz workers share it
// for the life of the process.
func makeTempDir() (string, error) { return os.MkdirTemp("", "imapserver-fuzz-") }
