package imap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// Writer writes server responses (RFC 3501 §7, RFC 9051 §7). The first
// error is kept: later calls do nothing and Err/Flush return it.
// Not safe for concurrent use.
//
// Output is buffered in memory taken from a pool when a response starts
// and given back by Flush, so a connection waiting for its next command
// holds no buffer. The buffer starts small (4 KiB) and is swapped for a
// large one (64 KiB) when a response outgrows it, until the next Flush.
// Literal contents of known size are streamed with LiteralFrom and
// LiteralAt, which hand a file's octets to the kernel (sendfile) when
// the destination is a plain socket; such a literal is never padded or cut
// short silently (see LiteralError).
//
// Body rendering (Envelope, BodyStructure, Body) lives in body.go.
type Writer struct {
	dst  io.Writer
	buf  []byte     // pending octets; nil when none (the buffer is back in its pool)
	bufp *[]byte    // the pool's handle on buf
	pool *sync.Pool // where buf came from
	err  error
	utf8 bool

	// Response framing, in octets since the Writer was made, so that a
	// response cut by a failed literal can be taken back when none of it
	// has been sent (ByeAfterFailure).
	total     int64 // octets accepted (sent or buffered)
	sent      int64 // octets handed to dst
	respStart int64 // where the unfinished response starts
	litLeft   int64 // octets of the current literal still to come
}

// Buffer sizes: small for the usual response, large for a big one (many
// FETCH responses, a literal streamed through memory, TLS records).
const (
	smallBufferSize = 4 << 10
	largeBufferSize = 64 << 10
)

var (
	smallBuffers = sync.Pool{New: func() any { b := make([]byte, 0, smallBufferSize); return &b }}
	largeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, largeBufferSize); return &b }}
)

// NewWriter returns a Writer that sends to dst: the connection (a plain
// or TLS net.Conn) or a layer on it (a compressor, a test buffer). The
// Writer buffers by itself, so dst needs no buffer of its own.
func NewWriter(dst io.Writer) *Writer { return &Writer{dst: dst} }

// SetUTF8 switches to UTF-8 mode (after ENABLE UTF8=ACCEPT or IMAP4rev2):
// mailbox names are written as UTF-8 and quoted strings may carry UTF-8
// (RFC 6855 §3, RFC 9051 §4.3).
func (w *Writer) SetUTF8(on bool) { w.utf8 = on }

// Err returns the first error.
func (w *Writer) Err() error { return w.err }

// Buffered returns the number of octets written but not yet sent.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush sends what is buffered and gives the buffer back to its pool.
// When the destination has a Flush method (a compressor, a bufio.Writer),
// it is called too.
//
// After a *LiteralError nothing is sent, and what is buffered is kept for
// ByeAfterFailure.
func (w *Writer) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		w.send()
	}
	var le *LiteralError
	if errors.As(w.err, &le) {
		return w.err
	}
	w.release()
	if f, ok := w.dst.(interface{ Flush() error }); ok && w.err == nil {
		if err := f.Flush(); err != nil {
			w.fail(err)
		}
	}
	return w.err
}

// send hands buf to dst and empties it.
func (w *Writer) send() {
	n, err := w.dst.Write(w.buf)
	w.sent += int64(n)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.fail(err)
	}
	w.buf = w.buf[:0]
}

// fail records the first error; what is pending is dropped at Flush.
func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// release gives the buffer back to its pool.
func (w *Writer) release() {
	if w.buf == nil {
		return
	}
	*w.bufp = w.buf[:0]
	w.pool.Put(w.bufp)
	w.buf, w.bufp, w.pool = nil, nil, nil
}

// take gets a buffer from pool.
func (w *Writer) take(pool *sync.Pool) {
	w.pool = pool
	w.bufp = pool.Get().(*[]byte)
	w.buf = *w.bufp
}

// room makes sure buf has free space for a write of about n octets: it
// takes a buffer from a pool (a large one when n is large), moves to a
// large one when the small one is full, and sends a full large one.
func (w *Writer) room(n int64) {
	if w.buf == nil {
		if n > smallBufferSize {
			w.take(&largeBuffers)
		} else {
			w.take(&smallBuffers)
		}
		return
	}
	if len(w.buf) < cap(w.buf) {
		return
	}
	if w.pool == &smallBuffers {
		w.grow()
		return
	}
	w.send()
}

