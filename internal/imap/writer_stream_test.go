package imap

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// recorder is a destination that records each Write.
type recorder struct {
	bytes.Buffer
	writes int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes++
	return r.Buffer.Write(p)
}

// The buffer comes from a pool for a response and goes back at Flush; a
// response larger than the small buffer moves to a large one.
func TestWriterBufferReleasedAtFlush(t *testing.T) {
	var out recorder
	w := NewWriter(&out)
	if w.buf != nil {
		t.Fatal("new Writer holds a buffer")
	}
	w.WriteStatus("a1", "OK", "", "done")
	if cap(w.buf) != smallBufferSize {
		t.Fatalf("short response: buffer of %d, want %d", cap(w.buf), smallBufferSize)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.buf != nil || w.Buffered() != 0 {
		t.Fatal("buffer kept after Flush")
	}
	for i := 0; i < 1000; i++ {
		w.Untagged(strconv.Itoa(i) + " FETCH (FLAGS (\\Seen))")
	}
	if cap(w.buf) != largeBufferSize || out.writes != 1 {
		t.Fatalf("large response: buffer of %d after %d writes, want %d and none yet", cap(w.buf), out.writes-1, largeBufferSize)
	}
	w.WriteStatus("a2", "OK", "", "FETCH completed")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.buf != nil {
		t.Fatal("large buffer kept after Flush")
	}
	if !strings.HasPrefix(out.String(), "a1 OK done\r\n* 0 FETCH") || !strings.HasSuffix(out.String(), "* 999 FETCH (FLAGS (\\Seen))\r\na2 OK FETCH completed\r\n") {
		t.Fatalf("output: %.60q ... %.60q", out.String(), out.String()[out.Len()-60:])
	}
}

// A Flush also flushes a destination that buffers (a compressor).
func TestWriterFlushesDestination(t *testing.T) {
	var buf bytes.Buffer
	dst := &flusher{w: &buf}
	w := NewWriter(dst)
	w.WriteStatus("", "OK", "", "hi")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if dst.flushes != 1 || buf.String() != "* OK hi\r\n" {
		t.Fatalf("flushes %d, output %q", dst.flushes, buf.String())
	}
}

type flusher struct {
	w       io.Writer
	flushes int
}

func (f *flusher) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f *flusher) Flush() error                { f.flushes++; return nil }

func testContent(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// LiteralFrom with any reader: header, exactly n octets, nothing else.
func TestLiteralFrom(t *testing.T) {
	for _, n := range []int{0, 1, 100, smallBufferSize - 10, smallBufferSize + 1, 3*largeBufferSize + 17} {
		content := testContent(n)
		for _, binary := range []bool{false, true} {
			var out bytes.Buffer
			w := NewWriter(&out)
			w.Raw("* 1 FETCH (BODY[] ")
			// OneByteReader and DataErrReader: short reads and data with EOF.
			src := iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(content)))
			if err := w.LiteralFrom(io.MultiReader(src, strings.NewReader("extra")), int64(n), binary); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			w.Raw(")\r\n")
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			head := "{" + strconv.Itoa(n) + "}\r\n"
			if binary {
				head = "~" + head
			}
			want := "* 1 FETCH (BODY[] " + head + string(content) + ")\r\n"
			if out.String() != want {
				t.Fatalf("n=%d binary=%v: output differs (%d octets, want %d)", n, binary, out.Len(), len(want))
			}
		}
	}
}

// A source that ends early is never padded: the Writer fails with a
// LiteralError, and nothing written after it (the tagged OK) goes out.
func TestLiteralFromShortSourceFails(t *testing.T) {
	const n = 3 * largeBufferSize
	content := testContent(n - 1000)
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Raw("* 1 FETCH (BODY[] ")
	err := w.LiteralFrom(bytes.NewBuffer(content), n, false)
	var le *LiteralError
	if !errors.As(err, &le) || le.Size != n || le.Sent != int64(len(content)) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %#v", err)
	}
	w.Raw(")\r\n")
	w.WriteStatus("a1", "OK", "", "FETCH completed")
	if ferr := w.Flush(); ferr != err || w.Err() != err {
		t.Fatalf("Flush: %v, Err: %v, want %v", ferr, w.Err(), err)
	}
	got := out.String()
	head := "* 1 FETCH (BODY[] {" + strconv.Itoa(n) + "}\r\n"
	if !strings.HasPrefix(got, head) || !bytes.HasPrefix(content, []byte(got[len(head):])) {
		t.Fatalf("output is not the header and a part of the content")
	}
	// The literal's start went out already: no BYE can be said in band.
	if w.ByeAfterFailure("bye") {
		t.Fatal("BYE written inside a literal")
	}
}

