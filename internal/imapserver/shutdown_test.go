package imapserver_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// Shutdown (SIGTERM): a session waiting for a command and one in IDLE
// both get "* BYE Server shutting down" at once and are closed; the
// listener takes no new connection; Shutdown returns without waiting for
// the idle timeout.
func TestShutdownDrains(t *testing.T) {
	h := newHarness(t)
	waiting := h.login()
	idling := h.login()
	idling.cmd("s1", "SELECT INBOX")
	idling.send("s2 IDLE")
	idling.expect("+ idling")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- h.srv.Shutdown(ctx) }()
	for _, c := range []*tconn{waiting, idling} {
		c.expect("* BYE Server shutting down")
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.br.ReadByte(); err != io.EOF {
			t.Fatalf("after BYE: %v, want EOF", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	if nc, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		nc.SetReadDeadline(time.Now().Add(time.Second))
		if n, _ := nc.Read(make([]byte, 1)); n > 0 {
			t.Fatal("a connection after Shutdown was greeted")
		}
		nc.Close()
	}
}

// A command already executing when the drain starts gets its tagged
// response before the BYE: here a pipelined burst, whose commands after
// the first are cut (never answered, so the client retries them).
func TestShutdownFinishesCommand(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 50; i++ {
		h.deliver("INBOX", "Subject: m\r\n\r\nbody\r\n")
	}
	c := h.login()
	c.cmd("s1", "SELECT INBOX")
	c.send("s2 FETCH 1:* (UID FLAGS)")
	c.expect("~\\* 1 FETCH .*")
	go h.srv.Shutdown(context.Background())
	for {
		line := c.readLine()
		if line == "* BYE Server shutting down" {
			t.Fatal("BYE before the tagged response of the command in progress")
		}
		if line == "s2 OK FETCH completed" {
			break
		}
	}
	c.expect("* BYE Server shutting down")
}
