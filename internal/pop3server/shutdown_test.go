package pop3server

import (
	"context"
	"testing"
	"time"
)

// Shutdown (SIGTERM): a logged-in session waiting for a command is told
// "-ERR [SYS/TEMP] server shutting down" and closed at once, and what it
// marked with DELE stays (no UPDATE state without QUIT, RFC 1939 §6).
func TestShutdownDrains(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, "Subject: one\r\n\r\nbody\r\n")
	c := e.dial()
	c.transcript(`
		S: +OK*
		C: USER ` + alice + `
		S: +OK*
		C: PASS ` + alicePass + `
		S: +OK*
		C: DELE 1
		S: +OK*`)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- e.srv.Shutdown(context.Background()) }()
	c.transcript(`
		S: -ERR [SYS/TEMP] server shutting down
		S: <closed>`)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	if n := len(e.inbox(alice)); n != 1 {
		t.Fatalf("%d messages in INBOX after a drained DELE, want 1", n)
	}
}
