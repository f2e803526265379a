package mime

import (
	"encoding/binary"
	"errors"
)

// The encoded form is a compact hand-rolled binary format: a version byte,
// then the part tree depth first. Integers are varints; offsets are stored
// relative to the enclosing body; common strings (types, subtypes,
// parameter names, encodings) are one byte from commonStrings. Decode checks
// every length and never panics on corrupt input.
const encodingVersion = 1

// commonStrings must only ever be appended to: indexes are stored.
var commonStrings = []string{
	"text", "plain", "html", "multipart", "mixed", "alternative", "related",
	"application", "octet-stream", "message", "rfc822", "image", "charset",
	"utf-8", "us-ascii", "7BIT", "8BIT", "BASE64", "QUOTED-PRINTABLE",
	"boundary", "name", "filename", "attachment", "inline", "iso-8859-1",
	"pdf", "jpeg", "png", "gif", "format", "flowed", "delsp", "yes", "no",
	"report", "delivery-status", "signed", "protocol", "micalg", "calendar",
	"method", "type", "size", "creation-date", "modification-date", "UTF-8",
	"windows-1252", "iso-8859-15", "digest", "BINARY", "global",
	"x-zip-compressed", "zip", "pgp-signature", "pkcs7-signature", "rfc822-headers",
	"en", "en-US", "smil", "msword", "vnd.openxmlformats-officedocument.wordprocessingml.document",
}

var commonIndex = func() map[string]int {
	m := make(map[string]int, len(commonStrings))
	for i, s := range commonStrings {
		m[s] = i + 1
	}
	return m
}()

// ErrCorrupt is returned by Decode for data that Encode did not produce.
var ErrCorrupt = errors.New("mime: corrupt encoded structure")

// Encode serialises the part tree for storage; Decode reverses it.
func (p *Part) Encode() []byte {
	b := make([]byte, 0, 256)
	b = append(b, encodingVersion)
	return appendPart(b, p, 0)
}

func appendString(b []byte, s string) []byte {
	if s == "" {
		return append(b, 0)
	}
	if i, ok := commonIndex[s]; ok {
		return binary.AppendUvarint(b, uint64(i))
	}
	b = binary.AppendUvarint(b, uint64(len(s)+len(commonStrings)+1))
	return append(b, s...)
}

func appendParams(b []byte, ps []Param) []byte {
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendString(b, p.Name)
		b = appendString(b, p.Value)
	}
	return b
}

func appendAddrs(b []byte, as []Address) []byte {
	b = binary.AppendUvarint(b, uint64(len(as)))
	for _, a := range as {
		b = appendString(b, a.Name)
		b = appendString(b, a.ADL)
		b = appendString(b, a.Mailbox)
		b = appendString(b, a.Host)
	}
	return b
}

// appendDefaulted writes an address list that defaults to from: a 0 byte
// when it is identical to from, else a 1 byte and the list.
func appendDefaulted(b []byte, as, from []Address) []byte {
	if sameAddrs(as, from) {
		return append(b, 0)
	}
	b = append(b, 1)
	return appendAddrs(b, as)
}

