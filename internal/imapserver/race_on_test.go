//go:build race

package imapserver_test

// raceEnabled: the race detector doubles stack frames (see idlemem_test.go).
const raceEnabled = true
