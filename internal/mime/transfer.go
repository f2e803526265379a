package mime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// ErrUnknownCTE is returned for a Content-Transfer-Encoding this package
// cannot decode; IMAP BINARY answers it with the UNKNOWN-CTE response code
// (RFC 3516 §4.3).
var ErrUnknownCTE = errors.New("mime: unknown content-transfer-encoding")

// NewDecoder returns a reader that undoes the Content-Transfer-Encoding
// encoding (RFC 2045 §6; case-insensitive, "" meaning 7bit) of r. Decoding
// is lenient: junk in base64 is skipped, a malformed quoted-printable escape
// is kept as written.
func NewDecoder(r io.Reader, encoding string) (io.Reader, error) {
	switch strings.ToUpper(strings.TrimSpace(encoding)) {
	case "", "7BIT", "8BIT", "BINARY":
		return r, nil
	case "BASE64":
		return &base64Reader{r: bufio.NewReader(r)}, nil
	case "QUOTED-PRINTABLE":
		return &qpReader{r: bufio.NewReader(r)}, nil
	}
	return nil, ErrUnknownCTE
}

// BodyReader returns the raw (still encoded) body of part p of the message
// in r.
func BodyReader(r io.ReaderAt, p *Part) io.Reader {
	return io.NewSectionReader(r, p.BodyStart, p.End-p.BodyStart)
}

// BinarySection is the content of BINARY[section] (RFC 3516 §4.2): the body
// of p with its Content-Transfer-Encoding removed. ErrUnknownCTE when the
// encoding is not known. Multiparts and embedded messages are returned as
// they are (their encoding can only be an identity one).
func BinarySection(r io.ReaderAt, p *Part) (io.Reader, error) {
	body := BodyReader(r, p)
	if p.IsMultipart() || p.Message != nil {
		return body, nil
	}
	return NewDecoder(body, p.Encoding)
}

// BinarySize is BINARY.SIZE[section] (RFC 3516 §4.2): the decoded size of
// p's body. It decodes the body to count.
func BinarySize(r io.ReaderAt, p *Part) (int64, error) {
	dec, err := BinarySection(r, p)
	if err != nil {
		return 0, err
	}
	if sr, ok := dec.(*io.SectionReader); ok {
		return sr.Size(), nil
	}
	return io.Copy(io.Discard, dec)
}

// base64Reader decodes base64 (RFC 2045 §6.8) leniently: characters
// outside the alphabet are ignored, padding is optional and may occur
// mid-stream, a trailing partial group yields what it can.
type base64Reader struct {
	r    *bufio.Reader
	acc  uint32
	n    int // sextets in acc
	out  []byte
	done bool
	buf  [3]byte
}

var base64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

func (b *base64Reader) Read(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		if len(b.out) > 0 {
			n := copy(p[written:], b.out)
			b.out = b.out[n:]
			written += n
			continue
		}
		if b.done {
			break
		}
		c, err := b.r.ReadByte()
		if err != nil {
			b.done = true
			b.flush()
			if !errors.Is(err, io.EOF) {
				return written, err
			}
			continue
		}
		v := base64Values[c]
		if c == '=' {
			// Padding ends a group; what follows starts a new one (some
			// mailers encode each line separately).
			b.flush()
			continue
		}
		if v == 0xff {
			continue
		}
		b.acc = b.acc<<6 | uint32(v)
		b.n++
		if b.n == 4 {
			b.buf[0], b.buf[1], b.buf[2] = byte(b.acc>>16), byte(b.acc>>8), byte(b.acc)
			b.out = b.buf[:3]
			b.acc, b.n = 0, 0
		}
	}
	if written == 0 && b.done && len(b.out) == 0 {
		return 0, io.EOF
	}
	return written, nil
}

// flush decodes a partial group (after padding or at the end).
func (b *base64Reader) flush() {
	switch b.n {
	case 2:
		b.buf[0] = byte(b.acc >> 4)
		b.out = b.buf[:1]
	case 3:
		b.buf[0], b.buf[1] = byte(b.acc>>10), byte(b.acc>>2)
		b.out = b.buf[:2]
	}
	b.acc, b.n = 0, 0
}

// qpReader decodes quoted-printable (RFC 2045 §6.7) line by line: trailing
// white space is removed, "=" at the end of a line is a soft line break, a
// malformed "=" escape is kept literally.
type qpReader struct {
	r   *bufio.Reader
	out []byte
	err error
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		line, err := q.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil // a long line: decode this piece, the rest follows
		} else if err != nil {
			q.err = err
		}
		q.out = q.decodeLine(q.out[:0], line)
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

func (q *qpReader) decodeLine(dst, line []byte) []byte {
	var eol []byte
	body := line
	if bytes.HasSuffix(body, []byte("\n")) {
		body = body[:len(body)-1]
		eol = []byte("\n")
		if bytes.HasSuffix(body, []byte("\r")) {
			body = body[:len(body)-1]
			eol = []byte("\r\n")
		}
		body = bytes.TrimRight(body, " \t")
	}
	soft := false
	if eol != nil && bytes.HasSuffix(body, []byte("=")) {
		body = body[:len(body)-1]
		soft = true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '=' && i+2 < len(body) && isHex(body[i+1]) && isHex(body[i+2]) {
			dst = append(dst, unhex(body[i+1])<<4|unhex(body[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	if !soft {
		dst = append(dst, eol...)
	}
	return dst
}
