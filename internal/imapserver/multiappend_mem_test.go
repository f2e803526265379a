package imapserver_test

import (
	"bytes"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// TestMultiAppendMemoryBounded: a MULTIAPPEND of 4 messages of 8 MiB
// (LITERAL+, so the server reads them back to back) raises the heap by
// less than two of them (alone it measures about 5 MiB, garbage included):
// every literal is spooled to a file by the reader and every body streamed
// to the store's spool, none held in memory. The GC runs often meanwhile,
// so garbage of other tests' sessions does not count as held memory.
func TestMultiAppendMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	const n, size = 4, 8 << 20
	h := newHarness(t, func(o *imapserver.Options) { o.MaxMessageSize = 16 << 20 })
	c := h.login()
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	line := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef\r\n")
	body := func(i int) io.Reader {
		hdr := []byte("Subject: big " + strconv.Itoa(i) + "\r\n\r\n")
		rest := size - len(hdr)
		return io.MultiReader(bytes.NewReader(hdr), io.LimitReader(repeat(line), int64(rest)))
	}
	c.nc.SetWriteDeadline(time.Now().Add(time.Minute))
	io.WriteString(c.nc, "a1 APPEND INBOX")
	for i := 0; i < n; i++ {
		io.WriteString(c.nc, " {"+strconv.Itoa(size)+"+}\r\n")
		if _, err := io.Copy(c.nc, body(i)); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(c.nc, "\r\n")
	c.nc.SetReadDeadline(time.Now().Add(time.Minute))
	c.expect(`~a1 OK \[APPENDUID \d+ 1:4\] APPEND completed`)
	close(stop)
	<-sampled
	grow := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use: base %d KiB, peak %d KiB (+%d KiB) for %d MiB appended", base.HeapInuse>>10, peak.Load()>>10, grow>>10, n*size>>20)
	if grow > 2*size {
		t.Errorf("heap grew by %d octets during a MULTIAPPEND of %d × %d", grow, n, size)
	}
	got := h.mailboxBodies(testUser, "INBOX")
	if len(got) != n || len(got[3]) != size {
		t.Fatalf("%d messages stored", len(got))
	}
}

// repeat reads line over and over.
type repeatReader struct {
	line []byte
	off  int
}

func repeat(line []byte) io.Reader { return &repeatReader{line: line} }

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.line[r.off:])
		n += k
		r.off = (r.off + k) % len(r.line)
	}
	return n, nil
}
