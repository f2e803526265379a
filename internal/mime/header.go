package mime

import (
	"bytes"
	"strings"
)

// wantedFields are the header fields the parser keeps: the MIME fields of
// RFC 2045 §3, RFC 2183 and RFC 3066/2557, and those of the IMAP ENVELOPE
// (RFC 3501 §7.4.2).
var wantedFields = map[string]bool{
	"content-type": true, "content-transfer-encoding": true, "content-id": true,
	"content-description": true, "content-md5": true, "content-disposition": true,
	"content-language": true, "content-location": true,
	"date": true, "subject": true, "from": true, "sender": true, "reply-to": true,
	"to": true, "cc": true, "bcc": true, "in-reply-to": true, "message-id": true,
}

// rawHeader holds the wanted fields of one header, unfolded, in order.
type rawHeader struct {
	names  []string
	values [][]byte
}

// get returns the first occurrence of a field (lower-case name), trimmed.
func (h *rawHeader) get(name string) (string, bool) {
	for i, n := range h.names {
		if n == name {
			return string(bytes.TrimSpace(h.values[i])), true
		}
	}
	return "", false
}

func (h *rawHeader) has(name string) bool {
	for _, n := range h.names {
		if n == name {
			return true
		}
	}
	return false
}

// readHeader reads header lines up to and including the blank line. It
// stops early, without a blank line, at a delimiter of bounds or at the end
// of input (blank is then false and st says where).
func (p *parser) readHeader(bounds []string) (h *rawHeader, st stop, blank bool) {
	h = &rawHeader{}
	cur := -1 // index of the field continuation lines go to, -1 for none
	for {
		l, ok := p.lr.next(maxFieldLen)
		if !ok {
			return h, p.eofStop(), false
		}
		if l.blank() {
			return h, st, true
		}
		c := l.content()
		if len(c) == 0 {
			continue
		}
		if i, closing := matchBoundary(c, bounds); i >= 0 {
			return h, stopAt(&l, i, closing), false
		}
		if c[0] == ' ' || c[0] == '\t' {
			// RFC 5322 §2.2.3: unfolding removes the line break only.
			if cur >= 0 && len(h.values[cur]) < maxFieldLen {
				h.values[cur] = append(h.values[cur], c[:min(len(c), maxFieldLen-len(h.values[cur]))]...)
			}
			continue
		}
		cur = -1
		colon := bytes.IndexByte(c, ':')
		if colon <= 0 {
			continue // not a field: junk kept in the header bytes, ignored
		}
		name := strings.ToLower(string(bytes.TrimRight(c[:colon], " \t")))
		if !wantedFields[name] || h.has(name) {
			continue // only the first occurrence counts
		}
		h.names = append(h.names, name)
		h.values = append(h.values, append([]byte(nil), c[colon+1:]...))
		cur = len(h.values) - 1
	}
}

// Field is one header field: its name as written and its value unfolded
// (line breaks removed, RFC 5322 §2.2.3) and trimmed, not decoded.
type Field struct {
	Name, Value string
}

// HeaderFields splits a header block into fields. Lines that are not fields
// are skipped; the blank line ends the header.
func HeaderFields(header []byte) []Field {
	var fields []Field
	forEachField(header, func(name, raw []byte) {
		colon := bytes.IndexByte(raw, ':')
		fields = append(fields, Field{Name: string(name), Value: string(bytes.TrimSpace(unfold(raw[colon+1:])))})
	})
	return fields
}

// Header returns the unfolded value of the first field called name
// (case-insensitive) in a header block, and whether it was there.
func Header(header []byte, name string) (string, bool) {
	var val string
	found := false
	forEachField(header, func(n, raw []byte) {
		if !found && strings.EqualFold(string(n), name) {
			colon := bytes.IndexByte(raw, ':')
			val, found = string(bytes.TrimSpace(unfold(raw[colon+1:]))), true
		}
	})
	return val, found
}

func unfold(b []byte) []byte {
	if bytes.IndexAny(b, "\r\n") < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// forEachField calls fn for each field of a header block with its name
// (trimmed) and its raw bytes (all its lines including line breaks).
func forEachField(header []byte, fn func(name, raw []byte)) {
	rest := header
	for len(rest) > 0 {
		end := fieldEnd(rest)
		raw := rest[:end]
		rest = rest[end:]
		first := raw
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		if len(bytes.TrimRight(first, "\r")) == 0 {
			return // the blank line ends the header
		}
		colon := bytes.IndexByte(first, ':')
		if colon <= 0 || first[0] == ' ' || first[0] == '\t' {
			continue
		}
		fn(bytes.TrimRight(first[:colon], " \t"), raw)
	}
}

// fieldEnd returns the length of the field starting at b: its first line and
// the continuation lines (starting with space or tab) after it.
func fieldEnd(b []byte) int {
	i := 0
	for {
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			return len(b)
		}
		i += nl + 1
		if i >= len(b) || (b[i] != ' ' && b[i] != '\t') {
			return i
		}
	}
}

// FilterHeader implements BODY[HEADER.FIELDS (...)] and HEADER.FIELDS.NOT
// (RFC 3501 §6.4.5): it keeps the fields whose names are (not, when not is
// true) in fields, case-insensitively, with their continuation lines, and
// ends the result with the blank CRLF line.
func FilterHeader(header []byte, fields []string, not bool) []byte {
	out := make([]byte, 0, 256)
	forEachField(header, func(name, raw []byte) {
		match := false
		for _, f := range fields {
			if strings.EqualFold(f, string(name)) {
				match = true
				break
			}
		}
		if match != not {
			out = append(out, raw...)
			if raw[len(raw)-1] != '\n' {
				out = append(out, '\r', '\n')
			}
		}
	})
	return append(out, '\r', '\n')
}