// grow moves what the small buffer holds to a large one.
func (w *Writer) grow() {
	// Copy out of the small buffer before it goes back to its pool:
	// once Put, another connection may take it and write into it.
	smallp, small := w.bufp, w.buf
	w.take(&largeBuffers)
	w.buf = append(w.buf, small...)
	*smallp = small[:0]
	smallBuffers.Put(smallp)
}

// write buffers p (raw octets). Its last LF outside a literal ends a
// response.
func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	track(w, p, bytes.LastIndexByte)
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == 0 && len(p) >= largeBufferSize {
			// Large with nothing pending: straight to the connection.
			n, err := w.dst.Write(p)
			w.sent += int64(n)
			if err == nil && n < len(p) {
				err = io.ErrShortWrite
			}
			if err != nil {
				w.fail(err)
			}
			return
		}
		w.room(int64(len(p)))
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
	}
}

// writeString is write for a string, without converting it.
func (w *Writer) writeString(s string) {
	if w.err != nil {
		return
	}
	track(w, s, strings.LastIndexByte)
	for len(s) > 0 && w.err == nil {
		w.room(int64(len(s)))
		k := copy(w.buf[len(w.buf):cap(w.buf)], s)
		w.buf = w.buf[:len(w.buf)+k]
		s = s[k:]
	}
}

// track accounts for p, about to be written: octets of the current
// literal are skipped, and an LF after them ends a response, so the next
// one starts after the last such LF.
func track[T string | []byte](w *Writer, p T, lastLF func(T, byte) int) {
	start := w.total
	w.total += int64(len(p))
	if w.litLeft > 0 {
		k := min(w.litLeft, int64(len(p)))
		w.litLeft -= k
		start += k
		p = p[k:]
	}
	if i := lastLF(p, '\n'); i >= 0 {
		w.respStart = start + int64(i) + 1
	}
}