// A source error mid-literal is a LiteralError wrapping it.
func TestLiteralFromSourceError(t *testing.T) {
	boom := errors.New("disk on fire")
	var out bytes.Buffer
	w := NewWriter(&out)
	err := w.LiteralFrom(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10, false)
	var le *LiteralError
	if !errors.As(err, &le) || !errors.Is(err, boom) || le.Sent != 3 {
		t.Fatalf("error %v", err)
	}
}

// When nothing of the cut response has been sent, ByeAfterFailure
// replaces it with BYE; the responses before it still go out, and the
// Writer stays failed.
func TestByeAfterFailureTakesBackUnsentResponse(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Untagged("1 EXISTS")
	// A complete response with a literal holding CRLFs and a "*": the
	// response boundary must not be taken from inside a literal.
	w.StartUntagged()
	w.Raw("1 FETCH (BODY[HEADER] ")
	w.String("Subject: x\r\n\r\n")
	w.Raw(")")
	w.CRLF()
	w.StartUntagged()
	w.Raw("2 FETCH (UID 7 BODY[] ")
	w.String("a\r\nb")
	w.Raw(" BODY[TEXT] ")
	err := w.LiteralFrom(io.LimitReader(strings.NewReader("only\r\nsome"), 10), 50, false)
	if !errors.As(err, new(*LiteralError)) {
		t.Fatalf("error %v", err)
	}
	w.WriteStatus("a1", "OK", "", "FETCH completed")
	if !w.ByeAfterFailure("Internal error") {
		t.Fatal("ByeAfterFailure did not write BYE")
	}
	want := "* 1 EXISTS\r\n* 1 FETCH (BODY[HEADER] {14}\r\nSubject: x\r\n\r\n)\r\n* BYE Internal error\r\n"
	if out.String() != want {
		t.Fatalf("got  %q\nwant %q", out.String(), want)
	}
	if w.Err() != err || w.ByeAfterFailure("again") {
		t.Fatal("Writer usable after ByeAfterFailure")
	}
	if out.String() != want {
		t.Fatalf("second BYE written: %q", out.String())
	}
}

