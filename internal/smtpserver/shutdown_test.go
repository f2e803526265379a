package smtpserver

import (
	"context"
	"testing"
	"time"
)

// Shutdown (SIGTERM): a message whose DATA is arriving is received,
// stored and answered 250; a client waiting between commands gets 421
// and is closed; Shutdown returns promptly.
func TestShutdownDrains(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	idle := dial(t, ts.addr)
	idle.run("S: 220\nC: EHLO idle.example\nS: 250")
	busy := dial(t, ts.addr)
	busy.run(`
		S: 220
		C: EHLO busy.example
		S: 250
		C: MAIL FROM:<someone@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: Subject: during shutdown
		C:`)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- ts.srv.Shutdown(context.Background()) }()
	idle.run("S: 421")
	idle.expectClosed()
	time.Sleep(2 * time.Duration(100) * time.Millisecond) // nudges have run
	busy.run(`
		C: the body arrives after the drain began
		C: .
		S: 250
		S: 421`)
	busy.expectClosed()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	if n := len(ts.store.deliverCalls()); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
}
