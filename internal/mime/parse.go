package mime

import (
	"bytes"
	"io"
	"strings"
)

// maxFieldLen caps how much of one header field is kept in memory; longer
// fields are truncated (their bytes still count in the offsets).
const maxFieldLen = 1 << 20

// bodyLineKeep is how much of a body line is looked at: enough for any
// boundary (RFC 2046 allows 70 characters; we accept longer ones).
const bodyLineKeep = 1024

// Parse parses the message of size octets in r. The error is only ever an
// I/O error from r; content never makes Parse fail.
func Parse(r io.ReaderAt, size int64) (*Part, error) {
	p := &parser{lr: newLineReader(io.NewSectionReader(r, 0, size), size)}
	root, _ := p.entity(nil, false, 0, true)
	if p.lr.err != nil {
		return nil, p.lr.err
	}
	return root, nil
}

// ParseBytes parses a message held in memory.
func ParseBytes(b []byte) *Part {
	root, _ := Parse(bytes.NewReader(b), int64(len(b)))
	return root
}

type parser struct {
	lr    *lineReader
	parts int // entities parsed so far, against MaxParts
}

// stop says how the scan of an entity ended: at the end of input
// (bound == -1) or at a boundary delimiter line of bounds[bound].
type stop struct {
	bound   int
	closing bool
	end     int64 // where the entity ends: before the line break preceding the delimiter
	endLFs  int64 // LFs before end
}

// stopAt makes the stop for the delimiter line l.
func stopAt(l *line, bound int, closing bool) stop {
	st := stop{bound: bound, closing: closing, end: l.start - int64(l.prevTerm), endLFs: l.lfs}
	if l.prevTerm > 0 {
		st.endLFs--
	}
	return st
}

func (p *parser) eofStop() stop {
	return stop{bound: -1, end: p.lr.pos, endLFs: p.lr.lfs}
}

// skipBody reads lines until a delimiter of bounds or the end of input.
func (p *parser) skipBody(bounds []string) stop {
	for {
		l, ok := p.lr.next(bodyLineKeep)
		if !ok {
			return p.eofStop()
		}
		if i, closing := matchBoundary(l.content(), bounds); i >= 0 {
			return stopAt(&l, i, closing)
		}
	}
}

// entity parses one entity (header and body) starting at the current
// position. digest says the default type is message/rfc822 (RFC 2046
// §5.1.5); isMessage says it is a message and gets an Envelope.
func (p *parser) entity(bounds []string, digest bool, depth int, isMessage bool) (*Part, stop) {
	part := &Part{HeaderStart: p.lr.pos}
	p.parts++
	descend := depth < MaxDepth && p.parts < MaxParts
	h, st, blankSeen := p.readHeader(bounds)
	part.applyHeader(h, digest)
	if isMessage {
		part.Envelope = h.envelope()
	}
	bodyLFs := p.lr.lfs
	if !blankSeen {
		// The header ran into a delimiter or the end of input: no body.
		part.BodyStart = max(st.end, part.HeaderStart)
		part.End = part.BodyStart
		p.finish(part, bodyLFs, bodyLFs)
		return part, st
	}
	part.BodyStart = p.lr.pos
	switch {
	case part.IsMultipart() && descend && part.Param("boundary") != "":
		st = p.multipartBody(part, append(bounds, part.Param("boundary")), depth)
	case part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global") && descend:
		part.Message, st = p.entity(bounds, false, depth+1, true)
	default:
		st = p.skipBody(bounds)
	}
	if st.end < part.BodyStart {
		// The blank line ending the header is also the line break of the
		// delimiter, which RFC 2046 §5.1.1 gives to the delimiter.
		part.BodyStart = max(st.end, part.HeaderStart)
		if m := part.Message; m != nil {
			// It started at the delimiter, so it is empty.
			m.HeaderStart, m.BodyStart, m.End = part.BodyStart, part.BodyStart, part.BodyStart
		}
	}
	part.End = max(st.end, part.BodyStart)
	if n := len(part.Parts); n > 0 {
		clampTo(part.Parts[n-1], part.End)
	}
	endLFs := st.endLFs
	if part.End == part.BodyStart {
		endLFs = bodyLFs
	}
	p.finish(part, bodyLFs, endLFs)
	return part, st
}

