package imap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// The reader reads a command one line at a time (RFC 3501 §2.2: a command
// is a line ending in CRLF, plus literals). A literal marker "{n}" / "{n+}"
// / "~{n}" ends its line (RFC 3501 §4.3, RFC 7888, RFC 3516); after the
// literal's octets the command continues on the next line.
//
// Parse failures panic with *parseFail inside ReadCommand's call tree and
// are turned into errors at its boundary; they never escape the package.

// parseFail carries a parse failure up to ReadCommand.
type parseFail struct {
	msg   string
	code  string
	no    bool
	fatal bool
	ioErr error // an I/O error of the underlying stream: returned as is
}

// trailingLiteral describes the literal marker ending the current line.
type trailingLiteral struct {
	present bool
	size    int64
	sync    bool
	binary  bool
	bad     bool // "{...}" with a malformed or huge size: cannot resync
}

func (r *Reader) fail(format string, args ...any) {
	panic(&parseFail{msg: fmt.Sprintf(format, args...)})
}

func (r *Reader) failIO(err error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	panic(&parseFail{ioErr: err})
}

// readLine reads the next line into r.line without its CRLF (a bare LF is
// accepted too). A line longer than MaxLineLength is read to its end
// without being kept (only its first MaxLineLength octets and its tail
// are), and r.tooLong is set. It returns io.EOF when the stream ends
// before any octet of the line, io.ErrUnexpectedEOF inside a line.
func (r *Reader) readLine() error {
	r.line = r.line[:0]
	r.pos = 0
	r.tooLong = false
	max := r.opts.MaxLineLength
	var tail []byte
	total := 0
	for {
		chunk, err := r.br.ReadSlice('\n')
		total += len(chunk)
		if !r.tooLong {
			if len(r.line)+len(chunk) <= max+2 {
				r.line = append(r.line, chunk...)
			} else {
				r.tooLong = true
				keep := max - len(r.line)
				if keep > 0 {
					r.line = append(r.line, chunk[:keep]...)
				}
				tail = append(tail, chunk...)
			}
		} else {
			tail = append(tail, chunk...)
		}
		if len(tail) > 64 {
			tail = append(tail[:0], tail[len(tail)-64:]...)
		}
		if err == nil {
			break
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && total == 0 {
			return io.EOF
		}
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if r.tooLong {
		tail = trimEOL(tail)
		r.trail = parseTrailingLiteral(tail)
	} else {
		r.line = trimEOL(r.line)
		r.trail = parseTrailingLiteral(r.line)
		r.cmdBytes += int64(len(r.line))
		r.tooLong = len(r.line) > max
	}
	return nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// parseTrailingLiteral finds a literal marker at the end of a line.
func parseTrailingLiteral(line []byte) trailingLiteral {
	n := len(line)
	if n < 3 || line[n-1] != '}' {
		return trailingLiteral{}
	}
	open := strings.LastIndexByte(string(line[:n-1]), '{')
	if open < 0 {
		return trailingLiteral{}
	}
	inner := string(line[open+1 : n-1])
	if inner == "" || inner == "+" {
		return trailingLiteral{} // "{}" is no literal; nothing will follow
	}
	t := trailingLiteral{present: true, sync: true, binary: open > 0 && line[open-1] == '~'}
	if strings.HasSuffix(inner, "+") {
		inner = inner[:len(inner)-1]
		t.sync = false
	}
	size, err := strconv.ParseInt(inner, 10, 64)
	if err != nil || size < 0 || inner == "" || inner[0] == '+' {
		// Not a number: either not a literal at all (an atom cannot hold
		// "{", so this is junk) or one we cannot size.
		for _, c := range []byte(inner) {
			if c < '0' || c > '9' {
				return trailingLiteral{}
			}
		}
		t.bad = true
	}
	t.size = size
	return t
}

// skipCommand consumes what remains of a failed command: literals announced
// at the end of the current line and the lines after them. A synchronizing
// literal ends the command, since no continuation was sent and the client
// must not send it (RFC 3501 §7.5). A non-synchronizing one is read and
// discarded, up to MaxDiscard octets (RFC 7888 §4).
func (r *Reader) skipCommand() error {
	for {
		t := r.trail
		if !t.present || t.sync && !t.bad {
			return nil
		}
		if t.bad || t.size > MaxDiscard {
			return errors.New("non-synchronizing literal too large to skip")
		}
		if _, err := io.CopyN(io.Discard, r.br, t.size); err != nil {
			return err
		}
		if err := r.readLine(); err != nil {
			return err
		}
	}
}

// Token primitives. They work on r.line at r.pos.

func (r *Reader) eol() bool { return r.pos >= len(r.line) }

// peek returns the next octet, or 0 at the end of the line.
func (r *Reader) peek() byte {
	if r.pos >= len(r.line) {
		return 0
	}
	return r.line[r.pos]
}

func (r *Reader) expect(c byte, what string) {
	if r.peek() != c || r.eol() {
		r.fail("expected %s", what)
	}
	r.pos++
}

func (r *Reader) sp() { r.expect(' ', "space") }

// end checks that the command has no more arguments.
func (r *Reader) end() {
	if !r.eol() {
		r.fail("unexpected characters at end of command")
	}
}

// run returns the longest run of octets from r.pos accepted by ok.
func (r *Reader) run(ok func(byte) bool) string {
	start := r.pos
	for r.pos < len(r.line) && ok(r.line[r.pos]) {
		r.pos++
	}
	return string(r.line[start:r.pos])
}

// atom reads an atom (RFC 3501 atom).
func (r *Reader) atom(what string) string {
	s := r.run(isAtomChar)
	if s == "" {
		r.fail("expected %s", what)
	}
	return s
}

// keywordAhead reports whether the next atom equals kw (any case) followed
// by a space, a parenthesis or the end; it does not consume it.
func (r *Reader) keywordAhead(kw string) bool {
	end := r.pos + len(kw)
	if end > len(r.line) || !strings.EqualFold(string(r.line[r.pos:end]), kw) {
		return false
	}
	return end == len(r.line) || r.line[end] == ' ' || r.line[end] == '(' || r.line[end] == ')'
}

// astring reads an astring: atom with resp-specials, quoted or literal.
// Octets above 0x7f are accepted in the atom form (UTF-8 atoms, as sent by
// some clients and allowed by RFC 9051's utf8 rules); mailbox name decoding
// then decides whether they are valid.
func (r *Reader) astring(what string) string {
	switch r.peek() {
	case '"', '{':
		return r.str(what)
	}
	s := r.run(func(c byte) bool { return c >= 0x80 || isAStringChar(c) })
	if s == "" {
		r.fail("expected %s", what)
	}
	return s
}

// str reads a string: quoted or literal (RFC 3501 string).
func (r *Reader) str(what string) string {
	switch r.peek() {
	case '"':
		return r.quoted()
	case '{':
		return string(r.literalBytes())
	}
	r.fail("expected %s", what)
	return ""
}

// quoted reads a quoted string. Octets above 0x7f are accepted (UTF-8
// quoted strings, RFC 6855 §3 / RFC 9051); NUL is not.
func (r *Reader) quoted() string {
	r.pos++ // opening quote
	var b []byte
	for {
		if r.eol() {
			r.fail("unterminated quoted string")
		}
		c := r.line[r.pos]
		r.pos++
		switch c {
		case '"':
			return string(b)
		case '\\':
			if r.eol() || r.line[r.pos] != '"' && r.line[r.pos] != '\\' {
				r.fail("bad escape in quoted string")
			}
			b = append(b, r.line[r.pos])
			r.pos++
		case 0, '\r', '\n':
			r.fail("control character in quoted string")
		default:
			b = append(b, c)
		}
	}
}

// literalMarker reads "{n}" or "{n+}" ("~" already consumed for literal8),
// which must end the line, and returns size and sync.
func (r *Reader) literalMarker() (int64, bool) {
	r.expect('{', "literal")
	digits := r.run(isDigit)
	sync := true
	if r.peek() == '+' {
		sync = false
		r.pos++
	}
	if digits == "" || r.peek() != '}' {
		r.fail("malformed literal")
	}
	r.pos++
	if !r.eol() {
		r.fail("literal must end the line")
	}
	size, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		r.trail.present = false // cannot be skipped reliably
		panic(&parseFail{msg: "literal size out of range", fatal: true})
	}
	return size, sync
}

// admitLiteral checks a literal's size against limit and, for a
// synchronizing literal, asks the client to send it.
func (r *Reader) admitLiteral(size int64, sync bool, limit int64) {
	if size > limit || !sync && r.opts.LiteralMinus && size > literalMinusMax {
		if sync {
			r.trail.present = false // the client will not send it
			panic(&parseFail{msg: "literal too large", code: "TOOBIG", no: true})
		}
		panic(&parseFail{msg: "non-synchronizing literal too large", code: "TOOBIG"})
	}
	if sync && r.opts.Continue != nil {
		if err := r.opts.Continue(); err != nil {
			r.failIO(err)
		}
	}
}

func (r *Reader) literalLimit() int64 {
	if r.opts.LiteralLimit != nil {
		return r.opts.LiteralLimit(r.cmdName)
	}
	return DefaultLiteralLimit
}

// literalBytes reads a literal that becomes a string argument, then the
// line after it.
func (r *Reader) literalBytes() []byte {
	size, sync := r.literalMarker()
	limit := r.literalLimit()
	if room := r.opts.MaxCommandSize - r.cmdBytes; room < limit {
		limit = room
	}
	r.admitLiteral(size, sync, limit)
	buf := make([]byte, size)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		r.failIO(err)
	}
	r.cmdBytes += size
	r.nextLine()
	return buf
}

// messageLiteral reads an APPEND message literal ("{n}", "{n+}", "~{n}",
// "~{n+}"), spooling it to a file when large, then the line after it.
func (r *Reader) messageLiteral() *Literal {
	binary := false
	if r.peek() == '~' {
		binary = true
		r.pos++
	}
	size, sync := r.literalMarker()
	r.admitLiteral(size, sync, r.literalLimit())
	lit := &Literal{Size: size, Binary: binary}
	if size <= r.opts.SpoolThreshold && r.memLiterals+size <= 4*r.opts.SpoolThreshold {
		r.memLiterals += size
		lit.data = make([]byte, size)
		if _, err := io.ReadFull(r.br, lit.data); err != nil {
			r.failIO(err)
		}
	} else {
		f, err := os.CreateTemp(r.opts.SpoolDir, "imap-literal-*")
		if err != nil {
			panic(&parseFail{msg: "cannot store literal", fatal: true})
		}
		lit.file = f
		r.spooled = append(r.spooled, lit)
		n, err := io.CopyN(f, r.br, size)
		if err != nil {
			if n < size && (err == io.EOF || !isWriteErr(f, err)) {
				r.failIO(err)
			}
			panic(&parseFail{msg: "cannot store literal", fatal: true})
		}
	}
	r.nextLine()
	return lit
}

// isWriteErr reports whether err came from writing f (spool trouble) rather
// than from reading the connection.
func isWriteErr(f *os.File, err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == f.Name()
}

// nextLine reads the line that continues the command after a literal.
func (r *Reader) nextLine() {
	if err := r.readLine(); err != nil {
		r.failIO(err)
	}
	if r.cmdBytes > r.opts.MaxCommandSize {
		r.fail("command too long")
	}
	if r.tooLong {
		r.fail("line too long")
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads a 32-bit number (RFC 3501 number).
func (r *Reader) number(what string) uint32 {
	return uint32(r.numberN(what, 32))
}

// number64 reads a 63-bit number (RFC 9051 number64, RFC 7162
// mod-sequence-value).
func (r *Reader) number64(what string) uint64 {
	return r.numberN(what, 63)
}

func (r *Reader) numberN(what string, bits int) uint64 {
	s := r.run(isDigit)
	if s == "" {
		r.fail("expected %s", what)
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		r.fail("%s out of range", what)
	}
	return n
}

func (r *Reader) nzNumber(what string) uint32 {
	n := r.number(what)
	if n == 0 {
		r.fail("%s must not be zero", what)
	}
	return n
}

// seqSet reads a sequence set or "$".
func (r *Reader) seqSet() SeqSet {
	s := r.run(func(c byte) bool { return isDigit(c) || c == ':' || c == ',' || c == '*' || c == '$' })
	set, err := ParseSeqSet(s)
	if err != nil {
		r.fail("invalid sequence set")
	}
	return set
}
