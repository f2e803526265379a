package pop3client

import (
	"bufio"
	"errors"
	"io"
)

// dotReader reads a multi-line response body (RFC 1939 §3): it removes the
// extra "." of byte-stuffed lines and ends at the line holding one ".".
// Lines keep their CRLF ends.
type dotReader struct {
	r           *bufio.Reader
	pending     []byte // rest of the current chunk not yet returned
	atLineStart bool
	done        bool
	err         error
}

func newDotReader(r *bufio.Reader) *dotReader { return &dotReader{r: r, atLineStart: true} }

func (d *dotReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.done {
			return 0, io.EOF
		}
		if d.err != nil {
			return 0, d.err
		}
		chunk, err := d.r.ReadSlice('\n')
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			// A line longer than the buffer: pass on this part.
		case errors.Is(err, io.EOF):
			d.err = io.ErrUnexpectedEOF
			if len(chunk) == 0 {
				return 0, d.err
			}
		default:
			d.err = err
			if len(chunk) == 0 {
				return 0, err
			}
		}
		if d.atLineStart && len(chunk) > 0 && chunk[0] == '.' {
			if string(chunk) == ".\r\n" || string(chunk) == ".\n" {
				d.done = true
				return 0, io.EOF
			}
			chunk = chunk[1:]
		}
		d.atLineStart = err == nil
		d.pending = append(d.pending[:0], chunk...)
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// drain reads the body to its end.
func (d *dotReader) drain() error {
	_, err := io.Copy(io.Discard, d)
	return err
}
