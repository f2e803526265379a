package jmapserver

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/mime"
)

// The body of an Email: bodyStructure, textBody, htmlBody, attachments
// and bodyValues (RFC 8621 §4.1.4), from the structure internal/mime
// parsed at delivery; only the octets a property needs are read.

// msgView is one message's octets and parsed structure.
type msgView struct {
	r        io.ReaderAt
	size     int64
	root     *mime.Part
	partBlob func(path []int) string // blob id of a part
	paths    map[*mime.Part][]int
}

func newMsgView(r io.ReaderAt, size int64, root *mime.Part, partBlob func([]int) string) *msgView {
	v := &msgView{r: r, size: size, root: root, partBlob: partBlob, paths: map[*mime.Part][]int{}}
	// IMAP part numbers (RFC 3501 §6.4.5): a non-multipart message's
	// body is part 1; a message/rfc822 part is a leaf here.
	var walk func(p *mime.Part, path []int)
	walk = func(p *mime.Part, path []int) {
		v.paths[p] = path
		if p.IsMultipart() {
			for i, c := range p.Parts {
				walk(c, append(append([]int(nil), path...), i+1))
			}
		}
	}
	if root.IsMultipart() {
		walk(root, nil)
	} else {
		v.paths[root] = []int{1}
	}
	return v
}

func (v *msgView) read(start, end int64) ([]byte, error) {
	if end < start || start < 0 {
		return nil, nil
	}
	b := make([]byte, end-start)
	n, err := v.r.ReadAt(b, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
}

// fields is the header of part p (the root: the message header).
func (v *msgView) fields(p *mime.Part) ([]rawField, error) {
	h, err := v.read(p.HeaderStart, p.BodyStart)
	if err != nil {
		return nil, err
	}
	return splitHeader(h), nil
}

func partIDString(path []int) string {
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}

func mediaType(p *mime.Part) string { return p.Type + "/" + p.Subtype }

var defaultBodyProperties = []string{"partId", "blobId", "size", "name", "type", "charset",
	"disposition", "cid", "language", "location"}

var bodyPartProperties = []string{"partId", "blobId", "size", "headers", "name", "type", "charset",
	"disposition", "cid", "language", "location", "subParts"}

// decodedSize is the size of the part's content after transfer decoding.
func (v *msgView) decodedSize(p *mime.Part) int64 {
	switch strings.ToUpper(p.Encoding) {
	case "BASE64", "QUOTED-PRINTABLE":
		if n, err := mime.BinarySize(v.r, p); err == nil {
			return n
		}
	}
	return p.Size
}

// bodyPart renders one EmailBodyPart with the requested properties
// (header:… forms included).
func (v *msgView) bodyPart(p *mime.Part, props []string, headerProps []headerProp) (map[string]any, error) {
	o := map[string]any{}
	multi := p.IsMultipart()
	var fields []rawField
	for _, hp := range headerProps {
		if fields == nil {
			var err error
			if fields, err = v.fields(p); err != nil {
				return nil, err
			}
		}
		o[hp.prop] = hp.value(fields)
	}
	for _, prop := range props {
		switch prop {
		case "partId":
			if multi {
				o["partId"] = nil
			} else {
				o["partId"] = partIDString(v.paths[p])
			}
		case "blobId":
			if multi {
				o["blobId"] = nil
			} else {
				o["blobId"] = v.partBlob(v.paths[p])
			}
		case "size":
			if multi {
				o["size"] = 0
			} else {
				o["size"] = v.decodedSize(p)
			}
		case "headers":
			if fields == nil {
				var err error
				if fields, err = v.fields(p); err != nil {
					return nil, err
				}
			}
			o["headers"] = headersList(fields)
		case "name":
			o["name"] = nilIfEmpty(p.Filename())
		case "type":
			o["type"] = mediaType(p)
		case "charset":
			cs := p.Charset()
			if cs == "" && p.Type == "text" {
				cs = "us-ascii"
			}
			o["charset"] = nilIfEmpty(cs)
		case "disposition":
			o["disposition"] = nilIfEmpty(p.Disposition)
		case "cid":
			o["cid"] = nilIfEmpty(strings.Trim(strings.TrimSpace(p.ID), "<>"))
		case "language":
			if len(p.Language) == 0 {
				o["language"] = nil
			} else {
				o["language"] = p.Language
			}
		case "location":
			o["location"] = nilIfEmpty(p.Location)
		case "subParts":
			if !multi {
				o["subParts"] = nil
				continue
			}
			subs := []any{}
			for _, c := range p.Parts {
				sp, err := v.bodyPart(c, props, headerProps)
				if err != nil {
					return nil, err
				}
				subs = append(subs, sp)
			}
			o["subParts"] = subs
		}
	}
	return o, nil
}

// bodies computes textBody, htmlBody and attachments with the algorithm
// of RFC 8621 §4.1.4.
func (v *msgView) bodies() (text, html, attach []*mime.Part) {
	text, html, attach = []*mime.Part{}, []*mime.Part{}, []*mime.Part{}
	parseStructure([]*mime.Part{v.root}, "mixed", false, &html, &text, &attach)
	return
}

func isInlineMediaType(p *mime.Part) bool {
	return p.Type == "image" || p.Type == "audio" || p.Type == "video"
}

func parseStructure(parts []*mime.Part, multipartType string, inAlternative bool, htmlBody, textBody, attachments *[]*mime.Part) {
	textLength, htmlLength := -1, -1
	if textBody != nil {
		textLength = len(*textBody)
	}
	if htmlBody != nil {
		htmlLength = len(*htmlBody)
	}
	for i, part := range parts {
		mt := mediaType(part)
		isInline := part.Disposition != "attachment" &&
			(mt == "text/plain" || mt == "text/html" || isInlineMediaType(part)) &&
			(i == 0 || (multipartType != "related" && (isInlineMediaType(part) || part.Filename() == "")))
		switch {
		case part.IsMultipart():
			sub := part.Subtype
			parseStructure(part.Parts, sub, inAlternative || sub == "alternative", htmlBody, textBody, attachments)
		case isInline:
			if multipartType == "alternative" {
				switch mt {
				case "text/plain":
					if textBody != nil {
						*textBody = append(*textBody, part)
					}
				case "text/html":
					if htmlBody != nil {
						*htmlBody = append(*htmlBody, part)
					}
				default:
					*attachments = append(*attachments, part)
				}
				continue
			} else if inAlternative {
				if mt == "text/plain" {
					htmlBody = nil
				}
				if mt == "text/html" {
					textBody = nil
				}
			}
			if textBody != nil {
				*textBody = append(*textBody, part)
			}
			if htmlBody != nil {
				*htmlBody = append(*htmlBody, part)
			}
			if (textBody == nil || htmlBody == nil) && isInlineMediaType(part) {
				*attachments = append(*attachments, part)
			}
		default:
			*attachments = append(*attachments, part)
		}
	}
	if multipartType == "alternative" && textBody != nil && htmlBody != nil {
		if textLength == len(*textBody) && htmlLength != len(*htmlBody) {
			*textBody = append(*textBody, (*htmlBody)[htmlLength:]...)
		}
		if htmlLength == len(*htmlBody) && textLength != len(*textBody) {
			*htmlBody = append(*htmlBody, (*textBody)[textLength:]...)
		}
	}
}

// text decodes a text part to UTF-8 (transfer encoding and charset).
// limit > 0 stops after that many octets; truncated says so.
func (v *msgView) text(p *mime.Part, limit int) (s string, truncated bool, err error) {
	var b strings.Builder
	err = mime.BodyText(v.r, p, func(t string) bool {
		b.WriteString(t)
		return limit <= 0 || b.Len() <= limit
	})
	s = b.String()
	if limit > 0 && len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, truncated = s[:cut], true
	}
	return s, truncated, err
}

