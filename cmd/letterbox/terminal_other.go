//go:build !linux

package main

import "os"

// isTerminal is false where letterbox does not know how to turn off echo:
// the password is then read as a line from stdin, as in scripts.
func isTerminal(*os.File) bool { return false }

func disableEcho(*os.File) (func(), error) { return func() {}, nil }
