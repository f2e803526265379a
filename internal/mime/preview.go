package mime

import (
	"html"
	"io"
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
	limit := int64(previewReadPlain)
	if p == htm {
		limit = previewReadHTML
	}
	b, _ := io.ReadAll(io.LimitReader(charsetReader(p.Charset(), body), limit))
	if ioErr != nil {
		return "", ioErr
	}
	text := string(b)
	if p == htm {
		text = stripHTML(text)
	}
	return collapse(text, PreviewMax), nil
}

// collapse turns runs of white space (and control characters) into one
// space, trims, and cuts at max characters.
func collapse(s string, max int) string {
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
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		if n++; n == max {
			break
		}
	}
	return b.String()
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
