package mailclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/letterbox/letterbox/internal/mime"
)

// Rendered is a message made readable: the header fields a person reads,
// decoded (RFC 2047 words in any charset), the text of the message decoded
// from its transfer encoding (RFC 2045 §6) and charset (RFC 2046 §4.1.2),
// HTML-only mail turned into text, and the attachments, numbered from 1.
type Rendered struct {
	From, To, Cc, ReplyTo string
	Subject               string
	Date                  time.Time // zero when missing or unparsable
	DateText              string    // the Date field as written, for the zero case
	MessageID             string    // without angle brackets
	InReplyTo             string    // raw field value
	References            string    // raw field value
	// Text is the readable body: the text/plain parts, or the text/html
	// ones converted when a message has no plain text.
	Text string
	// FromHTML says Text was converted from HTML.
	FromHTML    bool
	Attachments []Attachment

	raw []byte
}

// Attachment is one part of a message that is not shown as its text: a
// file, an image, an embedded message.
type Attachment struct {
	Index int    // 1-based, as `read` numbers them
	Name  string // suggested file name, decoded; may be empty or hostile
	Type  string // media type, e.g. "application/pdf"
	Size  int64  // decoded size in octets

	part *mime.Part
}

// Render parses raw (an RFC 5322 message) tolerantly: a broken message
// shows what could be read, never an error for its content.
func Render(raw []byte) *Rendered {
	r := &Rendered{raw: raw}
	root := mime.ParseBytes(raw)
	r.header(raw[root.HeaderStart:root.BodyStart])
	var texts, htmls []string
	walkBody(root, func(p *mime.Part, kind partKind) {
		switch kind {
		case kindText:
			texts = append(texts, r.decodeText(p))
		case kindHTML:
			htmls = append(htmls, r.decodeText(p))
		default:
			a := Attachment{Index: len(r.Attachments) + 1, Name: p.Filename(), Type: p.Type + "/" + p.Subtype, part: p}
			a.Size = decodedSize(raw, p)
			r.Attachments = append(r.Attachments, a)
		}
	})
	switch {
	case len(texts) > 0:
		r.Text = strings.Join(texts, "\n")
	case len(htmls) > 0:
		parts := make([]string, len(htmls))
		for i, h := range htmls {
			parts[i] = HTMLToText(h)
		}
		r.Text, r.FromHTML = strings.Join(parts, "\n"), true
	}
	r.Text = strings.TrimRight(normalizeNewlines(r.Text), "\n") + "\n"
	return r
}

// header fills the header fields from the message's header block.
func (r *Rendered) header(block []byte) {
	th, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(block)))
	h := mail.Header{Header: message.Header{Header: th}}
	r.From = addressField(h, "From")
	r.To = addressField(h, "To")
	r.Cc = addressField(h, "Cc")
	r.ReplyTo = addressField(h, "Reply-To")
	if subj, err := h.Subject(); err == nil {
		r.Subject = subj
	} else {
		r.Subject = mime.DecodeHeader(h.Get("Subject"))
	}
	r.DateText = strings.TrimSpace(h.Get("Date"))
	if d, err := mime.ParseDate(r.DateText); err == nil {
		r.Date = d
	}
	r.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	r.InReplyTo = strings.TrimSpace(h.Get("In-Reply-To"))
	r.References = strings.TrimSpace(h.Get("References"))
	// Raw 8-bit header text is UTF-8 (RFC 6532) or, in older mail, most
	// often Latin-1: make every field valid UTF-8 the way bodies are.
	for _, f := range []*string{&r.From, &r.To, &r.Cc, &r.ReplyTo, &r.Subject, &r.DateText, &r.MessageID, &r.InReplyTo, &r.References} {
		*f = ToUTF8("", []byte(*f))
	}
}

// addressField decodes an address list (RFC 5322 §3.4, display names RFC
// 2047 encoded) as "Name <addr>, ..."; an unparsable one is shown decoded
// as written.
func addressField(h mail.Header, name string) string {
	list, err := h.AddressList(name)
	if err != nil || len(list) == 0 {
		return mime.DecodeHeader(strings.TrimSpace(h.Get(name)))
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = displayAddress(a.Name, a.Address)
	}
	return strings.Join(out, ", ")
}

