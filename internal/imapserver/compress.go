package imapserver

import (
	"bufio"
	"compress/flate"
	"errors"
	"io"
	"sync"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/inflate"
)

// COMPRESS=DEFLATE (RFC 4978): after the tagged OK both directions are a
// raw DEFLATE stream (RFC 1951, no zlib header), each response burst ended
// with a sync flush so the client never waits for octets held in the
// compressor (RFC 4978 §4).
//
// Memory. A DEFLATE compressor is large (compress/flate: ~800 KiB at
// level 6, 1.2 MiB at level 1) and a connection spends nearly all its life
// waiting, so a waiting connection does not own one: it takes a
// compressor (and an output buffer) from a pool when a response burst
// starts, keeps it while the client keeps commands coming (pipelined: the
// next command is already here when a response is flushed, as in a sync),
// and gives both back when it is about to wait for the client (next
// command, IDLE, a synchronizing literal). That is valid DEFLATE because a
// sync flush leaves the stream at a block boundary, byte aligned, and a
// compressor reset there only emits new blocks that refer to nothing
// before them; a DEFLATE stream has no header and no end until a final
// block, which is never sent. The price is that the first burst after a
// wait cannot refer to text sent before it. The decompressor, by
// contrast, must keep the client's history (up to 32 KiB, RFC 1951
// §3.2.5) for as long as the stream lives, so it stays with the
// connection; it is internal/inflate, compress/flate's decoder changed to
// hand out each block as it ends (mbsync flushes with Z_PARTIAL_FLUSH,
// which compress/flate does not act on) and to grow its window with the
// client's input (a few KiB for the usual client instead of 40). See
// docs/COMPRESS.md for the measurements.

// compressLevel is the compressor's level: 6, zlib's default and
// Dovecot's. On a first sync of 10,000 text messages it sends 2.9x fewer
// body octets where level 1 sends 2.3x fewer (and 7.1x against 5.9x for
// the header list), for about 2-3 times level 1's CPU. See
// docs/COMPRESS.md.
var compressLevel = 6

// compressOutSize is the output buffer between a compressor and the
// socket: the compressor itself writes in pieces of a few hundred octets.
const compressOutSize = 16 << 10

// inflateInSize is the connection's own read buffer for compressed input
// (the decompressor reads octet by octet). It is small because it is kept
// for the connection's life; clients send little.
const inflateInSize = 1 << 10

var (
	compressors = sync.Pool{New: newCompressor}
	compressOut = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, compressOutSize) }}
)

func newCompressor() any {
	zw, err := flate.NewWriter(io.Discard, compressLevel)
	if err != nil {
		panic(err) // compressLevel is a valid level
	}
	return zw
}

// errCompressedInput wraps an error decoding the client's DEFLATE stream:
// the connection closes.
type errCompressedInput struct{ err error }

func (e *errCompressedInput) Error() string {
	return "imap: invalid compressed input: " + e.err.Error()
}
func (e *errCompressedInput) Unwrap() error { return e.err }

// deflateWriter is the imap.Writer's destination once COMPRESS is active.
// Between bursts it holds nothing but dst.
type deflateWriter struct {
	dst io.Writer     // the connection (plain or TLS)
	zw  *flate.Writer // from compressors during a burst, else nil
	out *bufio.Writer // from compressOut, with zw
	err error         // first error; the stream is unusable after it
}

func (d *deflateWriter) take() {
	d.out = compressOut.Get().(*bufio.Writer)
	d.out.Reset(d.dst)
	d.zw = compressors.Get().(*flate.Writer)
	d.zw.Reset(d.out)
}

// release gives the compressor and the buffer back (dropping what they
// hold, which matters only after an error).
func (d *deflateWriter) release() {
	if d.zw == nil {
		return
	}
	d.zw.Reset(io.Discard)
	compressors.Put(d.zw)
	d.out.Reset(io.Discard)
	compressOut.Put(d.out)
	d.zw, d.out = nil, nil
}

// Write compresses p. imap.Writer writes only from its own buffer, in
// pieces of up to 64 KiB, or large literals whole.
func (d *deflateWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.zw == nil {
		d.take()
	}
	n, err := d.zw.Write(p)
	if err != nil {
		d.err = err
		d.release()
	}
	return n, err
}

// Flush ends a burst: a sync flush (an empty stored block, RFC 1951
// §3.2.4, so every octet written so far can be decoded by the client) and
// the buffer to the socket. imap.Writer calls it at each of its flushes.
// The compressor stays, with its history, until the connection waits for
// the client (idle).
func (d *deflateWriter) Flush() error {
	if d.err != nil || d.zw == nil {
		return d.err
	}
	err := d.zw.Flush()
	if err == nil {
		err = d.out.Flush()
	}
	if err != nil {
		d.err = err
		d.release()
	}
	return err
}

// idle gives the compressor back to its pool; call it after a flush, when
// the connection is about to wait for its client. The next burst starts
// with a fresh compressor and no history.
func (d *deflateWriter) idle() { d.release() }

// inflateReader decodes the client's DEFLATE stream. It sits under the
// command clock (which then counts and times decompressed octets) and
// reads the socket through a small buffer of its own.
type inflateReader struct {
	zr  io.ReadCloser
	src byteSource
}