// Write writes raw octets (literal contents streamed after LiteralHeader).
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.write(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// ReadFrom copies r to the output until io.EOF through the Writer's own
// buffer (so io.Copy and io.CopyN into a Writer allocate nothing). An
// error of r is returned and does not fail the Writer.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	empty := 0
	for w.err == nil {
		w.room(largeBufferSize)
		if w.err != nil {
			break
		}
		free := w.buf[len(w.buf):cap(w.buf)]
		k, err := r.Read(free)
		track(w, free[:k], bytes.LastIndexByte)
		w.buf = w.buf[:len(w.buf)+k]
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if k == 0 {
			if empty++; empty >= 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, w.err
}

// Raw writes s unchanged; the caller vouches for its syntax.
func (w *Writer) Raw(s string) { w.writeString(s) }

func (w *Writer) byte1(c byte) {
	if w.err != nil || !w.reserve(1) {
		return
	}
	w.buf = append(w.buf, c)
	track(w, w.buf[len(w.buf)-1:], bytes.LastIndexByte)
}

// reserve makes room for k contiguous octets (k at most smallBufferSize)
// and reports false when the Writer has failed.
func (w *Writer) reserve(k int) bool {
	switch {
	case w.err != nil:
	case w.buf == nil:
		w.room(int64(k))
	case cap(w.buf)-len(w.buf) >= k:
	case w.pool == &smallBuffers:
		w.grow()
	default:
		w.send()
	}
	return w.err == nil
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
	if w.err != nil || !w.reserve(20) {
		return
	}
	start := len(w.buf)
	w.buf = strconv.AppendUint(w.buf, n, 10)
	track(w, w.buf[start:], bytes.LastIndexByte)
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
	w.write(data)
}

// LiteralHeader writes "{size}" CRLF, or "~{size}" CRLF when binary
// (literal8, RFC 3516 §4.2); exactly size octets must follow (Write, Raw,
// ReadFrom). LiteralFrom and LiteralAt write the header and the octets.
func (w *Writer) LiteralHeader(size int64, binary bool) {
	if w.err != nil || !w.reserve(24) {
		return
	}
	start := len(w.buf)
	if binary {
		w.buf = append(w.buf, '~')
	}
	w.buf = append(w.buf, '{')
	w.buf = strconv.AppendInt(w.buf, size, 10)
	w.buf = append(w.buf, "}\r\n"...)
	// The header's CRLF does not end the response; size octets of
	// literal follow.
	w.total += int64(len(w.buf) - start)
	w.litLeft = size
}

// LiteralError reports a literal whose announced octets could not all be
// written because its source failed or ended early. The literal is never
// padded: the Writer fails with the LiteralError (nothing more is written,
// no tagged OK can follow), and the connection must be closed. Call
// ByeAfterFailure first: it says BYE when the cut response can still be
// taken back.
type LiteralError struct {
	Size int64 // octets announced
	Sent int64 // octets of them written
	Err  error // the source's error; io.ErrUnexpectedEOF when it ended early
}

func (e *LiteralError) Error() string {
	return fmt.Sprintf("imap: literal of %d octets cut after %d: %v", e.Size, e.Sent, e.Err)
}

func (e *LiteralError) Unwrap() error { return e.Err }

// sendfileMin is the smallest literal sent with sendfile: a smaller one
// is read into the buffer and goes out with the rest of the response in
// one write.
const sendfileMin = 16 << 10

// LiteralFrom writes n octets read from src as a literal ("{n}" CRLF, or
// "~{n}" CRLF when binary). When src is an *io.SectionReader, or a file
// (syscall.Conn with Seek and ReadAt), it goes as LiteralAt from src's
// current position, which is then moved past the octets written. Any other
// src is copied through the Writer's buffer (a large pooled one for a
// large literal), with no other copy.
//
// Exactly n octets are written, or the Writer fails: with a *LiteralError
// when src returned an error or fewer than n octets (a src known to be too
// short fails before the literal header is written), with the write error
// when the connection failed. The error is returned too.
func (w *Writer) LiteralFrom(src io.Reader, n int64, binary bool) error {
	if w.err != nil {
		return w.err
	}
	switch s := src.(type) {
	case *io.SectionReader:
		pos, _ := s.Seek(0, io.SeekCurrent)
		ra, base, size := s.Outer()
		if n > size-pos {
			return w.literalFailed(n, 0, io.ErrUnexpectedEOF)
		}
		sent, err := w.literalAt(ra, base+pos, n, binary, nil)
		s.Seek(pos+sent, io.SeekStart)
		return err
	case seekableFile:
		pos, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			sent, err := w.literalAt(s, pos, n, binary, nil)
			s.Seek(pos+sent, io.SeekStart)
			return err
		}
	}
	w.LiteralHeader(n, binary)
	sent, err := w.copyN(src, n, nil)
	if err != nil {
		return w.literalFailed(n, sent, err)
	}
	return nil
}

// seekableFile is an *os.File, or a type embedding one.
type seekableFile interface {
	syscall.Conn
	io.ReaderAt
	io.Seeker
}

// LiteralAt writes octets [off, off+n) of ra as a literal, like
// LiteralFrom. When ra is a file (syscall.Conn: an *os.File or a type
// embedding one) and the Writer's destination a plain socket, the header
// is sent and the octets go from the file to the socket with sendfile(2),
// without passing through user space; on TLS (or through a compressor)
// they are copied through the Writer's buffer. ra's size (Stat, or a
// Size method) is checked first: a literal known to be too long fails
// before anything of it is written.
func (w *Writer) LiteralAt(ra io.ReaderAt, off, n int64, binary bool) error {
	if w.err != nil {
		return w.err
	}
	_, err := w.literalAt(ra, off, n, binary, nil)
	return err
}

// LiteralAtFiltered is LiteralAt with filter applied in place to the
// literal's octets in the Writer's buffer, chunk by chunk, before they
// are sent (for example to replace NUL octets, which a literal may not
// hold, RFC 3501 §4.3). filter must not change their number. The octets
// are read into the buffer, never sent with sendfile.
func (w *Writer) LiteralAtFiltered(ra io.ReaderAt, off, n int64, binary bool, filter func([]byte)) error {
	if w.err != nil {
		return w.err
	}
	_, err := w.literalAt(ra, off, n, binary, filter)
	return err
}

func (w *Writer) literalAt(ra io.ReaderAt, off, n int64, binary bool, filter func([]byte)) (int64, error) {
	if size, ok := sizeOf(ra); ok && (off < 0 || off > size || n > size-off) {
		return 0, w.literalFailed(n, 0, io.ErrUnexpectedEOF)
	}
	w.LiteralHeader(n, binary)
	var sent int64
	if src, ok := ra.(syscall.Conn); ok && n >= sendfileMin && filter == nil {
		if dst, ok := w.dst.(syscall.Conn); ok {
			if len(w.buf) > 0 {
				w.send()
			}
			if w.err != nil {
				return 0, w.err
			}
			k, handled, werr, rerr := sendFile(dst, src, off, n)
			w.advanceLiteral(k)
			w.sent += k
			sent = k
			if werr != nil {
				w.fail(werr)
				return sent, w.err
			}
			if rerr != nil {
				return sent, w.literalFailed(n, sent, rerr)
			}
			if handled && sent < n {
				return sent, w.literalFailed(n, sent, io.ErrUnexpectedEOF)
			}
			if sent == n {
				return sent, nil
			}
			// Not handled (sendfile refused this file): copy the rest.
		}
	}
	k, err := w.copyN(io.NewSectionReader(ra, off+sent, n-sent), n-sent, filter)
	sent += k
	if err != nil {
		return sent, w.literalFailed(n, sent, err)
	}
	return sent, nil
}

// sizeOf returns the size of a file (Stat) or of a reader with a Size
// method (store blobs, bytes.Reader, io.SectionReader).
func sizeOf(ra io.ReaderAt) (int64, bool) {
	if f, ok := ra.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), true
		}
		return 0, false
	}
	if s, ok := ra.(interface{ Size() int64 }); ok {
		return s.Size(), true
	}
	return 0, false
}

