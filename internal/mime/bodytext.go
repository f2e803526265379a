package mime

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/casemap"
)

// textChunk is the size of the pieces BodyText hands out.
const textChunk = 32 << 10

// BodyText streams the searchable text of the body of the message rooted
// at root (RFC 3501 §6.4.4 SEARCH BODY): every text/* part, with its
// Content-Transfer-Encoding undone and converted from its charset to UTF-8,
// and, for embedded messages, their header fields (RFC 2047 decoded) and
// body text. The root's own header is not included (SEARCH TEXT adds it
// from HeaderRange). fn receives UTF-8 text in pieces, cut at line ends
// where possible; it returns false to stop. A match may span two pieces:
// keep an overlap, or use TextContains. The error is an I/O error of r.
func BodyText(r io.ReaderAt, root *Part, fn func(text string) bool) error {
	t := textWalker{r: r, fn: fn}
	t.part(root, true)
	return t.err
}

type textWalker struct {
	r       io.ReaderAt
	fn      func(string) bool
	stopped bool
	err     error
}

func (t *textWalker) emit(s string) {
	if !t.stopped && s != "" && !t.fn(s) {
		t.stopped = true
	}
}

func (t *textWalker) part(p *Part, root bool) {
	if t.stopped || t.err != nil {
		return
	}
	switch {
	case p.IsMultipart():
		for _, c := range p.Parts {
			t.part(c, false)
		}
	case p.Message != nil:
		t.header(p.Message)
		t.part(p.Message, false)
	case p.Type == "text":
		t.text(p)
	}
}

// header emits the decoded header fields of an embedded message.
func (t *textWalker) header(m *Part) {
	hdr := make([]byte, m.BodyStart-m.HeaderStart)
	if _, err := t.r.ReadAt(hdr, m.HeaderStart); err != nil && !errors.Is(err, io.EOF) {
		t.err = err
		return
	}
	var b strings.Builder
	for _, f := range HeaderFields(hdr) {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(DecodeHeader(f.Value))
		b.WriteString("\n")
	}
	t.emit(b.String())
}

// text emits one text part, decoded.
func (t *textWalker) text(p *Part) {
	var body io.Reader = &errCatcher{r: BodyReader(t.r, p), err: &t.err}
	if dec, err := NewDecoder(body, p.Encoding); err == nil {
		body = dec
	}
	br := charsetReader(p.Charset(), body)
	// Decoded text is at most about twice the encoded size (8-bit charsets
	// to UTF-8), so small parts get small buffers.
	buf := make([]byte, min(textChunk, max(2*p.Size+16, 512)))
	carry := 0
	for !t.stopped {
		n, err := io.ReadFull(br, buf[carry:])
		n += carry
		if n == 0 {
			break
		}
		cut := n
		if err == nil {
			// Cut at the last line end, or at least at a rune boundary.
			if i := lastIndexByte(buf[:n], '\n'); i >= n/2 {
				cut = i + 1
			} else {
				for k := n - 1; k >= 0 && k >= n-utf8.UTFMax; k-- {
					if utf8.RuneStart(buf[k]) {
						if !utf8.FullRune(buf[k:n]) {
							cut = k
						}
						break
					}
				}
			}
		}
		t.emit(string(buf[:cut]))
		carry = copy(buf, buf[cut:n])
		if err != nil {
			if carry > 0 {
				t.emit(string(buf[:carry]))
			}
			break
		}
	}
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// errCatcher records a read error other than EOF of the underlying reader,
// so decoding errors are not confused with I/O errors.
type errCatcher struct {
	r   io.Reader
	err *error
}

func (e *errCatcher) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && *e.err == nil {
		*e.err = err
	}
	return n, err
}

// TextContains reports whether the body text of the message (as BodyText
// gives it) contains needle, case-insensitively (RFC 3501 §6.4.4 and
// RFC 9051 §6.4.4.1 substring match, folded by internal/casemap as
// Dovecot folds). Matches spanning pieces are found.
func TextContains(r io.ReaderAt, root *Part, needle string) (bool, error) {
	n := casemap.String(needle)
	if n == "" {
		return true, nil
	}
	found := false
	tail := ""
	err := BodyText(r, root, func(text string) bool {
		s := tail + casemap.String(text)
		if strings.Contains(s, n) {
			found = true
			return false
		}
		keep := len(n) - 1
		if keep > len(s) {
			keep = len(s)
		}
		tail = s[len(s)-keep:]
		return true
	})
	return found, err
}

// ContainsFold reports whether s contains substr, case-insensitively, as
// IMAP SEARCH compares strings (casemap.Contains).
func ContainsFold(s, substr string) bool {
	return casemap.Contains(s, substr)
}
