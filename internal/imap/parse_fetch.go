package imap

import (
	"strconv"
	"strings"
)

// fetchMacros are the FETCH macros (RFC 3501 §6.4.5).
var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"},
}

// parseFetch: "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
// fetch-att / "(" fetch-att *(SP fetch-att) ")") [SP "(" fetch-modifier
// *(SP fetch-modifier) ")"] (RFC 3501 §6.4.5, RFC 4466 §2.4, RFC 7162 §3.1.4
// CHANGEDSINCE, §3.2.6 VANISHED).
func (r *Reader) parseFetch(uid bool) Args {
	r.sp()
	a := &FetchArgs{Seq: r.seqSet()}
	r.sp()
	if r.peek() == '(' {
		r.pos++
		for first := true; r.peek() != ')' || first; first = false {
			if !first {
				r.sp()
			}
			a.Items = append(a.Items, r.fetchAtt(true))
		}
		r.pos++
	} else {
		save := r.pos
		word := strings.ToUpper(r.run(isAtomChar))
		if names, ok := fetchMacros[word]; ok && (r.eol() || r.peek() == ' ') {
			for _, n := range names {
				a.Items = append(a.Items, FetchItem{Name: n})
			}
		} else {
			r.pos = save
			a.Items = append(a.Items, r.fetchAtt(false))
		}
	}
	if r.eol() {
		return a
	}
	r.sp()
	r.expect('(', "(")
	for first := true; r.peek() != ')' || first; first = false {
		if !first {
			r.sp()
		}
		switch mod := strings.ToUpper(r.atom("fetch modifier")); mod {
		case "CHANGEDSINCE":
			r.sp()
			a.ChangedSince = r.number64("mod-sequence")
			if a.ChangedSince == 0 {
				r.fail("CHANGEDSINCE must not be zero")
			}
		case "VANISHED":
			if !uid {
				r.fail("VANISHED is only allowed in UID FETCH")
			}
			a.Vanished = true
		default:
			r.fail("unknown fetch modifier %s", mod)
		}
	}
	r.pos++
	if a.Vanished && a.ChangedSince == 0 {
		r.fail("VANISHED needs CHANGEDSINCE") // RFC 7162 §3.2.6
	}
	return a
}