// bodyValue is EmailBodyValue (RFC 8621 §4.1.4).
type bodyValue struct {
	Value             string `json:"value"`
	IsEncodingProblem bool   `json:"isEncodingProblem"`
	IsTruncated       bool   `json:"isTruncated"`
}

// preview is up to 256 characters of the text body, white space packed
// (RFC 8621 §4.1.4 preview).
func (v *msgView) preview(text []*mime.Part) string {
	for _, p := range text {
		if p.Type != "text" {
			continue
		}
		s, _, err := v.text(p, 4096)
		if err != nil {
			return ""
		}
		if p.Subtype == "html" {
			s = stripTags(s)
		}
		s = strings.Join(strings.Fields(s), " ")
		if r := []rune(s); len(r) > 256 {
			s = string(r[:256])
		}
		if s != "" {
			return s
		}
	}
	return ""
}

// stripTags removes HTML tags and the content of style and script
// elements, for previews and snippets; entities stay as written.
func stripTags(s string) string {
	var b strings.Builder
	lower := strings.ToLower(s)
	for i := 0; i < len(s); {
		if s[i] != '<' {
			b.WriteByte(s[i])
			i++
			continue
		}
		for _, el := range []string{"style", "script"} {
			if strings.HasPrefix(lower[i:], "<"+el) {
				if j := strings.Index(lower[i:], "</"+el); j >= 0 {
					i += j
				}
			}
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteByte(' ')
		i += j + 1
	}
	return b.String()
}
