package pop3server

import (
	"bytes"
	"io"
)

// dotWriter writes a multi-line response body (RFC 1939 §3): every line that
// starts with "." gets one more ".", and Close ends the body with ".\r\n",
// first adding CRLF if the body did not end with a line end.
type dotWriter struct {
	w           io.Writer
	atLineStart bool
}

func newDotWriter(w io.Writer) *dotWriter { return &dotWriter{w: w, atLineStart: true} }

func (d *dotWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if d.atLineStart && p[0] == '.' {
			if _, err := d.w.Write([]byte{'.'}); err != nil {
				return written, err
			}
		}
		// Write through the next line that starts with ".", exclusive, or
		// all of p: lines needing a "." are rare, so most of p goes in
		// one write.
		end := len(p)
		if i := bytes.Index(p, dotLine); i >= 0 {
			end = i + 1 // through the '\n'
		}
		n, err := d.w.Write(p[:end])
		written += n
		if err != nil {
			return written, err
		}
		d.atLineStart = p[end-1] == '\n'
		p = p[end:]
	}
	return written, nil
}

var dotLine = []byte("\n.")

// Close writes the terminating line. It does not close the underlying writer.
func (d *dotWriter) Close() error {
	if !d.atLineStart {
		if _, err := io.WriteString(d.w, "\r\n"); err != nil {
			return err
		}
	}
	_, err := io.WriteString(d.w, ".\r\n")
	return err
}

// topWriter passes on the header of a message, the empty line after it, and
// then at most bodyLines lines of the body (RFC 1939 §7 TOP). It reports
// errTopDone once it has passed on everything TOP sends.
type topWriter struct {
	w         io.Writer
	bodyLines int  // body lines still to pass on
	inBody    bool // the empty line ending the header has been passed on
	lineLen   int  // octets of the current line so far
	lastByte  byte // last octet of the current line so far
	done      bool
}

// errTopDone stops the copy once TOP has sent all it should.
var errTopDone = errorString("pop3server: TOP output complete")

type errorString string

func (e errorString) Error() string { return string(e) }

func newTopWriter(w io.Writer, bodyLines int) *topWriter {
	return &topWriter{w: w, bodyLines: bodyLines, done: false}
}

func (t *topWriter) Write(p []byte) (int, error) {
	if t.done {
		return 0, errTopDone
	}
	if t.inBody && t.bodyLines == 0 {
		t.done = true
		return 0, errTopDone
	}
	for i, b := range p {
		if b != '\n' {
			t.lineLen++
			t.lastByte = b
			continue
		}
		empty := t.lineLen == 0 || (t.lineLen == 1 && t.lastByte == '\r')
		t.lineLen, t.lastByte = 0, 0
		if !t.inBody {
			if empty {
				t.inBody = true
			} else {
				continue
			}
		} else {
			t.bodyLines--
		}
		if t.bodyLines == 0 {
			t.done = true
			n, err := t.w.Write(p[:i+1])
			if err != nil {
				return n, err
			}
			return n, errTopDone
		}
	}
	return t.w.Write(p)
}
