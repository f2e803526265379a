package mime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads a message line by line, keeping track of offsets and of
// the number of LFs seen (for the line counts of BODYSTRUCTURE). A line ends
// at LF; CRLF and bare LF are both accepted. Lines of any length are read,
// but only their first keep bytes are returned, so a huge line costs no
// memory.
type lineReader struct {
	br       *bufio.Reader
	pos      int64 // offset of the next unread byte
	lfs      int64 // LFs before pos
	lastTerm int   // terminator length of the previous line
	scratch  []byte
	err      error // first I/O error other than EOF
}

// line is one line as returned by lineReader.next.
type line struct {
	b        []byte // first bytes of the line (up to keep), valid until the next call
	start    int64  // offset of the line
	n        int64  // full length including the terminator
	term     int    // terminator length: 2 (CRLF), 1 (LF) or 0 (last line, no LF)
	prevTerm int    // terminator length of the line before (0 at the start)
	lfs      int64  // LFs before start
}

// content is the line without its terminator (possibly truncated to keep).
func (l *line) content() []byte {
	if int64(len(l.b)) == l.n {
		return l.b[:len(l.b)-l.term]
	}
	return l.b
}

// blank reports whether the line is empty apart from its terminator.
func (l *line) blank() bool { return l.term > 0 && l.n == int64(l.term) }

const readBufferSize = 64 << 10

func newLineReader(r io.Reader, size int64) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, int(min(readBufferSize, max(size, 256))))}
}

// next reads the next line; ok is false at the end of input or on an I/O
// error (kept in lr.err).
func (lr *lineReader) next(keep int) (l line, ok bool) {
	l.start, l.lfs, l.prevTerm = lr.pos, lr.lfs, lr.lastTerm
	chunk, err := lr.br.ReadSlice('\n')
	if len(chunk) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			lr.err = err
		}
		return l, false
	}
	n := int64(len(chunk))
	var prevByte byte // byte before the final chunk, to spot a CR split from its LF
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.scratch = append(lr.scratch[:0], chunk[:min(len(chunk), keep)]...)
		for errors.Is(err, bufio.ErrBufferFull) {
			prevByte = chunk[len(chunk)-1]
			chunk, err = lr.br.ReadSlice('\n')
			if room := keep - len(lr.scratch); room > 0 {
				lr.scratch = append(lr.scratch, chunk[:min(len(chunk), room)]...)
			}
			n += int64(len(chunk))
		}
		l.b = lr.scratch
	} else {
		l.b = chunk
		if len(l.b) > keep {
			l.b = l.b[:keep]
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		lr.err = err
		return l, false
	}
	l.n = n
	if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
		l.term = 1
		if len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' || len(chunk) == 1 && prevByte == '\r' {
			l.term = 2
		}
		lr.lfs++
	}
	lr.pos += n
	lr.lastTerm = l.term
	return l, true
}

// matchBoundary reports whether content (a line without terminator) is a
// boundary delimiter of one of bounds (RFC 2046 §5.1.1: "--" boundary, then
// "--" for the close delimiter, then optional linear white space). The
// innermost boundary (last) is tried first. It returns the index in bounds.
func matchBoundary(content []byte, bounds []string) (idx int, closing bool) {
	if len(bounds) == 0 || len(content) < 3 || content[0] != '-' || content[1] != '-' {
		return -1, false
	}
	rest := content[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		tail := rest[len(b):]
		closing := false
		if bytes.HasPrefix(tail, []byte("--")) {
			closing = true
			tail = tail[2:]
		}
		if len(bytes.Trim(tail, " \t\r")) == 0 {
			return i, closing
		}
	}
	return -1, false
}
