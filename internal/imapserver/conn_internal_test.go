package imapserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
)

// testConn returns a conn on the server end of a loopback TCP connection
// and the client end.
func testConn(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	client.SetDeadline(time.Now().Add(10 * time.Second))
	return newConn(New(Options{}), server), client
}

// The read buffer is held while a command is read and run, kept while
// pipelined octets wait in it, and given back once it is empty.
func TestConnReleasesReadBuffer(t *testing.T) {
	c, client := testConn(t)
	io.WriteString(client, "a1 NOOP\r\na2 CAPABILITY\r\n")
	cmd, _, err := c.readCommand(time.Minute)
	if err != nil || cmd.Tag != "a1" {
		t.Fatalf("a1: %v %v", cmd, err)
	}
	if c.br == nil {
		t.Fatal("no read buffer while a command runs")
	}
	c.releaseInput()
	if c.br == nil {
		t.Fatal("read buffer given back with a pipelined command in it")
	}
	cmd, _, err = c.readCommand(time.Minute)
	if err != nil || cmd.Tag != "a2" {
		t.Fatalf("a2: %v %v", cmd, err)
	}
	c.releaseInput()
	if c.br != nil {
		t.Fatal("empty read buffer kept")
	}
	// The next command arrives later, in pieces: its first octet is read
	// with no buffer, the rest through a fresh one.
	go func() {
		for _, part := range []string{"a", "3 NO", "OP\r\n"} {
			time.Sleep(20 * time.Millisecond)
			io.WriteString(client, part)
		}
	}()
	cmd, inCommand, err := c.readCommand(time.Minute)
	if err != nil || cmd.Tag != "a3" || cmd.Name != "NOOP" || !inCommand {
		t.Fatalf("a3: %v %v %v", cmd, inCommand, err)
	}
}

// The idle timeout still applies while no buffer is held, and EOF is
// reported as before.
func TestConnWaitErrors(t *testing.T) {
	c, client := testConn(t)
	_, inCommand, err := c.readCommand(50 * time.Millisecond)
	if !isTimeout(err) || inCommand {
		t.Fatalf("idle timeout: %v, in command %v", err, inCommand)
	}
	c, client = testConn(t)
	client.Close()
	if _, _, err := c.readCommand(time.Minute); !isClosed(err) {
		t.Fatalf("EOF: %v", err)
	}
}

// waitIdleDone reads DONE with no buffer held while waiting, and leaves a
// command pipelined after DONE for the next read.
func TestConnWaitIdleDone(t *testing.T) {
	c, client := testConn(t)
	io.WriteString(client, "a1 IDLE\r\n")
	if _, _, err := c.readCommand(time.Minute); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.waitIdleDone() }()
	time.Sleep(50 * time.Millisecond)
	io.WriteString(client, "DONE\r\na2 NOOP\r\n")
	if err := <-done; err != nil {
		t.Fatalf("DONE: %v", err)
	}
	cmd, _, err := c.readCommand(time.Minute)
	if err != nil || cmd.Tag != "a2" {
		t.Fatalf("after DONE: %v %v", cmd, err)
	}
	go func() { done <- c.waitIdleDone() }()
	io.WriteString(client, "a3 NOOP\r\n")
	if err := <-done; !errors.Is(err, errNotDone) {
		t.Fatalf("not DONE: %v", err)
	}
}

// The writer's buffer goes back at each flush.
func TestConnFlushReleasesWriteBuffer(t *testing.T) {
	c, client := testConn(t)
	c.w.WriteStatus("", "OK", "", "hello")
	if c.w.Buffered() == 0 {
		t.Fatal("nothing buffered")
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(client).ReadString('\n'); line != "* OK hello\r\n" {
		t.Fatalf("got %q", line)
	}
}

// A literal whose source is found short before it starts: the half-built
// response is replaced by BYE at flush, the tagged OK never goes out, and
// flush reports the error so the session closes the connection.
func TestConnFlushAfterCutLiteral(t *testing.T) {
	c, client := testConn(t)
	c.w.Untagged("2 EXISTS")
	c.w.Raw("* 1 FETCH (UID 4 BODY[] ")
	lerr := c.w.LiteralFrom(io.NewSectionReader(strings.NewReader("short"), 0, 5), 100, false)
	if !errors.As(lerr, new(*imap.LiteralError)) {
		t.Fatalf("LiteralFrom: %v", lerr)
	}
	c.w.WriteStatus("a1", "OK", "", "FETCH completed")
	if err := c.flush(); !errors.Is(err, lerr) {
		t.Fatalf("flush: %v", err)
	}
	if err := c.flush(); err == nil {
		t.Fatal("second flush succeeded")
	}
	c.raw.Close()
	got, _ := io.ReadAll(client)
	if want := "* 2 EXISTS\r\n* BYE Internal error reading a message, closing connection\r\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