// A reader known to be too short fails before the literal header.
func TestLiteralKnownShortFailsBeforeHeader(t *testing.T) {
	sr := io.NewSectionReader(strings.NewReader("0123456789"), 2, 6)
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Untagged("3 EXISTS")
	w.Raw("* 1 FETCH (BODY[] ")
	err := w.LiteralFrom(sr, 7, false)
	var le *LiteralError
	if !errors.As(err, &le) || le.Sent != 0 {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(string(w.buf), "{7}") {
		t.Fatal("header written for a literal known to be short")
	}
	if !w.ByeAfterFailure("gone") || out.String() != "* 3 EXISTS\r\n* BYE gone\r\n" {
		t.Fatalf("output %q", out.String())
	}

	w = NewWriter(&out)
	if err := w.LiteralAt(bytes.NewReader([]byte("abc")), 1, 3, false); !errors.As(err, new(*LiteralError)) {
		t.Fatalf("LiteralAt past the end: %v", err)
	}
}

// LiteralFrom on a section reader writes from its current position and
// moves it.
func TestLiteralFromSectionReader(t *testing.T) {
	sr := io.NewSectionReader(strings.NewReader("0123456789"), 2, 6)
	sr.Seek(1, io.SeekStart)
	var out bytes.Buffer
	w := NewWriter(&out)
	if err := w.LiteralFrom(sr, 3, false); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if out.String() != "{3}\r\n345" {
		t.Fatalf("output %q", out.String())
	}
	if pos, _ := sr.Seek(0, io.SeekCurrent); pos != 4 {
		t.Fatalf("position %d, want 4", pos)
	}
}

// ReadFrom (io.Copy into a Writer) uses the Writer's buffer.
func TestWriterReadFrom(t *testing.T) {
	content := testContent(200 << 10)
	var out recorder
	w := NewWriter(&out)
	w.LiteralHeader(int64(len(content)), false)
	n, err := io.Copy(w, bytes.NewReader(content))
	if err != nil || n != int64(len(content)) {
		t.Fatal(n, err)
	}
	w.Flush()
	if !bytes.Equal(out.Bytes()[len("{204800}\r\n"):], content) {
		t.Fatal("content differs")
	}
	if raceEnabled {
		return
	}
	// A garbage collection empties sync.Pools, and on a busy machine one
	// can fall inside the measurement: count with the collector off.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if allocs := testing.AllocsPerRun(20, func() {
		w.LiteralHeader(int64(len(content)), false)
		io.Copy(w, bytes.NewReader(content))
		w.Flush()
	}); allocs > 2 {
		t.Fatalf("%v allocations per literal copy", allocs)
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// A file section goes to a plain socket with sendfile: the right octets,
// and the file's own offset is left alone.
func TestLiteralAtFileOverTCP(t *testing.T) {
	content := testContent(1<<20 + 2000)
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	server, client := tcpPair(t)
	type result struct {
		b   []byte
		err error
	}
	const off, n = 1000, 1<<20 + 100
	head := "* 1 FETCH (BODY[]<1000> {" + strconv.Itoa(n) + "}\r\n"
	want := head + string(content[off:off+n]) + ")\r\n"
	got := make(chan result, 1)
	go func() {
		client.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(io.LimitReader(client, int64(len(want))))
		got <- result{b, err}
	}()
	w := NewWriter(server)
	w.Raw("* 1 FETCH (BODY[]<1000> ")
	if err := w.LiteralAt(f, off, n, false); err != nil {
		t.Fatal(err)
	}
	w.Raw(")\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || string(r.b) != want {
		t.Fatalf("received %d octets (%v), want %d", len(r.b), r.err, len(want))
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 0 {
		t.Fatalf("file offset moved to %d", pos)
	}
	// An *os.File given to LiteralFrom is read from its offset, which moves.
	f.Seek(10, io.SeekStart)
	go func() {
		b, err := io.ReadAll(io.LimitReader(client, int64(len("{65536}\r\n")+65536)))
		got <- result{b, err}
	}()
	if err := w.LiteralFrom(f, 65536, false); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r = <-got
	if r.err != nil || string(r.b) != "{65536}\r\n"+string(content[10:10+65536]) {
		t.Fatalf("LiteralFrom(file): %d octets, %v", len(r.b), r.err)
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 10+65536 {
		t.Fatalf("file offset %d after LiteralFrom", pos)
	}
}

// The sendfile path itself (Linux): every octet, from the offset.
func TestSendFile(t *testing.T) {
	content := testContent(3 << 20)
	path := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(path, content, 0o600)
	f, _ := os.Open(path)
	defer f.Close()
	server, client := tcpPair(t)
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, 3<<20-5))
		done <- b
	}()
	n, handled, werr, rerr := sendFile(server.(*net.TCPConn), f, 5, 3<<20-5)
	if !handled {
		t.Skip("no sendfile on this platform")
	}
	if werr != nil || rerr != nil || n != 3<<20-5 {
		t.Fatal(n, werr, rerr)
	}
	if !bytes.Equal(<-done, content[5:]) {
		t.Fatal("content differs")
	}
	// A file shorter than asked: stops at its end, no error.
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, 10))
		done <- b
	}()
	n, _, werr, rerr = sendFile(server.(*net.TCPConn), f, 3<<20-10, 100)
	if n != 10 || werr != nil || rerr != nil {
		t.Fatal(n, werr, rerr)
	}
	<-done
}

