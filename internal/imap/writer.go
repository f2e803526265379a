package imap

import (
	"bufio"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Writer writes server responses (RFC 3501 §7, RFC 9051 §7). The first
// write error is kept: later calls do nothing and Err/Flush return it.
// Not safe for concurrent use.
//
// Body rendering (Envelope, BodyStructure, Body) lives in envelope.go and
// bodystructure.go.
type Writer struct {
	bw   *bufio.Writer
	err  error
	utf8 bool
}

// NewWriter returns a Writer on bw.
func NewWriter(bw *bufio.Writer) *Writer { return &Writer{bw: bw} }

// SetUTF8 switches to UTF-8 mode (after ENABLE UTF8=ACCEPT or IMAP4rev2):
// mailbox names are written as UTF-8 and quoted strings may carry UTF-8
// (RFC 6855 §3, RFC 9051 §4.3).
func (w *Writer) SetUTF8(on bool) { w.utf8 = on }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// Flush writes buffered data to the connection.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.bw.Flush()
	return w.err
}

// Write writes raw octets (literal contents streamed after LiteralHeader).
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.err = err
	return n, err
}

// Raw writes s unchanged; the caller vouches for its syntax.
func (w *Writer) Raw(s string) {
	if w.err != nil {
		return
	}
	_, w.err = w.bw.WriteString(s)
}

func (w *Writer) byte1(c byte) {
	if w.err != nil {
		return
	}
	w.err = w.bw.WriteByte(c)
}

// SP writes one space.
func (w *Writer) SP() { w.byte1(' ') }

// CRLF ends a response line.
func (w *Writer) CRLF() { w.Raw("\r\n") }

// OpenList writes "(".
func (w *Writer) OpenList() { w.byte1('(') }

// CloseList writes ")".
func (w *Writer) CloseList() { w.byte1(')') }

// Atom writes s as an atom; the caller vouches that it is one (command
// names, flags, capability names, data item names).
func (w *Writer) Atom(s string) { w.Raw(s) }

// Number writes a decimal number.
func (w *Writer) Number(n uint64) {
	if w.err != nil {
		return
	}
	var buf [20]byte
	_, w.err = w.bw.Write(strconv.AppendUint(buf[:0], n, 10))
}

// Nil writes NIL.
func (w *Writer) Nil() { w.Raw("NIL") }

// String writes s as a quoted string when it can be one, else as a literal
// (RFC 3501 §4.3): CR, LF, NUL or 8-bit octets force a literal; in UTF-8
// mode valid UTF-8 may stay quoted.
func (w *Writer) String(s string) {
	if w.quotable(s) {
		w.quoted(s)
		return
	}
	w.LiteralHeader(int64(len(s)), false)
	w.Raw(s)
}

// NString writes NIL for "" and String(s) otherwise (RFC 3501 nstring).
func (w *Writer) NString(s string) {
	if s == "" {
		w.Nil()
		return
	}
	w.String(s)
}

// AString writes s as an atom when every octet is an ASTRING-CHAR and s is
// not empty, else as String (RFC 3501 astring).
func (w *Writer) AString(s string) {
	if isAtomString(s, true) {
		w.Raw(s)
		return
	}
	w.String(s)
}

// Literal writes data as a literal: "{n}" CRLF data.
func (w *Writer) Literal(data []byte) {
	w.LiteralHeader(int64(len(data)), false)
	_, _ = w.Write(data)
}

// LiteralHeader writes "{size}" CRLF, or "~{size}" CRLF when binary
// (literal8, RFC 3516 §4.2); size octets must follow (see Write).
func (w *Writer) LiteralHeader(size int64, binary bool) {
	if binary {
		w.byte1('~')
	}
	w.byte1('{')
	w.Number(uint64(size))
	w.Raw("}\r\n")
}

// Flags writes a parenthesised flag list.
func (w *Writer) Flags(flags []string) {
	w.OpenList()
	for i, f := range flags {
		if i > 0 {
			w.SP()
		}
		w.Raw(f)
	}
	w.CloseList()
}