// displayAddress is "Name <addr>" with the name quoted when it holds a
// special character (RFC 5322 §3.2.3), so that the text parses back as
// the same address (a reply's To: is made from it); non-ASCII stays as
// it is (RFC 6532).
func displayAddress(name, addr string) string {
	if name == "" {
		return addr
	}
	if strings.ContainsAny(name, "()<>[]:;@\\,.\"") {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + addr + ">"
}

// partKind is what walkBody makes of a leaf part.
type partKind int

const (
	kindText partKind = iota
	kindHTML
	kindAttachment
)

// walkBody calls fn for each leaf of the message in reading order with
// what it is: text to show, HTML to show when there is no text, or an
// attachment. Of a multipart/alternative (RFC 2046 §5.1.4) it shows one
// alternative, plain text when there is one, and lists none of the others.
func walkBody(p *mime.Part, fn func(*mime.Part, partKind)) {
	switch {
	case p.IsMultipart() && p.Subtype == "alternative":
		if best := bestAlternative(p.Parts); best != nil {
			walkBody(best, fn)
		}
	case p.IsMultipart():
		for _, c := range p.Parts {
			walkBody(c, fn)
		}
	case isAttachment(p):
		fn(p, kindAttachment)
	case p.Type == "text" && p.Subtype == "html":
		fn(p, kindHTML)
	default:
		fn(p, kindText)
	}
}

// bestAlternative picks text/plain, else a nested multipart (e.g. a
// multipart/related around HTML), else HTML, else the last one (RFC 2046
// §5.1.4: the last is the richest).
func bestAlternative(parts []*mime.Part) *mime.Part {
	for _, want := range []func(*mime.Part) bool{
		func(p *mime.Part) bool { return p.Type == "text" && p.Subtype == "plain" && !isAttachment(p) },
		func(p *mime.Part) bool { return p.IsMultipart() },
		func(p *mime.Part) bool { return p.Type == "text" && p.Subtype == "html" && !isAttachment(p) },
	} {
		for _, p := range parts {
			if want(p) {
				return p
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return parts[len(parts)-1]
}

// isAttachment: a part is shown as text only when it is text/plain or
// text/html (or has no Content-Type: text/plain by RFC 2045 §5.2), not
// marked "attachment" (RFC 2183 §2.2) and not named as a file.
func isAttachment(p *mime.Part) bool {
	if p.IsMessage() || p.Disposition == "attachment" {
		return true
	}
	if p.Type != "text" || (p.Subtype != "plain" && p.Subtype != "html") {
		return true
	}
	return p.Filename() != ""
}

// decodeText undoes the transfer encoding and converts the charset to
// UTF-8. An unknown charset is read as Latin-1 where the bytes are not
// UTF-8, so no text is lost.
func (r *Rendered) decodeText(p *mime.Part) string {
	body, err := decodedBody(r.raw, p)
	if err != nil {
		body = r.raw[p.BodyStart:p.End]
	}
	cs := p.Charset()
	if (cs == "" || cs == "us-ascii") && p.Subtype == "html" {
		// No charset parameter (the parser reports the RFC 2045 §5.2
		// default, us-ascii): the HTML may name its own.
		if meta := htmlMetaCharset(body); meta != "" {
			cs = meta
		}
	}
	return ToUTF8(cs, body)
}

// decodedBody is a part's body without its Content-Transfer-Encoding.
func decodedBody(raw []byte, p *mime.Part) ([]byte, error) {
	rd, err := mime.BinarySection(bytes.NewReader(raw), p)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(rd)
}

func decodedSize(raw []byte, p *mime.Part) int64 {
	n, err := mime.BinarySize(bytes.NewReader(raw), p)
	if err != nil {
		return p.Size
	}
	return n
}

// ToUTF8 converts b from charset cs (any name go-message/charset knows:
// the ISO-8859 family, Windows-125x, KOI8, ISO-2022-JP, Shift_JIS, GB18030,
// Big5...) to UTF-8. A missing or unknown charset, or bytes that do not
// convert, fall back to UTF-8 where valid and Latin-1 elsewhere.
func ToUTF8(cs string, b []byte) string {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
	default:
		if rd, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
			if out, err := io.ReadAll(rd); err == nil && utf8.Valid(out) {
				return string(out)
			}
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			s.WriteRune(rune(b[0]))
			b = b[1:]
			continue
		}
		s.Write(b[:n])
		b = b[n:]
	}
	return s.String()
}

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)`)

// htmlMetaCharset finds <meta charset=...> or the http-equiv form in the
// first 2 KB of an HTML body (HTML's own rule, for a part without a
// charset parameter).
func htmlMetaCharset(b []byte) string {
	if len(b) > 2048 {
		b = b[:2048]
	}
	if m := metaCharset.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// AttachmentData returns the decoded content of attachment a (an
// embedded message is returned as it is, an RFC 5322 message).
func (r *Rendered) AttachmentData(a Attachment) ([]byte, error) {
	if a.part == nil {
		return nil, errors.New("attachment of another message")
	}
	b, err := decodedBody(r.raw, a.part)
	if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", a.Index, err)
	}
	return b, nil
}

// Attachment returns attachment n (1-based).
func (r *Rendered) Attachment(n int) (Attachment, error) {
	if n < 1 || n > len(r.Attachments) {
		if len(r.Attachments) == 0 {
			return Attachment{}, fmt.Errorf("the message has no attachments")
		}
		return Attachment{}, fmt.Errorf("no attachment %d: the message has %d (see `read`)", n, len(r.Attachments))
	}
	return r.Attachments[n-1], nil
}

// Terminal makes text safe to print on a terminal: escape sequences and
// other control characters (which a hostile message could use to rewrite
// the screen) become '?'; tabs and line breaks stay.
func Terminal(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == utf8.RuneError:
			return '?'
		case unicode.IsControl(r), r == '\u2028', r == '\u2029',
			r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069': // bidi overrides
			return '?'
		}
		return r
	}, s)
}