// copyN reads n octets of the literal being written from src straight
// into the buffer, applying filter (when not nil) to each chunk. It
// returns how many it wrote and the error of src (io.ErrUnexpectedEOF
// when src ended early) or of the connection.
func (w *Writer) copyN(src io.Reader, n int64, filter func([]byte)) (int64, error) {
	var done int64
	empty := 0
	for done < n {
		w.room(n - done)
		if w.err != nil {
			return done, w.err
		}
		free := w.buf[len(w.buf):cap(w.buf)]
		if int64(len(free)) > n-done {
			free = free[:n-done]
		}
		k, err := src.Read(free)
		if filter != nil && k > 0 {
			filter(free[:k])
		}
		w.buf = w.buf[:len(w.buf)+k]
		w.advanceLiteral(int64(k))
		done += int64(k)
		if done == n {
			break
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return done, err
		}
		if k == 0 {
			if empty++; empty >= 100 {
				return done, io.ErrNoProgress
			}
		}
	}
	return done, nil
}

// advanceLiteral accounts for k octets of the current literal.
func (w *Writer) advanceLiteral(k int64) {
	w.total += k
	w.litLeft -= min(k, w.litLeft)
}

// literalFailed fails the Writer with a *LiteralError, unless the
// connection failed first, and returns the Writer's error.
func (w *Writer) literalFailed(size, sent int64, err error) error {
	if w.err == nil {
		w.err = &LiteralError{Size: size, Sent: sent, Err: err}
	}
	return w.err
}

// ByeAfterFailure is for a Writer failed with a *LiteralError. When none
// of the cut response has reached the connection yet (the source was
// found too short before its literal started, or failed before the
// buffer was sent), it drops that response, writes "* BYE text" in its
// place and flushes what went before it and the BYE; it reports whether
// it did. Otherwise the client is inside the literal, where a BYE would
// be read as content, and only closing the connection tells it the
// response is incomplete. The Writer stays failed either way.
func (w *Writer) ByeAfterFailure(text string) bool {
	var le *LiteralError
	failed := w.err
	if !errors.As(failed, &le) || w.respStart < w.sent {
		w.release()
		return false
	}
	keep := w.respStart - w.sent
	if w.buf != nil {
		w.buf = w.buf[:keep]
	}
	w.total, w.litLeft = w.respStart, 0
	w.err = nil
	w.WriteStatus("", "BYE", "", text)
	ok := w.Flush() == nil
	if w.err == nil {
		w.err = failed
	}
	w.respStart = -1 // one BYE only
	return ok
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