// SeqSet writes a sequence set in its compact form.
func (w *Writer) SeqSet(s SeqSet) { w.Raw(s.String()) }

// Mailbox writes a mailbox name: INBOX as INBOX, others encoded in
// modified UTF-7 (RFC 3501 §5.1.3) or, in UTF-8 mode, as UTF-8; always
// quoted (or a literal when needed).
func (w *Writer) Mailbox(name string) {
	if isInbox(name) {
		w.quoted("INBOX")
		return
	}
	if !w.utf8 {
		name = EncodeMailboxName(name)
	}
	w.String(name)
}

// DateTime writes a quoted date-time: "02-Jan-2006 15:04:05 -0700"
// (RFC 3501 §9 date-time).
func (w *Writer) DateTime(t time.Time) {
	w.byte1('"')
	w.Raw(FormatDateTime(t))
	w.byte1('"')
}

// WriteStatus writes a status response line: "tag OK [code] text" CRLF.
// tag "" writes an untagged "*" response. status is OK, NO, BAD, BYE or
// PREAUTH; code is written inside brackets when not empty.
func (w *Writer) WriteStatus(tag, status, code, text string) {
	if tag == "" {
		tag = "*"
	}
	w.Raw(tag)
	w.SP()
	w.Raw(status)
	if code != "" {
		w.Raw(" [")
		w.Raw(code)
		w.byte1(']')
	}
	if text == "" {
		text = status // resp-text needs text after the code (RFC 3501 §9)
	}
	w.SP()
	w.Raw(sanitizeText(text))
	w.CRLF()
}

// StartUntagged writes "* "; the caller writes the rest and CRLF.
func (w *Writer) StartUntagged() { w.Raw("* ") }

// Untagged writes a whole untagged line "* " line CRLF; line is raw.
func (w *Writer) Untagged(line string) {
	w.StartUntagged()
	w.Raw(line)
	w.CRLF()
}

// Continuation writes a continuation request "+ text" CRLF (RFC 3501 §7.5).
func (w *Writer) Continuation(text string) {
	if text == "" {
		text = "Ready"
	}
	w.Raw("+ ")
	w.Raw(sanitizeText(text))
	w.CRLF()
}

// SASLChallenge writes a base64 AUTHENTICATE challenge "+ b64" CRLF
// (RFC 3501 §6.2.2); an empty challenge is "+ " CRLF.
func (w *Writer) SASLChallenge(data []byte) {
	w.Raw("+ ")
	w.Raw(base64.StdEncoding.EncodeToString(data))
	w.CRLF()
}

// quotable reports whether s can be written as a quoted string.
func (w *Writer) quotable(s string) bool {
	if len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' {
			return false
		}
		if c >= 0x80 && !w.utf8 {
			return false
		}
	}
	return !w.utf8 || utf8.ValidString(s)
}

// quoted writes s as a quoted string, escaping " and \ (RFC 3501 §9 quoted).
func (w *Writer) quoted(s string) {
	w.byte1('"')
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			w.Raw(s[start:i])
			w.byte1('\\')
			start = i
		}
	}
	w.Raw(s[start:])
	w.byte1('"')
}

// sanitizeText makes s a valid resp text: no CR or LF.
func sanitizeText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			b := []byte(s)
			for j := range b {
				if b[j] == '\r' || b[j] == '\n' {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}

// isInbox reports whether name is INBOX in any case (RFC 3501 §5.1).
func isInbox(name string) bool {
	return len(name) == 5 && (name[0]|0x20) == 'i' && (name[1]|0x20) == 'n' &&
		(name[2]|0x20) == 'b' && (name[3]|0x20) == 'o' && (name[4]|0x20) == 'x'
}

// astringText renders s as an astring: atom when possible, else quoted; a
// string that needs a literal is quoted anyway with its CR/LF replaced
// (used for echoing header names, which cannot hold them).
func (w *Writer) astringText(s string) string {
	if isAtomString(s, true) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r', '\n', 0:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
