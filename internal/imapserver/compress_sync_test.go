package imapserver_test

import (
	"bufio"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/search/searchtest"
	"github.com/letterbox/letterbox/internal/store"
)

// countingConn counts the octets a client moves over the wire. On a
// plain connection it also feeds what it reads to streams, compressors
// that live as long as the connection (as Dovecot's do), flushed where
// the server flushes: what COMPRESS would send if the server kept one
// compressor per connection instead of one per burst (client to server
// octets are counted as sent).
type countingConn struct {
	net.Conn
	in, out atomic.Int64
	streams []*keptStream
}

// keptStream is a compressor kept for the whole connection.
type keptStream struct {
	level int
	n     countWriter
	zw    *flate.Writer
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	for _, s := range c.streams {
		s.zw.Write(p[:n])
	}
	return n, err
}

// flushStreams ends a burst in the kept streams.
func (c *countingConn) flushStreams() {
	for _, s := range c.streams {
		s.zw.Flush()
	}
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// syncClient is a first-sync client: plain, or compressed like a zlib
// client (sync flush after each batch of commands).
type syncClient struct {
	t  *testing.T
	nc *countingConn
	br *bufio.Reader
	w  io.Writer
	zw *flate.Writer
}

func (c *syncClient) send(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		io.WriteString(c.w, l+"\r\n")
	}
	if c.zw != nil {
		c.zw.Flush()
	}
}

var syncLiteral = regexp.MustCompile(`\{(\d+)\}$`)

// response reads one response with its literals; it returns the first
// line and the literal octets.
func (c *syncClient) response() (first string, literal int64) {
	c.t.Helper()
	for i := 0; ; i++ {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if i == 0 {
			first = line
		}
		m := syncLiteral.FindStringSubmatch(line)
		if m == nil {
			return first, literal
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if _, err := io.CopyN(io.Discard, c.br, n); err != nil {
			c.t.Fatalf("literal: %v", err)
		}
		literal += n
	}
}

// untilTagged reads responses until the tagged one and returns how many
// untagged ones came and their literal octets.
func (c *syncClient) untilTagged(tag string) (untagged int, literal int64) {
	c.t.Helper()
	for {
		first, lit := c.response()
		if strings.HasPrefix(first, tag+" ") {
			if !strings.HasPrefix(first, tag+" OK") {
				c.t.Fatalf("%s", first)
			}
			c.nc.flushStreams()
			return untagged, literal
		}
		untagged++
		literal += lit
	}
}

// keptLevels are the levels of the per-connection compressors the plain
// run estimates.
var keptLevels = []int{1, 6}

// headerFields is what Thunderbird asks for when it first lists a folder.
const headerFields = "From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To"

type phase struct {
	wire  int64   // octets both ways
	kept  []int64 // with a compressor kept per connection, per keptLevels
	data  int64   // literal octets received
	cpu   time.Duration
	wall  time.Duration
	count int
}

// firstSync does what Thunderbird and mbsync do on a new account: the
// header list of every message (UID FLAGS RFC822.SIZE INTERNALDATE and
// the header fields), then every body, one UID FETCH per message with 16
// in flight.
func firstSync(t *testing.T, h *harness, compress, kept bool, uids []store.UID) (headers, bodies phase) {
	raw, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	nc := &countingConn{Conn: raw}
	if kept {
		for _, l := range keptLevels {
			s := &keptStream{level: l}
			s.zw, _ = flate.NewWriter(&s.n, l)
			nc.streams = append(nc.streams, s)
		}
	}
	c := &syncClient{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), w: nc}
	c.response()
	c.send(`l LOGIN "` + testUser + `" "` + testPass + `"`)
	c.untilTagged("l")
	if compress {
		c.send("z COMPRESS DEFLATE")
		c.untilTagged("z")
		c.zw, _ = flate.NewWriter(nc, flate.DefaultCompression)
		c.w = c.zw
		c.br = bufio.NewReaderSize(flate.NewReader(nc), 64<<10)
	}
	c.send("s SELECT INBOX")
	c.untilTagged("s")

	measure := func(p *phase, f func()) {
		in0, out0, cpu0, wall0 := nc.in.Load(), nc.out.Load(), cpuTime(), time.Now()
		var kept0 []int64
		for _, s := range nc.streams {
			kept0 = append(kept0, s.n.n)
		}
		f()
		p.wire = nc.in.Load() - in0 + nc.out.Load() - out0
		for i, s := range nc.streams {
			p.kept = append(p.kept, s.n.n-kept0[i]+nc.out.Load()-out0)
		}
		p.cpu, p.wall = cpuTime()-cpu0, time.Since(wall0)
	}
	measure(&headers, func() {
		c.send("h UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (" + headerFields + ")])")
		headers.count, headers.data = c.untilTagged("h")
	})
	measure(&bodies, func() {
		const window = 16
		sent := 0
		tag := func(i int) string { return "b" + strconv.Itoa(i) }
		for i := 0; i < len(uids); i++ {
			var batch []string
			for sent < len(uids) && sent < i+window {
				batch = append(batch, tag(sent)+" UID FETCH "+strconv.Itoa(int(uids[sent]))+" (UID RFC822.SIZE BODY.PEEK[])")
				sent++
			}
			if len(batch) > 0 {
				c.send(batch...)
			}
			n, lit := c.untilTagged(tag(i))
			bodies.count += n
			bodies.data += lit
		}
	})
	c.send("o LOGOUT")
	c.untilTagged("o")
	return headers, bodies
}

