// Package e2e holds black-box tests: the built letterbox binary against real
// mail clients from Debian packages (Python poplib/imaplib, swaks, fetchmail,
// getmail6, curl, mbsync, offlineimap, mutt), and fail2ban-regex over the
// server's log.
//
// The tests carry the build tag "e2e" so that `go test ./...` stays fast:
//
//	go test -tags e2e -count=1 ./e2e/
//
// TestMain builds ./cmd/letterbox once; every test starts its own server on a
// fresh data directory with all listeners moved to free loopback ports.
// A client that is not installed skips its test with a message naming it,
// except under CI=true, where a missing client is a failure.
package e2e
