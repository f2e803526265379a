package mime

// Range is a byte range [Start, End) of the message.
type Range struct {
	Start, End int64
}

// Len is the number of octets in the range.
func (r Range) Len() int64 { return r.End - r.Start }

// Find returns the part addressed by an IMAP section part number (RFC 3501
// §6.4.5), p being the root: path {} is the whole message; in a multipart,
// n is its n-th child; a non-multipart message (or embedded message) has
// only part 1, which is its body; below a message/rfc822 part the numbers
// address the parts of the embedded message. Nil when there is no such part.
func (p *Part) Find(path []int) *Part {
	if len(path) == 0 {
		return p
	}
	container := p // a message, or a multipart
	for k, n := range path {
		var child *Part
		switch {
		case n < 1:
			return nil
		case container.IsMultipart():
			if n > len(container.Parts) {
				return nil
			}
			child = container.Parts[n-1]
		case n == 1:
			child = container
		default:
			return nil
		}
		if k == len(path)-1 {
			return child
		}
		switch {
		case child.IsMultipart() && child != container:
			container = child
		case child.Message != nil:
			container = child.Message
		default:
			return nil
		}
	}
	return nil
}

// message returns the message a HEADER or TEXT specifier applies to: the
// root for an empty path, else the embedded message of the message/rfc822
// part the path addresses (RFC 3501 §6.4.5).
func (p *Part) message(path []int) *Part {
	if len(path) == 0 {
		return p
	}
	part := p.Find(path)
	if part == nil {
		return nil
	}
	return part.Message
}

// BodyRange is BODY[path]: the whole message for an empty path, else the
// body of the addressed part (for a message/rfc822 part, the embedded
// message with its header).
func (p *Part) BodyRange(path []int) (Range, bool) {
	if len(path) == 0 {
		return Range{p.HeaderStart, p.End}, true
	}
	part := p.Find(path)
	if part == nil {
		return Range{}, false
	}
	return Range{part.BodyStart, part.End}, true
}

// HeaderRange is BODY[path.HEADER] (and the input of HEADER.FIELDS): the
// header, blank line included, of the message (empty path) or of the
// message/rfc822 part the path addresses. ok is false when the path does not
// address a message/rfc822 part; IMAP servers then answer an empty string.
func (p *Part) HeaderRange(path []int) (Range, bool) {
	m := p.message(path)
	if m == nil {
		return Range{}, false
	}
	return Range{m.HeaderStart, m.BodyStart}, true
}

// TextRange is BODY[path.TEXT]: the body of the message (empty path) or of
// the message/rfc822 part the path addresses.
func (p *Part) TextRange(path []int) (Range, bool) {
	m := p.message(path)
	if m == nil {
		return Range{}, false
	}
	return Range{m.BodyStart, m.End}, true
}

// MIMERange is BODY[path.MIME]: the MIME header of the addressed part
// (RFC 3501 §6.4.5; not defined for an empty path). For part 1 of a
// non-multipart message it is the message's header.
func (p *Part) MIMERange(path []int) (Range, bool) {
	if len(path) == 0 {
		return Range{}, false
	}
	part := p.Find(path)
	if part == nil {
		return Range{}, false
	}
	return Range{part.HeaderStart, part.BodyStart}, true
}
