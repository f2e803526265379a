package imapserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/imap"
)

// conn owns one client connection's transport: the socket, its buffered
// reader and writer, the IMAP codec on top of them, the TLS upgrade
// (RFC 3501 §6.2.1), DEFLATE compression (RFC 4978, compress.go) and the
// read/write deadlines.
//
// A connection waiting for a command holds no buffer: the read buffer is
// taken from a pool when the command's first octet arrives (read on its
// own, see commandClock.prefetch) and given back once the command is done
// and nothing more is buffered; the Writer takes its buffer from a pool
// for a response and gives it back at each flush (imap.Writer).
type conn struct {
	srv    *Server
	raw    net.Conn // the accepted socket; Server.Close closes it
	nc     net.Conn // raw, or the TLS connection on top of it
	remote netip.Addr
	tls    bool

	clock commandClock // bounds reading one command (cmdclock.go)
	// br is the read buffer, from readBuffers; nil while waiting for a
	// command with nothing buffered. It stays attached while a command
	// runs (IDLE and AUTHENTICATE read through it).
	br *bufio.Reader
	r  *imap.Reader
	w  *imap.Writer

	// inflate and deflate are the two directions once COMPRESS is active
	// (compress.go); w then writes to deflate.
	inflate *inflateReader
	deflate *deflateWriter

	utf8 bool // UTF-8 mailbox names (ENABLE UTF8=ACCEPT or IMAP4rev2)
	cut  bool // a response was cut (imap.LiteralError) and reported
	// wdSet is when writeDeadline last moved the write deadline.
	wdSet time.Time
}

// readBufferSize is the read buffer of a connection while it reads or
// runs a command. Longer lines are read in pieces (imap.Reader) and large
// literals bypass it, so it need not be large.
const readBufferSize = 4 << 10

var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

func newConn(srv *Server, nc net.Conn) *conn {
	c := &conn{srv: srv, raw: nc, nc: nc, remote: connlimit.RemoteIP(nc)}
	if _, ok := nc.(*tls.Conn); ok {
		c.tls = true
	}
	c.setupCodec()
	return c
}

// setupCodec (re)builds the codec on c.nc. Anything buffered from the
// old transport is dropped: after STARTTLS that is exactly the pipelined
// plaintext RFC 3501 §6.2.1 says to discard.
func (c *conn) setupCodec() {
	lim := c.srv.opts.Limits
	c.dropInput()
	c.clock = commandClock{nc: c.nc, timeout: lim.CommandTimeout}
	c.r = imap.NewReader(nil, imap.ReaderOptions{
		MaxLineLength: lim.MaxLineLength,
		LiteralLimit: func(cmd string) int64 {
			if cmd == "APPEND" || cmd == "REPLACE" {
				return c.srv.opts.MaxMessageSize
			}
			if cmd == "SETMETADATA" {
				// A longer value literal gets NO [METADATA MAXSIZE n].
				return c.srv.opts.Metadata.MaxValueSize
			}
			return lim.MaxLiteralSize
		},
		MaxCommandSize: max(int64(lim.MaxLineLength)*4, lim.MaxLiteralSize*4, c.srv.opts.Metadata.MaxValueSize*4, int64(imap.DefaultMaxCommandSize)),
		Continue: func() error {
			c.w.Continuation("Ready")
			err := c.flush()
			c.compressorIdle() // the literal may take long to come
			return err
		},
		UTF8:         c.utf8,
		MultiAppend:  true, // RFC 3502
		LiteralMinus: lim.LiteralMinus,
	})
	if c.w != nil {
		c.w.Flush() // gives its buffer back; nothing is pending
	}
	c.w = imap.NewWriter(c.nc)
	c.w.SetUTF8(c.utf8)
	c.attachInput()
}

// attachInput takes a read buffer from the pool if none is attached.
func (c *conn) attachInput() {
	if c.br != nil {
		return
	}
	c.br = readBuffers.Get().(*bufio.Reader)
	c.br.Reset(&c.clock)
	c.r.SetInput(c.br)
}