// multipartBody parses the preamble, the body parts and the epilogue of a
// multipart whose boundary is the last of bounds.
func (p *parser) multipartBody(part *Part, bounds []string, depth int) stop {
	me := len(bounds) - 1
	digest := part.Subtype == "digest"
	st := p.skipBody(bounds) // preamble
	for st.bound == me {
		if st.closing {
			return p.skipBody(bounds[:me]) // epilogue
		}
		if p.parts >= MaxParts {
			st = p.skipBody(bounds) // too many parts: skip this one
			continue
		}
		var child *Part
		child, st = p.entity(bounds, digest, depth+1, false)
		part.Parts = append(part.Parts, child)
	}
	return st
}

// clampTo moves offsets beyond end back to end. An empty last child that
// starts after a delimiter line whose line break an enclosing delimiter
// took would otherwise lie beyond its parent.
func clampTo(p *Part, end int64) {
	if p.End <= end {
		return
	}
	p.HeaderStart, p.BodyStart, p.End = min(p.HeaderStart, end), min(p.BodyStart, end), end
	p.Size = p.End - p.BodyStart
	if p.Size == 0 {
		p.Lines = 0
	}
	if n := len(p.Parts); n > 0 {
		clampTo(p.Parts[n-1], end)
	}
	if p.Message != nil {
		clampTo(p.Message, end)
	}
}

// finish computes Size and Lines and establishes the invariants documented
// in the package comment.
func (p *parser) finish(part *Part, bodyLFs, endLFs int64) {
	part.Size = part.End - part.BodyStart
	if part.Type == "text" || part.Message != nil || part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global") {
		part.Lines = lines(part.Size, endLFs-bodyLFs)
	}
	if part.IsMultipart() && len(part.Parts) == 0 {
		// No usable boundary: one plain child spans the body.
		child := &Part{HeaderStart: part.BodyStart, BodyStart: part.BodyStart, End: part.End,
			Type: "text", Subtype: "plain", Params: []Param{{"charset", "us-ascii"}}, Encoding: "7BIT"}
		child.Size = child.End - child.BodyStart
		child.Lines = lines(child.Size, endLFs-bodyLFs)
		part.Parts = []*Part{child}
	}
	if part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global") && part.Message == nil {
		// Too deep to descend: an embedded message with an empty header
		// whose body is the whole part body.
		part.Message = &Part{HeaderStart: part.BodyStart, BodyStart: part.BodyStart, End: part.End,
			Type: "text", Subtype: "plain", Params: []Param{{"charset", "us-ascii"}}, Encoding: "7BIT",
			Size: part.Size, Lines: part.Lines, Envelope: &Envelope{}}
	}
}

// lines is the number of lines in a body of the given octets and LFs:
// the number of line breaks, as Dovecot counts (a last line without a line
// break, such as the one before a boundary delimiter, is not counted).
func lines(octets, lfs int64) int64 {
	if octets <= 0 || lfs < 0 {
		return 0
	}
	return lfs
}

// applyHeader sets the MIME fields of part from its header.
func (part *Part) applyHeader(h *rawHeader, digest bool) {
	part.Type, part.Subtype = "text", "plain"
	if digest {
		part.Type, part.Subtype = "message", "rfc822"
	}
	if v, ok := h.get("content-type"); ok {
		if t, s, params, ok := parseContentType(v); ok {
			part.Type, part.Subtype = t, s
			part.Params = params
		} else {
			part.Params = params
		}
	}
	if part.Type == "text" && ParamValue(part.Params, "charset") == "" {
		// RFC 2045 §5.2 default, appended as Dovecot does.
		part.Params = append(part.Params, Param{"charset", "us-ascii"})
	}
	part.Encoding = "7BIT"
	if v, ok := h.get("content-transfer-encoding"); ok {
		if enc := strings.ToUpper(firstToken(v)); enc != "" {
			part.Encoding = enc
		}
	}
	part.ID, _ = h.get("content-id")
	part.Description, _ = h.get("content-description")
	part.MD5, _ = h.get("content-md5")
	if v, ok := h.get("content-disposition"); ok {
		part.Disposition, part.DispositionParams = parseDisposition(v)
	}
	if v, ok := h.get("content-language"); ok {
		part.Language = parseLanguage(v)
	}
	if v, ok := h.get("content-location"); ok {
		part.Location = strings.Join(strings.Fields(v), "")
	}
}