func isFetchNameChar(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' }

// previewMods reads the optional [SP "(" preview-mod *(SP preview-mod)
// ")"] of PREVIEW (RFC 8970 §6; the one modifier is LAZY) and says
// whether LAZY was given.
func (r *Reader) previewMods(inList bool) bool {
	if r.peek() != ' ' || r.pos+1 >= len(r.line) || r.line[r.pos+1] != '(' {
		return false
	}
	if !inList {
		// "FETCH 1 PREVIEW (CHANGEDSINCE 5)": those are the FETCH
		// modifiers.
		rest := r.line[r.pos+2:]
		if len(rest) < 4 || !strings.EqualFold(string(rest[:4]), "LAZY") || len(rest) > 4 && rest[4] != ')' && rest[4] != ' ' {
			return false
		}
	}
	r.pos += 2
	lazy := false
	for first := true; r.peek() != ')' || first; first = false {
		if !first {
			r.sp()
		}
		if mod := strings.ToUpper(r.atom("preview modifier")); mod != "LAZY" {
			r.fail("unknown PREVIEW modifier %s", mod)
		}
		lazy = true
	}
	r.pos++
	return lazy
}

// fetchAtt reads one fetch-att (RFC 3501 §9, RFC 3516 §6, RFC 7162 §7,
// RFC 8474 §7, RFC 8514 §5, RFC 8970 §6). inList says it is inside the
// parenthesised list, where "(" after PREVIEW can only open its
// modifiers; a lone PREVIEW may be followed by the FETCH modifiers.
func (r *Reader) fetchAtt(inList bool) FetchItem {
	name := strings.ToUpper(r.run(isFetchNameChar))
	switch name {
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER",
		"RFC822.SIZE", "RFC822.TEXT", "BODYSTRUCTURE", "UID", "MODSEQ",
		"EMAILID", "THREADID", "SAVEDATE":
		return FetchItem{Name: name}
	case "PREVIEW":
		return FetchItem{Name: name, Lazy: r.previewMods(inList)}
	case "BODY", "BODY.PEEK":
		it := FetchItem{Name: "BODY", Peek: name == "BODY.PEEK"}
		if r.peek() != '[' {
			if it.Peek {
				r.fail("BODY.PEEK needs a section")
			}
			return it
		}
		it.Section = r.section(false)
		it.Partial = r.partial()
		return it
	case "BINARY", "BINARY.PEEK":
		it := FetchItem{Name: "BINARY", Peek: name == "BINARY.PEEK"}
		it.Section = r.section(true)
		it.Partial = r.partial()
		return it
	case "BINARY.SIZE":
		return FetchItem{Name: name, Section: r.section(true)}
	case "":
		r.fail("expected fetch item")
	}
	r.fail("unknown fetch item %s", name)
	return FetchItem{}
}

// section reads "[" section-spec "]" (RFC 3501 section) or, when binary,
// "[" [section-part] "]" (RFC 3516 section-binary).
func (r *Reader) section(binary bool) *Section {
	r.expect('[', "[")
	s := &Section{}
	for isDigit(r.peek()) {
		s.Part = append(s.Part, int(r.nzNumber("part number")))
		if len(s.Part) > 100 {
			r.fail("section nested too deeply")
		}
		if r.peek() != '.' {
			break
		}
		r.pos++
		if !isDigit(r.peek()) {
			break // section-text follows
		}
	}
	if r.peek() == ']' && len(s.Part) > 0 && r.line[r.pos-1] == '.' {
		r.fail("invalid section")
	}
	if binary {
		if r.peek() != ']' {
			r.fail("invalid binary section")
		}
		r.pos++
		return s
	}
	if r.peek() != ']' {
		if len(s.Part) > 0 && r.line[r.pos-1] != '.' {
			r.fail("invalid section")
		}
		spec := strings.ToUpper(r.run(func(c byte) bool { return isAtomChar(c) && c != '[' }))
		switch spec {
		case "HEADER", "TEXT":
		case "MIME":
			if len(s.Part) == 0 {
				r.fail("MIME needs a part number")
			}
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			r.sp()
			r.expect('(', "(")
			for first := true; r.peek() != ')' || first; first = false {
				if !first {
					r.sp()
				}
				s.Fields = append(s.Fields, strings.ToUpper(r.astring("header field name")))
			}
			r.pos++
		default:
			r.fail("invalid section %q", spec)
		}
		s.Specifier = spec
	}
	r.expect(']', "]")
	return s
}

// partial reads an optional "<" number "." nz-number ">".
func (r *Reader) partial() *Partial {
	if r.peek() != '<' {
		return nil
	}
	r.pos++
	p := &Partial{Offset: int64(r.number64("partial offset"))}
	r.expect('.', ".")
	p.Count = int64(r.number64("partial length"))
	if p.Count == 0 {
		r.fail("partial length must not be zero")
	}
	r.expect('>', ">")
	return p
}

// String renders the section spec as it appears between the brackets,
// e.g. "1.2.HEADER.FIELDS (FROM TO)".
func (s *Section) String() string {
	var b strings.Builder
	for i, p := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if s.Specifier == "HEADER.FIELDS" || s.Specifier == "HEADER.FIELDS.NOT" {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			w := &Writer{}
			b.WriteString(w.astringText(f))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// ResponseName is the name of the item in the FETCH response (RFC 3501
// §7.4.2): ".PEEK" dropped, a partial reduced to its origin
// ("BODY[1.TEXT]<0>").
func (it FetchItem) ResponseName() string {
	if it.Section == nil {
		return it.Name
	}
	name := it.Name + "[" + it.Section.String() + "]"
	if it.Partial != nil {
		name += "<" + strconv.FormatInt(it.Partial.Offset, 10) + ">"
	}
	return name
}

// parseStore: "STORE" SP sequence-set [SP "(" "UNCHANGEDSINCE" SP
// mod-sequence-valzer ")"] SP store-att-flags (RFC 3501 §6.4.6,
// RFC 7162 §3.1.3).
func (r *Reader) parseStore() Args {
	r.sp()
	a := &StoreArgs{Seq: r.seqSet()}
	r.sp()
	if r.peek() == '(' {
		r.pos++
		for first := true; r.peek() != ')' || first; first = false {
			if !first {
				r.sp()
			}
			if mod := strings.ToUpper(r.atom("store modifier")); mod != "UNCHANGEDSINCE" {
				r.fail("unknown store modifier %s", mod)
			}
			r.sp()
			a.UnchangedSince = r.number64("mod-sequence")
			a.HasUnchangedSince = true
		}
		r.pos++
		r.sp()
	}
	switch r.peek() {
	case '+':
		a.Op = StoreAdd
		r.pos++
	case '-':
		a.Op = StoreRemove
		r.pos++
	}
	switch item := strings.ToUpper(r.atom("FLAGS")); item {
	case "FLAGS":
	case "FLAGS.SILENT":
		a.Silent = true
	default:
		r.fail("unknown store item %s", item)
	}
	r.sp()
	if r.peek() == '(' {
		a.Flags = r.flagList()
		return a
	}
	a.Flags = []string{r.flagLike("flag")}
	for !r.eol() {
		r.sp()
		a.Flags = append(a.Flags, r.flagLike("flag"))
	}
	return a
}