// releaseInput gives the read buffer back when it holds nothing (and the
// line buffer too, when a long line grew it).
func (c *conn) releaseInput() {
	if c.br != nil && c.br.Buffered() == 0 {
		c.dropInput()
	}
	if c.r != nil {
		c.r.Shrink()
	}
}

// dropInput gives the read buffer back, with what it holds.
func (c *conn) dropInput() {
	if c.br == nil {
		return
	}
	c.br.Reset(nil)
	readBuffers.Put(c.br)
	c.br = nil
	if c.r != nil {
		c.r.SetInput(nil)
	}
}

// awaitInput waits, holding no buffer, until the client sends something
// (or the read fails; the error comes with the next read), then attaches
// a read buffer. It does nothing when octets are buffered already.
func (c *conn) awaitInput() {
	if c.br != nil && c.br.Buffered() > 0 {
		return
	}
	c.releaseInput()
	c.clock.prefetch()
	c.attachInput()
}

// waitIdleDone is readIdleDone (idledone.go) for a client that may stay
// quiet for a long time: no read buffer is held until its first octet
// arrives. Run it in IDLE's reader goroutine.
func (c *conn) waitIdleDone() error {
	c.awaitInput()
	return c.readIdleDone()
}

// setUTF8 switches mailbox names to UTF-8 on both directions.
func (c *conn) setUTF8() {
	c.utf8 = true
	c.r.SetUTF8(true)
	c.w.SetUTF8(true)
}

// startTLS performs the server side of the TLS handshake on the socket.
func (c *conn) startTLS() error {
	tc := tls.Server(c.nc, c.srv.opts.TLS)
	c.nc.SetDeadline(time.Now().Add(c.srv.opts.Limits.CommandTimeout))
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.nc.SetDeadline(time.Time{})
	c.nc = tc
	c.wdSet = time.Time{}
	c.tls = true
	c.setupCodec()
	return nil
}

// readDeadline arms the idle timeout before waiting for a command.
func (c *conn) readDeadline(d time.Duration) {
	c.nc.SetReadDeadline(time.Now().Add(d))
}

// readCommand reads the next command: the idle timeout applies until its
// first octet arrives, then the command clock (cmdclock.go). inCommand
// reports whether the command had started, to tell a command that was
// read too slowly from an idle client when err is a timeout.
func (c *conn) readCommand(idle time.Duration) (cmd *imap.Command, inCommand bool, err error) {
	c.compressorIdle()
	c.readDeadline(idle)
	c.clock.beginCommand(c.br != nil && c.br.Buffered() > 0)
	c.awaitInput()
	cmd, err = c.r.ReadCommand()
	inCommand = c.clock.endCommand()
	return cmd, inCommand, err
}

// writeDeadline bounds how long a response may take to go out.
func (c *conn) writeDeadline() {
	// Moving the deadline resets a runtime timer: per message of a 10,000
	// message FETCH that was a tenth of the command's time. Once a second
	// (or a quarter of a shorter timeout) is plenty.
	timeout := c.srv.opts.Limits.CommandTimeout
	now := time.Now()
	if now.Sub(c.wdSet) < min(time.Second, timeout/4) {
		return
	}
	c.wdSet = now
	c.nc.SetWriteDeadline(now.Add(timeout))
}

// flush sends what the writer buffered. After a literal that could not
// be written in full (imap.LiteralError: the message content failed), the
// connection must close; the client is told with "* BYE" when the cut
// response can still be taken back, and the error is returned.
func (c *conn) flush() error {
	c.writeDeadline()
	err := c.w.Flush()
	var le *imap.LiteralError
	if errors.As(err, &le) && !c.cut {
		c.cut = true
		c.srv.log.Error("imap: response cut: message content could not be read", "remote", c.remote.String(), "err", err)
		c.w.ByeAfterFailure("Internal error reading a message, closing connection")
	}
	return err
}

// isTimeout reports a deadline error.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// isClosed reports an error that just means the peer went away.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}
