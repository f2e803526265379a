package mime

import "strings"

// MaxDepth bounds the nesting of multiparts and embedded messages that Parse
// descends into, so hostile input cannot exhaust the stack.
const MaxDepth = 100

// MaxParts bounds the number of entities Parse makes for one message (as
// Dovecot does, with the same default). Past it, nested multiparts and
// messages are not descended into and further body parts are skipped.
const MaxParts = 10000

// Param is one parameter of a Content-Type or Content-Disposition field.
// Name is lower-case. RFC 2231 continuations (name*0, name*1*, ...) are merged
// into one parameter; when any segment was extended (charset-encoded), the
// merged parameter is named "name*" and its value stays in the RFC 2231
// charset'language'%XX form, as Dovecot shows it in BODYSTRUCTURE. ParamValue
// decodes it.
type Param struct {
	Name, Value string
}

// Part is one MIME entity: the whole message (the root), a part of a
// multipart, or an embedded message.
type Part struct {
	// Byte offsets in the whole message: header [HeaderStart, BodyStart)
	// including its blank line, body [BodyStart, End).
	HeaderStart, BodyStart, End int64

	Type, Subtype string  // lower-case, e.g. "text", "plain"
	Params        []Param // Content-Type parameters in order

	ID          string // Content-ID, raw
	Description string // Content-Description, raw (not RFC 2047 decoded)
	Encoding    string // Content-Transfer-Encoding, upper-case, default "7BIT"
	Size        int64  // body octets: End - BodyStart
	Lines       int64  // text/* and message/rfc822 only: lines in the body
	MD5         string // Content-MD5, raw

	Disposition       string  // Content-Disposition type, lower-case; "" when absent
	DispositionParams []Param // its parameters
	Language          []string
	Location          string

	// Parts are the children of a multipart, in order: Parts[0] is part 1.
	Parts []*Part
	// Message is the embedded message of a message/rfc822 part.
	Message *Part
	// Envelope is set on the root and on every embedded message.
	Envelope *Envelope
}

// IsMultipart reports whether the part is a multipart/*.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// IsMessage reports whether the part is a message/rfc822 (or message/global,
// RFC 6532) with an embedded message.
func (p *Part) IsMessage() bool { return p.Message != nil }

// Param returns the value of the Content-Type parameter name (lower-case),
// decoded if it is an RFC 2231 extended parameter. "" when absent.
func (p *Part) Param(name string) string { return ParamValue(p.Params, name) }

// Charset is the charset parameter, lower-case; "" when absent.
func (p *Part) Charset() string { return strings.ToLower(p.Param("charset")) }

// Filename is the file name suggested by Content-Disposition (filename) or,
// failing that, Content-Type (name), decoded to UTF-8 where RFC 2231 or
// RFC 2047 encoded.
func (p *Part) Filename() string {
	name := ParamValue(p.DispositionParams, "filename")
	if name == "" {
		name = p.Param("name")
	}
	return DecodeHeader(name)
}

// Walk calls fn for p and every part below it (children and embedded
// messages), depth first, in part-number order. fn returning false stops the
// walk below that part.
func (p *Part) Walk(fn func(*Part) bool) {
	if !fn(p) {
		return
	}
	for _, c := range p.Parts {
		c.Walk(fn)
	}
	if p.Message != nil {
		p.Message.Walk(fn)
	}
}
