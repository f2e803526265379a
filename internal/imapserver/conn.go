package imapserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/imap"
)

// conn owns one client connection's transport: the socket, its buffered
// reader and writer, the IMAP codec on top of them, the TLS upgrade
// (RFC 3501 §6.2.1) and the read/write deadlines.
type conn struct {
	srv    *Server
	raw    net.Conn // the accepted socket; Server.Close closes it
	nc     net.Conn // raw, or the TLS connection on top of it
	remote netip.Addr
	tls    bool

	clock commandClock // bounds reading one command (cmdclock.go)
	br    *bufio.Reader
	bw    *bufio.Writer
	r     *imap.Reader
	w     *imap.Writer

	utf8 bool // UTF-8 mailbox names (ENABLE UTF8=ACCEPT or IMAP4rev2)
}

const ioBufferSize = 32 << 10

func newConn(srv *Server, nc net.Conn) *conn {
	c := &conn{srv: srv, raw: nc, nc: nc, remote: connlimit.RemoteIP(nc)}
	if _, ok := nc.(*tls.Conn); ok {
		c.tls = true
	}
	c.setupCodec()
	return c
}

// setupCodec (re)builds the buffers and codec on c.nc. Anything buffered
// from the old transport is dropped: after STARTTLS that is exactly the
// pipelined plaintext RFC 3501 §6.2.1 says to discard.
func (c *conn) setupCodec() {
	lim := c.srv.opts.Limits
	c.clock = commandClock{nc: c.nc, timeout: lim.CommandTimeout}
	c.br = bufio.NewReaderSize(&c.clock, ioBufferSize)
	c.bw = bufio.NewWriterSize(c.nc, ioBufferSize)
	c.r = imap.NewReader(c.br, imap.ReaderOptions{
		MaxLineLength: lim.MaxLineLength,
		LiteralLimit: func(cmd string) int64 {
			if cmd == "APPEND" {
				return c.srv.opts.MaxMessageSize
			}
			return lim.MaxLiteralSize
		},
		MaxCommandSize: max(int64(lim.MaxLineLength)*4, lim.MaxLiteralSize*4, int64(imap.DefaultMaxCommandSize)),
		Continue: func() error {
			c.w.Continuation("Ready")
			return c.flush()
		},
		UTF8: c.utf8,
	})
	c.w = imap.NewWriter(c.bw)
	c.w.SetUTF8(c.utf8)
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
	c.readDeadline(idle)
	c.clock.beginCommand(c.br.Buffered() > 0)
	cmd, err = c.r.ReadCommand()
	inCommand = c.clock.endCommand()
	return cmd, inCommand, err
}

// writeDeadline bounds how long a response may take to go out.
func (c *conn) writeDeadline() {
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.Limits.CommandTimeout))
}

// flush sends what the writer buffered.
func (c *conn) flush() error {
	c.writeDeadline()
	return c.w.Flush()
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