// TestCompressFirstSync measures what COMPRESS=DEFLATE saves on a first
// sync: octets on the wire with and without it, and the CPU it costs.
// The corpus is bench/readscorpus.go's (internal/search/searchtest: 2-8 KB
// of text, 20% multipart/alternative, 10% with a 100-500 KB base64
// attachment of random octets). By default 100 messages;
// LETTERBOX_SYNC_MESSAGES=10000 is the measurement of docs/COMPRESS.md,
// LETTERBOX_SYNC_ATTACH=0 leaves the attachments out,
// LETTERBOX_SYNC_LEVELS=6,1 compresses at those levels in turn.
func TestCompressFirstSync(t *testing.T) {
	n := 100
	if v := os.Getenv("LETTERBOX_SYNC_MESSAGES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	attach := 0.1
	if v := os.Getenv("LETTERBOX_SYNC_ATTACH"); v != "" {
		attach, _ = strconv.ParseFloat(v, 64)
	}
	levels := []int{0} // 0: the server's own level
	if v := os.Getenv("LETTERBOX_SYNC_LEVELS"); v != "" {
		levels = levels[:0]
		for _, f := range strings.Split(v, ",") {
			l, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			levels = append(levels, l)
		}
	}
	h := newHarness(t)
	gen := searchtest.New(1)
	var total int64
	uids := make([]store.UID, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		msg := gen.Message(i, searchtest.Options{AttachmentRate: attach})
		total += int64(len(msg))
		res, err := h.st.Deliver(context.Background(), strings.NewReader(msg), []store.Target{{Account: testUser, Mailbox: "INBOX"}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		uids = append(uids, res[0].UID)
	}
	t.Logf("%d messages, %.1f MB, delivered in %v", n, float64(total)/1e6, time.Since(start).Round(time.Millisecond))

	ph, pb := firstSync(t, h, false, false, uids)
	// Again, plain, with the per-connection compressors alongside (their
	// CPU is not what COMPRESS costs, so not in ph and pb's).
	kh, kb := firstSync(t, h, false, true, uids)
	ph.kept, pb.kept = kh.kept, kb.kept
	for _, level := range levels {
		if level != 0 {
			t.Logf("level %d:", level)
			restore := imapserver.SetCompressLevel(level)
			compareSync(t, h, uids, n, total, ph, pb)
			restore()
		} else {
			compareSync(t, h, uids, n, total, ph, pb)
		}
	}
}

// compareSync runs the compressed sync and compares it with the plain one.
func compareSync(t *testing.T, h *harness, uids []store.UID, n int, total int64, ph, pb phase) {
	zh, zb := firstSync(t, h, true, false, uids)
	for _, p := range []struct {
		name        string
		plain, comp phase
	}{{"headers", ph, zh}, {"bodies", pb, zb}, {"total", phase{wire: ph.wire + pb.wire, cpu: ph.cpu + pb.cpu, wall: ph.wall + pb.wall}, phase{wire: zh.wire + zb.wire, cpu: zh.cpu + zb.cpu, wall: zh.wall + zb.wall}}} {
		t.Logf("%-8s plain %s, %v CPU, %v | COMPRESS %s, %v CPU, %v | %.2fx fewer octets, +%v CPU",
			p.name, mb(p.plain.wire), p.plain.cpu.Round(time.Millisecond), p.plain.wall.Round(time.Millisecond),
			mb(p.comp.wire), p.comp.cpu.Round(time.Millisecond), p.comp.wall.Round(time.Millisecond),
			float64(p.plain.wire)/float64(p.comp.wire), (p.comp.cpu - p.plain.cpu).Round(time.Millisecond))
	}
	for i, l := range keptLevels {
		t.Logf("one compressor kept for the whole connection at level %d would send: headers %s (%.2fx), bodies %s (%.2fx)",
			l, mb(ph.kept[i]), float64(ph.wire)/float64(ph.kept[i]), mb(pb.kept[i]), float64(pb.wire)/float64(pb.kept[i]))
	}
	// Both runs saw the same mailbox.
	if ph.count != n || zh.count != n || pb.count != n || zb.count != n || pb.data != total || zb.data != total || ph.data != zh.data {
		t.Fatalf("responses: headers %d/%d, bodies %d/%d, body octets %d/%d of %d, header octets %d/%d",
			ph.count, zh.count, pb.count, zb.count, pb.data, zb.data, total, ph.data, zh.data)
	}
	// The header list is where compression pays most: at least 3x.
	if r := float64(ph.wire) / float64(zh.wire); r < 3 {
		t.Errorf("header list: only %.2fx fewer octets with COMPRESS", r)
	}
	if zb.wire >= pb.wire {
		t.Errorf("bodies: %d octets with COMPRESS, %d without", zb.wire, pb.wire)
	}
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }
