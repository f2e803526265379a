package outbound

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"slices"

	"github.com/letterbox/letterbox/internal/mime"
)

// 8BITMIME downgrade (RFC 6152 §3): a message with 8-bit content may only
// go to a server that offers 8BITMIME; for one that does not, its 8-bit
// body parts are converted to a 7-bit transfer encoding
// (quoted-printable for text, base64 for the rest; RFC 2045 §6) and the
// Content-Transfer-Encoding fields say so. Multiparts and embedded
// messages are converted part by part (a message/rfc822 entity may not be
// encoded itself, RFC 2046 §5.2.1), and their own "8bit" label becomes
// "7bit". The conversion is done before DKIM signing, so the signature
// covers what is sent.
//
// Not converted: 8-bit bytes in header fields (they need SMTPUTF8 or
// RFC 2047 encoding, which needs the charset), and a message that is not
// MIME (no MIME-Version field: its charset is unknown); those are sent as
// they are, as Postfix does.

// has8bit reports whether r holds a byte with the high bit set.
func has8bit(r io.Reader) (bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	buf := make([]byte, 64<<10)
	for {
		n, err := br.Read(buf)
		for _, c := range buf[:n] {
			if c >= 0x80 {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// edit replaces data[start:end].
type edit struct {
	start, end int64
	with       []byte
}

// downgrade8bit returns msg with its 8-bit body parts re-encoded to 7 bit,
// and whether anything changed.
func downgrade8bit(msg []byte) ([]byte, bool) {
	root := mime.ParseBytes(msg)
	if !hasField(msg[root.HeaderStart:root.BodyStart], "mime-version") {
		return msg, false
	}
	var edits []edit
	root.Walk(func(p *mime.Part) bool {
		switch {
		case p.IsMultipart() || p.IsMessage():
			// A container is 7bit once its parts are.
			if p.Encoding == "8BIT" || p.Encoding == "BINARY" {
				edits = append(edits, edit{p.HeaderStart, p.BodyStart, setEncoding(msg[p.HeaderStart:p.BodyStart], "7bit")})
			}
		case p.Encoding == "7BIT" || p.Encoding == "8BIT" || p.Encoding == "BINARY":
			body := msg[p.BodyStart:p.End]
			if !slices.ContainsFunc(body, func(c byte) bool { return c >= 0x80 }) {
				break
			}
			enc, text := "base64", p.Type == "text"
			if text {
				enc = "quoted-printable"
			}
			encoded := encodeBody(body, text)
			if !text && p.End == int64(len(msg)) {
				encoded = append(encoded, "\r\n"...) // the message ends with a line break
			}
			edits = append(edits,
				edit{p.HeaderStart, p.BodyStart, setEncoding(msg[p.HeaderStart:p.BodyStart], enc)},
				edit{p.BodyStart, p.End, encoded})
		}
		return true
	})
	if len(edits) == 0 {
		return msg, false
	}
	slices.SortFunc(edits, func(a, b edit) int { return int(a.start - b.start) })
	var out bytes.Buffer
	out.Grow(len(msg) + len(msg)/3)
	at := int64(0)
	for _, e := range edits {
		if e.start < at {
			continue // never: parts do not overlap
		}
		out.Write(msg[at:e.start])
		out.Write(e.with)
		at = e.end
	}
	out.Write(msg[at:])
	return out.Bytes(), true
}

// encodeBody encodes a part's body: quoted-printable for text (its CRLF
// line breaks stay line breaks; a body that ended in CRLF still does),
// base64 in 76-character lines otherwise (the body's octets, its last
// CRLF included, are in the encoding).
func encodeBody(body []byte, text bool) []byte {
	var b bytes.Buffer
	if text {
		w := quotedprintable.NewWriter(&b)
		w.Write(body)
		w.Close()
		if bytes.HasSuffix(body, []byte("\r\n")) && !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		return b.Bytes()
	}
	// The line break after the last line is the one before the next
	// boundary, outside the body.
	enc := base64.StdEncoding.EncodeToString(body)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.Bytes()
}

// headerFields splits a raw header (with its blank line) into fields,
// each with its continuation lines and line break; the blank line is the
// last element.
func headerFields(h []byte) [][]byte {
	var fields [][]byte
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		line := h
		if i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 && !isBlank(fields[len(fields)-1]) {
			fields[len(fields)-1] = append(fields[len(fields)-1], line...)
			continue
		}
		fields = append(fields, append([]byte(nil), line...))
	}
	return fields
}

func isBlank(line []byte) bool { return len(bytes.TrimRight(line, "\r\n")) == 0 }

func fieldName(f []byte) string {
	name, _, ok := bytes.Cut(f, []byte(":"))
	if !ok {
		return ""
	}
	return string(bytes.ToLower(bytes.TrimSpace(name)))
}

func hasField(h []byte, name string) bool {
	return slices.ContainsFunc(headerFields(h), func(f []byte) bool { return fieldName(f) == name })
}

// setEncoding returns header h with its Content-Transfer-Encoding fields
// replaced by one naming enc, placed before the blank line.
func setEncoding(h []byte, enc string) []byte {
	var out bytes.Buffer
	added := false
	for _, f := range headerFields(h) {
		if fieldName(f) == "content-transfer-encoding" {
			continue
		}
		if isBlank(f) && !added {
			out.WriteString("Content-Transfer-Encoding: " + enc + "\r\n")
			added = true
		}
		out.Write(f)
	}
	if !added {
		out.WriteString("Content-Transfer-Encoding: " + enc + "\r\n\r\n")
	}
	return out.Bytes()
}