func newInflateReader(nc io.Reader, pipelined []byte) *inflateReader {
	z := &inflateReader{src: byteSource{nc: nc, left: pipelined}}
	z.zr = inflate.NewReader(&z.src)
	return z
}

// Read returns decompressed octets; a decoding error is an
// *errCompressedInput. The end of the client's stream (a final block, or
// the socket closing) is io.EOF as for an uncompressed connection; a
// stream cut inside a block is io.ErrUnexpectedEOF.
func (z *inflateReader) Read(p []byte) (int, error) {
	n, err := z.zr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && z.src.err == nil {
		// inflate.CorruptInputError, or an InternalError.
		// Not the socket's error: the stream itself is bad.
		err = &errCompressedInput{err}
	}
	return n, err
}

// byteSource gives the decompressor the io.ByteReader it needs (without
// one, it adds a 4 KiB bufio.Reader of its own): first the
// octets the client pipelined after COMPRESS, then the socket.
type byteSource struct {
	nc   io.Reader
	left []byte // pipelined octets received before compression began
	buf  [inflateInSize]byte
	r, w int
	err  error // the socket's error, kept
}

func (b *byteSource) fill() error {
	if len(b.left) > 0 {
		n := copy(b.buf[:], b.left)
		b.left = b.left[n:]
		if len(b.left) == 0 {
			b.left = nil
		}
		b.r, b.w = 0, n
		return nil
	}
	if b.err != nil {
		return b.err
	}
	for range 100 {
		n, err := b.nc.Read(b.buf[:])
		b.r, b.w = 0, n
		if err != nil {
			b.err = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	b.err = io.ErrNoProgress
	return b.err
}

func (b *byteSource) ReadByte() (byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, nil
}

// Read serves the decompressor's stored blocks.
func (b *byteSource) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(b.left) == 0 && len(p) >= len(b.buf) && b.err == nil {
			// A large stored block: straight from the socket.
			n, err := b.nc.Read(p)
			if err != nil {
				b.err = err
			}
			return n, err
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// startCompress switches the connection to DEFLATE both ways, right after
// the (uncompressed) tagged OK went out (RFC 4978 §3). Octets the client
// sent after the COMPRESS command line are already compressed: they are
// fed to the decompressor first.
func (c *conn) startCompress() {
	var pipelined []byte
	if c.br != nil && c.br.Buffered() > 0 {
		b, _ := c.br.Peek(c.br.Buffered())
		pipelined = append([]byte(nil), b...)
	}
	c.dropInput()
	c.inflate = newInflateReader(c.nc, pipelined)
	c.clock.src = c.inflate
	c.deflate = &deflateWriter{dst: c.nc}
	c.w.Flush() // nothing is pending: gives its buffer back
	c.w = imap.NewWriter(c.deflate)
	c.w.SetUTF8(c.utf8)
	c.attachInput()
}

// inputPending reports whether the client's next command is already here
// (pipelined), so reading it will not wait: decoded octets in the read
// buffer, or more compressed octets than the end of a flush leaves behind
// (the empty stored block of a sync flush is at most 5 octets, the tail
// of a partial flush 2; a compressed command with its flush is more).
func (c *conn) inputPending() bool {
	if c.br != nil && c.br.Buffered() > 0 {
		return true
	}
	z := c.inflate
	return z != nil && (z.src.w-z.src.r > flushTailMax || len(z.src.left) > 0)
}

// flushTailMax is the most a client's flush leaves undecoded after the
// data it ends (see inputPending).
const flushTailMax = 5

// compressorIdle gives the compressor back unless the client's next
// command is already here: a connection that waits holds none, one whose
// client pipelines (a sync) keeps its history from burst to burst. Called
// on the session goroutine only, after a flush.
func (c *conn) compressorIdle() {
	if c.deflate != nil && !c.inputPending() {
		c.deflate.idle()
	}
}

// idleCompressor gives the compressor back whatever is pending: IDLE
// waits for the client (its reader goroutine must not touch the writer).
func (c *conn) idleCompressor() {
	if c.deflate != nil {
		c.deflate.idle()
	}
}

// closeCompress gives back what a burst cut by an error still holds.
func (c *conn) closeCompress() {
	if c.deflate != nil {
		c.deflate.release()
	}
}

// cmdCompress: COMPRESS (RFC 4978 §3). DEFLATE is the only mechanism; a
// second COMPRESS gets NO [COMPRESSIONACTIVE] (Go's TLS never compresses,
// so TLS compression cannot be the reason).
func (s *session) cmdCompress(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.CompressArgs)
	if a.Mechanism != "DEFLATE" {
		return "", errBad("Unknown compression mechanism")
	}
	if s.c.deflate != nil {
		return "", errNo("COMPRESSIONACTIVE", "DEFLATE active via COMPRESS")
	}
	if s.state == stateSelected {
		// Whatever is pending goes out before the switch, in the clear,
		// as it would before any tagged OK.
		s.pushUpdates(true)
	}
	s.c.w.WriteStatus(cmd.Tag, "OK", "", "DEFLATE active")
	if err := s.c.flush(); err != nil {
		return "", errCloseConn
	}
	s.c.startCompress()
	s.log.Info("imap compress", "mechanism", "DEFLATE", "tls", s.c.tls)
	return "", errAnswered
}
