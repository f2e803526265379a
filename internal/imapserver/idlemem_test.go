package imapserver_test

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// idleMemory opens n connections to a test server, takes each to the state
// mode says ("unauth": greeting read; "login"; "idle": LOGIN, SELECT INBOX,
// IDLE), lets them settle and returns the live heap plus goroutine stacks
// they added, per connection, and the goroutines per connection. The
// client's half (its sockets) is in the same process and counted too; it
// is small (no client buffer is kept).
func idleMemory(t *testing.T, n int, mode, profile string) (perConn float64, goroutines float64) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Limits.MaxConns = n + 10
		o.Limits.MaxConnsPerIP = n + 10
		o.Limits.MaxConnsPerUser = n + 10
	})
	h.deliver("INBOX", "Subject: hello\r\n\r\nhi\r\n")
	if profile != "" {
		runtime.MemProfileRate = 1
		defer func() { runtime.MemProfileRate = 512 << 10 }()
	}
	settle := func() runtime.MemStats {
		var ms runtime.MemStats
		// Each GC halves a goroutine stack that uses less than a
		// quarter of it: several let stacks grown by a command shrink
		// back, as they do over time in a server.
		for range 8 {
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
		}
		runtime.ReadMemStats(&ms)
		return ms
	}
	addr, tlsMode := h.addr, false
	if strings.HasSuffix(mode, "-tls") {
		tlsMode = true
		addr = h.serveTLS()
		mode = strings.TrimSuffix(mode, "-tls")
	}
	// "-compress": COMPRESS DEFLATE right after LOGIN (compress.go).
	// One connection first, so one-time allocations (statement caches,
	// pools) are not charged to the n.
	warm := openIdle(t, addr, mode, tlsMode)
	defer warm.Close()
	before := settle()
	g0 := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		conns = append(conns, openIdle(t, addr, mode, tlsMode))
	}
	time.Sleep(100 * time.Millisecond)
	after := settle()
	g1 := runtime.NumGoroutine()
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			t.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	used := func(ms runtime.MemStats) float64 { return float64(ms.HeapAlloc + ms.StackInuse) }
	t.Logf("%s: heap %+.1f KiB, stacks %+.1f KiB, goroutines %+.2f per connection",
		mode, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n)/1024,
		float64(int64(after.StackInuse)-int64(before.StackInuse))/float64(n)/1024,
		float64(g1-g0)/float64(n))
	return (used(after) - used(before)) / float64(n), float64(g1-g0) / float64(n)
}

// openIdle dials and brings one connection to mode's state; the client
// keeps no buffer.
func openIdle(t *testing.T, addr, mode string, tlsMode bool) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if tlsMode {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		nc = tc
	}
	compress := false
	if m, ok := strings.CutSuffix(mode, "-compress"); ok {
		mode, compress = m, true
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(nc, 512)
	var zr io.Reader // the server's DEFLATE stream, once compressed
	cmd := func(tag, line, want string) {
		t.Helper()
		if tag != "" {
			text := []byte(tag + " " + line + "\r\n")
			if zr != nil {
				// Stored blocks: valid DEFLATE without a compressor
				// in this (measured) process.
				text = storedBlock(text)
			}
			nc.Write(text)
		}
		for {
			got, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s %s: %v", tag, line, err)
			}
			if strings.HasPrefix(got, want) {
				return
			}
			if tag != "" && strings.HasPrefix(got, tag+" ") {
				t.Fatalf("%s %s: %q", tag, line, got)
			}
		}
	}
	cmd("", "", "* OK")
	if mode == "login" || mode == "idle" {
		cmd("l", `LOGIN "`+testUser+`" "`+testPass+`"`, "l OK")
	}
	if compress {
		cmd("z", "COMPRESS DEFLATE", "z OK")
		if br.Buffered() > 0 {
			t.Fatalf("unexpected %d octets after COMPRESS", br.Buffered())
		}
		// The decompressor is dropped once the connection idles; only
		// the server's half stays.
		zr = flate.NewReader(nc)
		br = bufio.NewReaderSize(zr, 512)
		// A compressed response, so a compressor was taken (and must
		// be given back once the connection waits).
		cmd("n", "NOOP", "n OK")
	}
	if mode == "idle" {
		cmd("s", "SELECT INBOX", "s OK")
		cmd("i", "IDLE", "+")
	}
	if br.Buffered() > 0 {
		t.Fatalf("unexpected %d octets after %s", br.Buffered(), mode)
	}
	nc.SetDeadline(time.Time{})
	return nc
}

// TestIdleConnectionMemory bounds what an idle connection keeps: buffers
// are released while it waits, and an IDLE session adds no more than its
// reader goroutine. IDLEMEM_PROFILE=dir writes heap profiles there.
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	const n = 1000
	limits := map[string]float64{"unauth": 12 << 10, "login": 16 << 10, "idle": 24 << 10, "idle-tls": 48 << 10, "idle-compress": 32 << 10, "login-compress": 32 << 10}
	for _, mode := range []string{"unauth", "login", "idle", "idle-tls", "idle-compress", "login-compress"} {
		t.Run(mode, func(t *testing.T) {
			profile := ""
			if dir := os.Getenv("IDLEMEM_PROFILE"); dir != "" {
				profile = dir + "/heap-" + mode + ".pprof"
			}
			per, g := idleMemory(t, n, mode, profile)
			t.Logf("%s: %.1f KiB per connection, %.2f goroutines", mode, per/1024, g)
			limit := limits[mode]
			if raceEnabled {
				// The race detector's instrumentation makes stack frames
				// larger (idle: 19.6 KiB of stacks instead of 11.9): the
				// bounds are for the real build; under -race they only
				// catch gross growth.
				limit *= 1.5
			}
			if per > limit && os.Getenv("IDLEMEM_NOLIMIT") == "" {
				t.Errorf("%s: %.1f KiB per idle connection, want at most %.0f KiB", mode, per/1024, limit/1024)
			}
		})
	}
}
