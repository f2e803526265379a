package imapserver_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// compress sends COMPRESS DEFLATE and, after the OK, makes c speak raw
// DEFLATE both ways (RFC 4978 §3): a compress/flate writer, sync-flushed
// after each command, and a decompressor under the line reader.
func (c *tconn) compress(tag string) {
	c.t.Helper()
	c.send(tag + " COMPRESS DEFLATE")
	c.expect(tag + " OK DEFLATE active")
	c.startDeflate(nil)
}

// startDeflate switches c to DEFLATE; buffered (when not nil) are octets
// of the server's compressed stream already read.
func (c *tconn) startDeflate(buffered []byte) {
	c.t.Helper()
	if c.br.Buffered() > 0 {
		c.t.Fatalf("%d octets after the COMPRESS OK before compression", c.br.Buffered())
	}
	zw, err := flate.NewWriter(&c.zbuf, flate.BestSpeed)
	if err != nil {
		c.t.Fatal(err)
	}
	c.zw = zw
	c.br = bufio.NewReader(flate.NewReader(io.MultiReader(bytes.NewReader(buffered), c.nc)))
}

// readLiteral reads the rest of a response line that announced a literal
// ("… {n}"): the n octets, then the line that follows them.
func (c *tconn) readLiteral(line string) (data []byte, rest string) {
	c.t.Helper()
	m := regexp.MustCompile(`\{(\d+)\}$`).FindStringSubmatch(line)
	if m == nil {
		c.t.Fatalf("no literal at the end of %q", line)
	}
	n, _ := strconv.Atoi(m[1])
	data = make([]byte, n)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c.br, data); err != nil {
		c.t.Fatalf("reading a literal of %d octets: %v", n, err)
	}
	return data, c.readLine()
}

// bigMessage is a message of about size octets: text, then a base64
// attachment of random bytes (which compresses poorly), so a FETCH of it
// is well above the size sent with sendfile on a plain connection.
func bigMessage(seed uint64, size int) string {
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("From: Carol <carol@example.org>\r\nTo: alice@example.com\r\nSubject: big " + itoa(int(seed)) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "line %d of the text, which repeats a good deal and compresses well\r\n", i)
	}
	b.WriteString("--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, size*3/4)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.String()
}

