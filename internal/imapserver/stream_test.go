package imapserver_test

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// TestFetchStreamsLargeBody fetches a 16 MiB message and checks that the
// server did not allocate anything near its size: BODY[] goes from the blob
// to the socket in chunks.
func TestFetchStreamsLargeBody(t *testing.T) {
	h := newHarness(t)
	const size = 16 << 20
	line := strings.Repeat("x", 76) + "\r\n"
	msg := "Subject: big\r\n\r\n" + strings.Repeat(line, size/len(line))
	h.deliver("INBOX", msg)
	msg = ""
	c := h.login()
	c.selectInbox("a0")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c.send("a1 FETCH 1 BODY.PEEK[]")
	head := c.readLine()
	var n int64
	if _, err := fmt.Sscanf(head, "* 1 FETCH (BODY[] {%d}", &n); err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	if _, err := io.CopyN(io.Discard, c.br, n); err != nil {
		t.Fatal(err)
	}
	c.expect(")")
	c.expect("a1 OK FETCH completed")
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/4 {
		t.Fatalf("FETCH of %d octets allocated %d octets", n, grew)
	}
}
