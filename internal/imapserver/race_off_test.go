//go:build !race

package imapserver_test

const raceEnabled = false