// A file too short for the literal (content lost) fails before the
// header, through LiteralAt and through a section reader.
func TestLiteralAtShortFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(path, testContent(100<<10), 0o600)
	f, _ := os.Open(path)
	defer f.Close()
	server, _ := tcpPair(t)
	for _, write := range []func(w *Writer) error{
		func(w *Writer) error { return w.LiteralAt(f, 0, 100<<10+1, false) },
		func(w *Writer) error { return w.LiteralFrom(io.NewSectionReader(f, 50, 100<<10), 100<<10, false) },
	} {
		w := NewWriter(server)
		w.Raw("* 1 FETCH (BODY[] ")
		err := write(w)
		var le *LiteralError
		if !errors.As(err, &le) || le.Sent != 0 || strings.Contains(string(w.buf), "{") {
			t.Fatalf("error %v, buffered %q", err, w.buf)
		}
		w.release()
	}
}

// With a destination that is not a socket (TLS, a compressor) a file is
// copied through the Writer's large buffer.
func TestLiteralAtFileNotSocket(t *testing.T) {
	content := testContent(300 << 10)
	path := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(path, content, 0o600)
	f, _ := os.Open(path)
	defer f.Close()
	var out recorder
	w := NewWriter(&out)
	if err := w.LiteralAt(f, 0, int64(len(content)), true); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if !bytes.Equal(out.Bytes()[len("~{307200}\r\n"):], content) {
		t.Fatal("content differs")
	}
	if out.writes > 6 {
		t.Fatalf("%d writes for 300 KiB: buffer not grown", out.writes)
	}
}

// A write error is not a LiteralError and is kept.
func TestLiteralFromWriteError(t *testing.T) {
	w := NewWriter(failingWriter{})
	err := w.LiteralFrom(bytes.NewReader(testContent(1<<20)), 1<<20, false)
	if err == nil || errors.As(err, new(*LiteralError)) {
		t.Fatalf("error %v", err)
	}
	if w.ByeAfterFailure("x") {
		t.Fatal("BYE after a write error")
	}
}

// Numbers and literal headers that do not fit in what is left of the
// buffer move to a larger one (or go out first) and are written whole.
func TestWriterPiecesAtBufferEnd(t *testing.T) {
	for fill := smallBufferSize - 30; fill <= smallBufferSize; fill++ {
		for _, big := range []bool{false, true} {
			var out bytes.Buffer
			w := NewWriter(&out)
			pad := strings.Repeat("x", fill)
			if big {
				pad = strings.Repeat("y", largeBufferSize-smallBufferSize) + pad
			}
			w.Raw(pad)
			w.Number(12345678901234567890)
			w.LiteralHeader(1234567, true)
			w.SP()
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if want := pad + "12345678901234567890~{1234567}\r\n "; out.String() != want {
				t.Fatalf("fill %d: got ...%q", fill, out.String()[len(pad)-5:])
			}
		}
	}
}

// LiteralAtFiltered changes the octets in the buffer, even from a file
// over a plain socket (no sendfile then), and still checks the size.
func TestLiteralAtFiltered(t *testing.T) {
	content := bytes.Repeat([]byte("ab\x00c"), 50<<10)
	path := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(path, content, 0o600)
	f, _ := os.Open(path)
	defer f.Close()
	server, client := tcpPair(t)
	nul := func(b []byte) {
		for i := range b {
			if b[i] == 0 {
				b[i] = 0x80
			}
		}
	}
	n := int64(len(content) - 4)
	head := "{" + strconv.FormatInt(n, 10) + "}\r\n"
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(head))+n))
		done <- b
	}()
	w := NewWriter(server)
	if err := w.LiteralAtFiltered(f, 4, n, false, nul); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := head + strings.ReplaceAll(string(content[4:]), "\x00", "\x80")
	if string(<-done) != want {
		t.Fatal("filtered content differs")
	}
	w = NewWriter(server)
	if err := w.LiteralAtFiltered(f, 5, n, false, nul); !errors.As(err, new(*LiteralError)) {
		t.Fatalf("past the end: %v", err)
	}
}
