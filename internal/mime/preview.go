package mime

import (
	"html"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PreviewMax is the longest preview Preview makes, in characters
// (RFC 8970 §3.1: at most 256).
const PreviewMax = 256

// previewRead bounds the decoded octets of a part Preview reads: enough
// for 256 characters after white space collapsing (plain text) and tag
// stripping (HTML, whose head and styles come first) in any realistic
// message.
const (
	previewReadPlain = 8 << 10
	previewReadHTML  = 64 << 10
)

// Preview is the RFC 8970 preview of the message rooted at root: up to
// PreviewMax characters of its first text/plain part that is not an
// attachment, or, when it has none, of its first such text/html part with
// the markup stripped (RFC 8970 §3.1 leaves the algorithm to the server).
// The part's Content-Transfer-Encoding is undone and its charset converted
// to UTF-8; runs of white space become one space, and leading and
// trailing space is dropped. Embedded messages are not looked into. A
// message without a text part has the empty preview. The error is an I/O
// error of r.
func Preview(r io.ReaderAt, root *Part) (string, error) {
	var plain, htm *Part
	var find func(p *Part)
	find = func(p *Part) {
		if plain != nil {
			return
		}
		switch {
		case p.IsMultipart():
			for _, c := range p.Parts {
				find(c)
			}
		case p.Message != nil || p.Type != "text" || p.Disposition == "attachment":
		case p.Subtype == "plain":
			plain = p
		case p.Subtype == "html" && htm == nil:
			htm = p
		}
	}
	find(root)
	p := plain
	if p == nil {
		p = htm
	}
	if p == nil {
		return "", nil
	}
	var ioErr error
	var body io.Reader = &errCatcher{r: BodyReader(r, p), err: &ioErr}
	if dec, err := NewDecoder(body, p.Encoding); err == nil {
		body = dec
	}
	text := charsetReader(p.Charset(), body)
	var preview string
	if p == htm {
		b, _ := io.ReadAll(io.LimitReader(text, previewReadHTML))
		preview, _ = collapse(stripHTML(string(b)), PreviewMax)
	} else {
		preview = previewPlain(text, previewReadPlain)
	}
	if ioErr != nil {
		return "", ioErr
	}
	return preview, nil
}

// previewFirstRead is the first read of previewPlain: a few lines of
// prose hold 256 characters.
const previewFirstRead = 1 << 10

// previewPlain is the preview of plain text: the decoded text is read in
// doubling chunks, up to limit octets, and reading stops as soon as the
// preview of what was read is complete (collapse stopped at the limit of
// characters). That preview is the one the whole text gives: collapse
// only stops on a character it decoded, so a multi-octet character cut at
// the end of a chunk (decoded as U+FFFD, white space to collapse) is
// never reached. Delivery computes every message's preview (RFC 8970),
// and reading all 8 KiB of the usual text part was 4% of its CPU.
func previewPlain(r io.Reader, limit int) string {
	buf := make([]byte, 0, previewFirstRead)
	for {
		n, err := io.ReadFull(r, buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		preview, complete := collapse(string(buf), PreviewMax)
		if complete || err != nil || len(buf) >= limit {
			return preview
		}
		buf = slices.Grow(buf, min(cap(buf), limit-len(buf)))
	}
}

// collapse turns runs of white space (and control characters) into one
// space, trims, and cuts at max characters. complete reports that it cut:
// no text after s changes the result.
func collapse(s string, max int) (out string, complete bool) {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = b.Len() > 0
			continue
		}
		if space {
			if n+1 >= max {
				complete = true
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		if n++; n == max {
			complete = true
			break
		}
	}
	return b.String(), complete
}

// stripHTML is the text of an HTML document, roughly: tags and comments
// removed, the content of head, style and script elements dropped,
// character references decoded, block-level tags becoming spaces.
func stripHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			break
		}
		tag := strings.ToLower(s[1:end])
		s = s[end+1:]
		name := tag
		if j := strings.IndexFunc(name, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '/' }); j >= 0 {
			name = name[:j]
		}
		switch name {
		case "head", "style", "script", "title":
			if strings.HasSuffix(tag, "/") {
				continue
			}
			// Skip to the closing tag.
			close := "</" + name
			k := indexFold(s, close)
			if k < 0 {
				return b.String()
			}
			s = s[k:]
			if e := strings.IndexByte(s, '>'); e >= 0 {
				s = s[e+1:]
			} else {
				s = ""
			}
			continue
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// indexFold is strings.Index ignoring ASCII case of s (sub is lower-case).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