func sameAddrs(a, b []Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const (
	flagMessage  = 1
	flagEnvelope = 2
)

func appendPart(b []byte, p *Part, base int64) []byte {
	b = binary.AppendVarint(b, p.HeaderStart-base)
	b = binary.AppendVarint(b, p.BodyStart-p.HeaderStart)
	b = binary.AppendVarint(b, p.End-p.BodyStart)
	b = appendString(b, p.Type)
	b = appendString(b, p.Subtype)
	b = appendParams(b, p.Params)
	b = appendString(b, p.ID)
	b = appendString(b, p.Description)
	b = appendString(b, p.Encoding)
	b = binary.AppendVarint(b, p.Lines)
	b = appendString(b, p.MD5)
	b = appendString(b, p.Disposition)
	b = appendParams(b, p.DispositionParams)
	b = binary.AppendUvarint(b, uint64(len(p.Language)))
	for _, l := range p.Language {
		b = appendString(b, l)
	}
	b = appendString(b, p.Location)
	b = binary.AppendUvarint(b, uint64(len(p.Parts)))
	for _, c := range p.Parts {
		b = appendPart(b, c, p.BodyStart)
	}
	var flags byte
	if p.Message != nil {
		flags |= flagMessage
	}
	if p.Envelope != nil {
		flags |= flagEnvelope
	}
	b = append(b, flags)
	if p.Message != nil {
		b = appendPart(b, p.Message, p.BodyStart)
	}
	if e := p.Envelope; e != nil {
		b = appendString(b, e.Date)
		b = appendString(b, e.Subject)
		b = appendAddrs(b, e.From)
		b = appendDefaulted(b, e.Sender, e.From)
		b = appendDefaulted(b, e.ReplyTo, e.From)
		b = appendAddrs(b, e.To)
		b = appendAddrs(b, e.Cc)
		b = appendAddrs(b, e.Bcc)
		b = appendString(b, e.InReplyTo)
		b = appendString(b, e.MessageID)
	}
	return b
}

// Decode rebuilds a part tree from Encode's output.
func Decode(data []byte) (*Part, error) {
	if len(data) == 0 || data[0] != encodingVersion {
		return nil, ErrCorrupt
	}
	d := decoder{b: data[1:]}
	p := d.part(0, 0)
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, ErrCorrupt
	}
	return p, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list length, each element taking at least min bytes.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) byte1() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	k := d.uvarint()
	switch {
	case k == 0:
		return ""
	case k <= uint64(len(commonStrings)):
		return commonStrings[k-1]
	}
	n := k - uint64(len(commonStrings)) - 1
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) params() []Param {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i].Name = d.string()
		ps[i].Value = d.string()
	}
	return ps
}

func (d *decoder) addrs() []Address {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	as := make([]Address, n)
	for i := range as {
		as[i] = Address{Name: d.string(), ADL: d.string(), Mailbox: d.string(), Host: d.string()}
	}
	return as
}

func (d *decoder) defaulted(from []Address) []Address {
	if len(d.b) > 0 && d.b[0] == 0 {
		d.b = d.b[1:]
		return from
	}
	if d.byte1() != 1 {
		d.fail()
		return nil
	}
	return d.addrs()
}

func (d *decoder) part(base int64, depth int) *Part {
	if depth > MaxDepth+2 {
		d.fail()
		return nil
	}
	p := &Part{}
	p.HeaderStart = base + d.varint()
	p.BodyStart = p.HeaderStart + d.varint()
	p.End = p.BodyStart + d.varint()
	p.Size = p.End - p.BodyStart
	p.Type = d.string()
	p.Subtype = d.string()
	p.Params = d.params()
	p.ID = d.string()
	p.Description = d.string()
	p.Encoding = d.string()
	p.Lines = d.varint()
	p.MD5 = d.string()
	p.Disposition = d.string()
	p.DispositionParams = d.params()
	if n := d.count(1); n > 0 {
		p.Language = make([]string, n)
		for i := range p.Language {
			p.Language[i] = d.string()
		}
	}
	p.Location = d.string()
	if n := d.count(8); n > 0 {
		p.Parts = make([]*Part, 0, n)
		for range n {
			c := d.part(p.BodyStart, depth+1)
			if d.err != nil {
				return nil
			}
			p.Parts = append(p.Parts, c)
		}
	}
	flags := d.byte1()
	if flags&^(flagMessage|flagEnvelope) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil
	}
	if flags&flagMessage != 0 {
		p.Message = d.part(p.BodyStart, depth+1)
	}
	if flags&flagEnvelope != 0 {
		e := &Envelope{}
		e.Date = d.string()
		e.Subject = d.string()
		e.From = d.addrs()
		e.Sender = d.defaulted(e.From)
		e.ReplyTo = d.defaulted(e.From)
		e.To = d.addrs()
		e.Cc = d.addrs()
		e.Bcc = d.addrs()
		e.InReplyTo = d.string()
		e.MessageID = d.string()
		p.Envelope = e
	}
	if d.err != nil {
		return nil
	}
	return p
}
