package pop3server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"time"
)

// errLineTooLong reports a command line over the limit. The rest of the line
// has been read and dropped, so the stream stays in sync.
var errLineTooLong = errors.New("pop3server: line too long")

// transport owns the socket of one session: buffered reading of CRLF lines
// with a length limit, buffered writing, and the idle timeout applied to
// every read and write.
type transport struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	idle time.Duration
}

func newTransport(c net.Conn, idle time.Duration) *transport {
	t := &transport{conn: c, idle: idle}
	t.r = bufio.NewReaderSize(c, 4096)
	t.w = bufio.NewWriterSize(deadlineWriter{t}, 32*1024)
	return t
}

// replaceConn switches to a new connection (after a TLS handshake). Buffered
// input from the old connection is discarded (RFC 2595 §4: anything the
// client pipelined after STLS must not be taken as a command).
func (t *transport) replaceConn(c net.Conn) {
	t.conn = c
	t.r = bufio.NewReaderSize(c, 4096)
	t.w.Reset(deadlineWriter{t})
}

// deadlineWriter pushes the write deadline forward before every write, so a
// long RETR to a slow but live client never times out while a client that
// stops reading does.
type deadlineWriter struct{ t *transport }

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.t.conn.SetWriteDeadline(time.Now().Add(d.t.idle))
	return d.t.conn.Write(p)
}

// readLine reads one line of at most max octets including its end (CRLF,
// or a bare LF from sloppy clients) and returns it without the end. A longer
// line is consumed up to its end and reported as errLineTooLong.
func (t *transport) readLine(max int) (string, error) {
	t.conn.SetReadDeadline(time.Now().Add(t.idle))
	var line []byte
	tooLong := false
	for {
		chunk, err := t.r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max {
				tooLong = true
				line = nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return "", errLineTooLong
			}
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return string(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && (len(line) > 0 || tooLong):
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

// hasBufferedLine reports whether a complete command is already buffered;
// while one is, replies are not flushed yet (RFC 2449 §6.6 PIPELINING: the
// replies to a pipelined batch go out together).
func (t *transport) hasBufferedLine() bool {
	n := t.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := t.r.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

func (t *transport) flush() error { return t.w.Flush() }