// compressedSession runs, on a connection that is logged in and
// compressed, what a client does: SELECT, FETCH of many messages in one
// burst, large BODY[] fetches (which would go with sendfile uncompressed),
// pipelined commands, and IDLE, where an APPEND from a second session must
// arrive at once (the server flushes its compressor at each burst).
func compressedSession(t *testing.T, h *harness, c *tconn, big []string, small int) {
	t.Helper()
	total := 0 // from SELECT's EXISTS
	c.run(`
C: b1 CAPABILITY
S~ \* CAPABILITY .* COMPRESS=DEFLATE.*
S: b1 OK CAPABILITY completed
C: b2 COMPRESS DEFLATE
S: b2 NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS
`)
	c.send("b3 SELECT INBOX")
	for {
		line := c.readLine()
		if strings.HasPrefix(line, "b3 ") {
			if line != "b3 OK [READ-WRITE] SELECT completed" {
				t.Fatalf("SELECT: %q", line)
			}
			break
		}
		if !strings.HasPrefix(line, "* ") {
			t.Fatalf("SELECT: %q", line)
		}
		if n, ok := strings.CutSuffix(line, " EXISTS"); ok {
			total, _ = strconv.Atoi(n[2:])
		}
	}
	// Many responses in one burst.
	c.send("b4 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	for i := 1; i <= total; i++ {
		line := c.readLine()
		if !strings.HasPrefix(line, "* "+itoa(i)+" FETCH (UID "+itoa(i)+" FLAGS ") {
			t.Fatalf("FETCH response %d: %q", i, line)
		}
		if _, rest := c.readLiteral(line); rest != ")" {
			t.Fatalf("after the literal of FETCH %d: %q", i, rest)
		}
	}
	c.expect("b4 OK FETCH completed")
	// Large bodies, each exactly as delivered.
	for i, msg := range big {
		seq := itoa(small + i + 1)
		c.send("b5 FETCH " + seq + " BODY.PEEK[]")
		line := c.expect(`~\* ` + seq + ` FETCH \(BODY\[\] \{\d+\}`)
		data, rest := c.readLiteral(line)
		if string(data) != msg || rest != ")" {
			t.Fatalf("BODY[] of %s: %d octets (want %d), equal %v, then %q", seq, len(data), len(msg), string(data) == msg, rest)
		}
		c.expect("b5 OK FETCH completed")
	}
	// Two commands in one compressed write.
	c.send("b6 NOOP\r\nb7 CHECK")
	c.expect("b6 OK NOOP completed")
	c.expect("b7 OK CHECK completed")
	// IDLE: a delivery by another session must come out of the
	// compressor without waiting for anything else.
	c.send("b8 IDLE")
	c.expect("+ idling")
	c2 := h.login()
	c2.t = t
	msg := "Subject: during idle\r\n\r\nhello\r\n"
	start := time.Now()
	c2.send("x1 APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg)
	c2.expect(`~x1 OK \[APPENDUID \d+ \d+\] APPEND completed`)
	c.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := c.br.ReadString('\n')
	if err != nil || line != "* "+itoa(total+1)+" EXISTS\r\n" {
		t.Fatalf("in IDLE after an APPEND: %q, %v", line, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("EXISTS took %v", d)
	}
	c.expect(`~\* \d+ RECENT`)
	c.send("DONE")
	c.expect("b8 OK IDLE completed")
	c.run(`
C: b9 FETCH ` + itoa(total+1) + ` BODY.PEEK[]
S: * ` + itoa(total+1) + ` FETCH (BODY[] {` + itoa(len(msg)) + `}
S: Subject: during idle
S: 
S: hello
S: )
S: b9 OK FETCH completed
C: b10 LOGOUT
S: * BYE letterbox logging out
S: b10 OK LOGOUT completed`)
	// The server then ends the connection: EOF on the raw stream (the
	// DEFLATE stream has no final block, so the decompressor calls it
	// unexpected).
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	// A reset is an end too: the test client's compressor may flush after
	// LOGOUT, bytes the server closes without reading.
	if _, err := c.br.ReadByte(); err != io.ErrUnexpectedEOF && err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after LOGOUT: %v", err)
	}
}

// deliverForCompress puts small messages and then the big ones into INBOX.
func deliverForCompress(h *harness, small, nbig int) []string {
	for i := 0; i < small; i++ {
		h.deliver("INBOX", "From: bob@example.org\r\nSubject: small "+itoa(i)+"\r\n\r\nbody "+itoa(i)+"\r\n")
	}
	var big []string
	for i := 0; i < nbig; i++ {
		m := bigMessage(uint64(i), 100<<10+i*150<<10)
		big = append(big, m)
		h.deliver("INBOX", m)
	}
	return big
}

func TestCompress(t *testing.T) {
	h := newHarness(t)
	big := deliverForCompress(h, 150, 3)
	c := h.dial()
	// Advertised once authenticated only, as Dovecot does.
	c.send("a1 CAPABILITY")
	if caps := c.readLine(); !strings.HasPrefix(caps, "* CAPABILITY ") || strings.Contains(caps, "COMPRESS") {
		t.Fatalf("before login: %q", caps)
	}
	c.run(`
S: a1 OK CAPABILITY completed
C: a2 COMPRESS DEFLATE
S: a2 BAD Command not valid in this state`)
	c = h.login()
	c.run(`
C: a3 COMPRESS LZW
S: a3 BAD Unknown compression mechanism
C: a4 COMPRESS
S~ a4 BAD .*
C: a5 COMPRESS DEFLATE extra
S~ a5 BAD .*`)
	c.compress("a6")
	compressedSession(t, h, c, big, 150)
}

// The COMPRESS command in the selected state, and a client that does not
// wait for the OK: what it pipelines after COMPRESS is already DEFLATE.
func TestCompressSelectedPipelined(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", "Subject: one\r\n\r\none\r\n")
	c := h.login()
	c.selectInbox("a1")
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	io.WriteString(zw, "a3 FETCH 1 BODY.PEEK[HEADER]\r\n")
	zw.Flush()
	c.nc.Write(append([]byte("a2 COMPRESS DEFLATE\r\n"), z.Bytes()...))
	c.expect("a2 OK DEFLATE active")
	buffered, _ := c.br.Peek(c.br.Buffered())
	buffered = append([]byte(nil), buffered...)
	c.br = bufio.NewReader(c.nc)
	// The client's next commands come from a new compressor: after a
	// sync flush that is still one valid stream.
	c.startDeflate(buffered)
	c.run(`
S: * 1 FETCH (BODY[HEADER] {16}
S: Subject: one
S: 
S: )
S: a3 OK FETCH completed
C: a4 NOOP
S: a4 OK NOOP completed`)
}

// A client that ends its bursts with zlib's Z_PARTIAL_FLUSH, as mbsync
// does: an empty fixed-Huffman block whose last bits come with the next
// burst, and no empty stored block. Each command must be answered before
// the next is sent. (The bursts are zlib's output for these commands,
// the second referring back to the first.)
func TestCompressPartialFlush(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.compress("a1")
	c.zw = nil
	for _, b := range []struct{ hex, want string }{
		{"4a3454f0f177f7f453504accc94c4e7548ad48cc2dc849d54bcecf5552502a4e4d2e4a2d5128482c2e2ecf2f4a51e2e50208", `a1 BAD Command not valid in this state`},
		{"a044238560571f57e710054f3f27ff08a080b142a8a78b829b6b88b38782a1959682869b8fa37bb026d4580c5379b90002", `~\* .*`},
	} {
		raw, _ := hex.DecodeString(b.hex)
		c.nc.Write(raw)
		c.expect(b.want)
	}
}

// Over STARTTLS and over IMAPS (implicit TLS) compression sits between
// IMAP and TLS.
func TestCompressTLS(t *testing.T) {
	h := newHarness(t)
	big := deliverForCompress(h, 20, 2)
	t.Run("starttls", func(t *testing.T) {
		c := h.dial()
		c.t = t
		c.send("s1 STARTTLS")
		c.expect("s1 OK Begin TLS negotiation now")
		tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c.nc, c.br = tc, bufio.NewReader(tc)
		c.run(`
C: l0 LOGIN "` + testUser + `" "` + testPass + `"
S~ l0 OK \[CAPABILITY .*COMPRESS=DEFLATE.*\] LOGIN completed`)
		c.compress("s2")
		compressedSession(t, h, c, big, 20)
	})
	t.Run("imaps", func(t *testing.T) {
		addr := h.serveTLS()
		nc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		c := &tconn{t: t, nc: nc, br: bufio.NewReader(nc)}
		c.expect(`~\* OK \[CAPABILITY .*\] .*`)
		c.run(`
C: l0 LOGIN "` + testUser + `" "` + testPass + `"
S~ l0 OK .*`)
		c.compress("s2")
		compressedSession(t, h, c, big, 20)
	})
}

// storedBlock is data as one raw DEFLATE stored block (RFC 1951 §3.2.4)
// and the empty stored block of a sync flush: valid compressed input that
// needs no compressor. (compress/flate hands out what it decoded at a
// sync flush, not at the end of any block: zlib clients flush with
// Z_SYNC_FLUSH.)
func storedBlock(data []byte) []byte {
	n := len(data)
	b := append([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}, data...)
	return append(b, 0, 0, 0, 0xff, 0xff)
}

// A corrupt DEFLATE stream closes the connection (with a BYE when the
// server can tell), never hangs or harms the server; each case runs on
// its own connection and the server keeps serving others.
func TestCompressGarbage(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Limits.CommandTimeout = time.Second
		o.Limits.IdleTimeout = 2 * time.Second
	})
	r := rand.New(rand.NewPCG(7, 7))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	bomb := func() []byte {
		// 20 MB of one line: far over the line limit, in a few KB.
		var z bytes.Buffer
		zw, _ := flate.NewWriter(&z, flate.BestCompression)
		zw.Write([]byte("a1 NOOP "))
		zw.Write(bytes.Repeat([]byte("x"), 20<<20))
		zw.Write([]byte("\r\n"))
		zw.Flush()
		return z.Bytes()
	}
	cases := map[string][]byte{
		"invalid block type": {0x07, 0xff, 0xff, 0xff},
		"bad stored length":  {0x00, 0x05, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd', 'e'},
		// The rest of the block never comes: the idle timeout ends it.
		"truncated block": storedBlock([]byte("a1 NOOP\r\n"))[:3],
		// The client ends its stream: EOF.
		"final block": {0x01, 0x00, 0x00, 0xff, 0xff},
	}
	for i := 0; i < 20; i++ {
		cases["random "+itoa(i)] = random(1 + r.IntN(4096))
	}
	for name, junk := range cases {
		t.Run(name, func(t *testing.T) {
			c := h.login()
			c.compress("z1")
			// A valid command first, so the stream was working.
			c.send("z2 NOOP")
			c.expect("z2 OK NOOP completed")
			c.nc.Write(junk)
			// The server answers what it could decode (BAD for junk
			// that decompressed to a line) and closes: EOF within the
			// command timeout plus a margin.
			c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			var got []string
			for {
				line, err := c.br.ReadString('\n')
				if line != "" {
					got = append(got, line)
				}
				if err == nil {
					continue
				}
				var ne net.Error
				if errorsAs(err, &ne) && ne.Timeout() {
					t.Fatalf("connection still open after junk; server said %q", got)
				}
				break
			}
			for _, l := range got {
				if !strings.HasPrefix(l, "* BYE ") && !strings.Contains(l, " BAD ") {
					t.Errorf("unexpected %q", l)
				}
			}
			if strings.HasPrefix(name, "invalid") || strings.HasPrefix(name, "bad") {
				if len(got) != 1 || got[0] != "* BYE Invalid compressed data, closing connection\r\n" {
					t.Errorf("got %q, want the BYE for invalid compressed data", got)
				}
			}
		})
	}
	// Corrupt input while idling: BYE too.
	c := h.login()
	c.compress("w1")
	c.send("w2 IDLE")
	c.expect("+ idling")
	c.nc.Write([]byte{0x07, 0xff, 0xff})
	c.expect("* BYE Invalid compressed data, closing connection")
	// A decompression bomb is just a line over the limit.
	b := bomb() // before the session: making it may take longer than the idle timeout
	c = h.login()
	c.compress("x1")
	c.nc.Write(b)
	c.expect("~a1 BAD .*")
	c.send("x2 NOOP")
	c.expect("x2 OK NOOP completed")
	// The server is alive and well.
	c = h.login()
	c.compress("y1")
	c.send("y2 NOOP")
	c.expect("y2 OK NOOP completed")
	// Stored blocks made by hand are understood like any other DEFLATE.
	c.zw = nil
	c.nc.Write(storedBlock([]byte("y3 NOOP\r\n")))
	c.expect("y3 OK NOOP completed")
}
