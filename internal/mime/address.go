package mime

import "strings"

// Address is one element of an IMAP ENVELOPE address list (RFC 3501
// §7.4.2): the display name (raw phrase, quotes removed, not RFC 2047
// decoded), the source route (at-domain-list, e.g. "@a,@b"), the local part
// and the domain.
//
// Groups (RFC 5322 §3.4) use the RFC 3501 representation:
//   - group start: Host == "" and Mailbox is the group name (Name, ADL "");
//   - group end: Mailbox == "" and Host == "" (all fields empty);
//   - the group's members are the addresses between the two.
//
// An address without a domain (e.g. a bare "alice") gets Host MissingHost,
// one without a local part Mailbox MissingMailbox, so that an empty Host
// always means a group marker.
type Address struct {
	Name, ADL, Mailbox, Host string
}

// MissingHost and MissingMailbox stand for the domain or local part of an
// address written without one, as Dovecot reports them.
const (
	MissingHost    = "MISSING_DOMAIN"
	MissingMailbox = "MISSING_MAILBOX"
)

// IsGroupStart reports whether a marks the start of a group.
func (a Address) IsGroupStart() bool { return a.Host == "" && a.Mailbox != "" }

// IsGroupEnd reports whether a marks the end of a group.
func (a Address) IsGroupEnd() bool { return a.Host == "" && a.Mailbox == "" }

// String renders the address as "Name <mailbox@host>" (for logs and the CLI;
// group markers render as "name:" and ";").
func (a Address) String() string {
	switch {
	case a.IsGroupEnd():
		return ";"
	case a.IsGroupStart():
		return a.Mailbox + ":"
	case a.Name != "":
		return a.Name + " <" + a.Mailbox + "@" + a.Host + ">"
	}
	return a.Mailbox + "@" + a.Host
}

// ParseAddressList parses an address-list header value (RFC 5322 §3.4,
// with the obsolete forms of §4.4) tolerantly: junk is skipped, a missing
// ">" or ";" is implied, and parsing goes on with the next address, so the
// rest of the list is never lost.
func ParseAddressList(s string) []Address {
	p := addrParser{s: s}
	return p.list()
}

type addrParser struct {
	s       string
	i       int
	out     []Address
	inGroup bool
}

// word is one token of a phrase or local part.
type word struct {
	raw, text   string // raw as written; text unquoted
	spaceBefore bool
	dot         bool
}

func (p *addrParser) list() []Address {
	for {
		p.skipSpace(nil)
		if p.i >= len(p.s) {
			break
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ';':
			p.i++
			if p.inGroup {
				p.out = append(p.out, Address{})
				p.inGroup = false
			}
		default:
			p.address()
		}
	}
	if p.inGroup {
		p.out = append(p.out, Address{})
	}
	return p.out
}

// skipSpace skips white space and comments; the text of the first comment
// is stored in *comment when comment is not nil and still empty. It reports
// whether anything was skipped.
func (p *addrParser) skipSpace(comment *string) bool {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			p.i++
			continue
		}
		if c != '(' {
			break
		}
		begin := p.i
		p.i = skipCFWS(p.s, p.i)
		if p.i == begin {
			p.i++
		}
		if comment != nil && *comment == "" {
			text := p.s[begin+1 : p.i]
			text = strings.TrimSuffix(text, ")")
			*comment = strings.TrimSpace(text)
		}
	}
	return p.i > start
}

// maxRouteLen bounds the obsolete source route of an angle address.
const maxRouteLen = 1024

const addrSpecials = "()<>[]:;@\\,.\""

// atom reads a run of atom characters (RFC 5322 atext, and any 8-bit octet).
func (p *addrParser) atom() string {
	j := p.i
	for j < len(p.s) {
		c := p.s[j]
		if c <= ' ' || c == 0x7f || strings.IndexByte(addrSpecials, c) >= 0 {
			break
		}
		j++
	}
	a := p.s[p.i:j]
	p.i = j
	return a
}

// quoted reads a quoted string at p.s[p.i] == '"'.
func (p *addrParser) quoted() (raw, text string) {
	start := p.i
	text, p.i = quotedString(p.s, p.i)
	return p.s[start:p.i], text
}

// closedQuote reports whether the quoted string at p.s[p.i] is terminated.
func (p *addrParser) closedQuote() bool {
	for j := p.i + 1; j < len(p.s); j++ {
		switch p.s[j] {
		case '\\':
			j++
		case '"':
			return true
		}
	}
	return false
}

// address parses one mailbox or the start of a group.
func (p *addrParser) address() {
	var words []word
	var comment string
	for {
		space := p.skipSpace(&comment)
		if p.i >= len(p.s) {
			break
		}
		c := p.s[p.i]
		switch c {
		case '"':
			if !p.closedQuote() {
				p.i++ // an unterminated quote: ignore it, keep its words
				continue
			}
			raw, text := p.quoted()
			words = append(words, word{raw: raw, text: text, spaceBefore: space})
			continue
		case '.':
			p.i++
			words = append(words, word{raw: ".", text: ".", spaceBefore: space, dot: true})
			continue
		case '<':
			p.angle(phrase(words), &comment)
			return
		case '@':
			p.i++
			a := Address{Mailbox: localPart(words), Host: p.domain()}
			p.skipSpace(&comment)
			a.Name = comment
			p.add(a)
			return
		case ':':
			p.i++
			if !p.inGroup {
				p.out = append(p.out, Address{Mailbox: phrase(words)})
				p.inGroup = true
				return
			}
			// A colon inside a group (groups do not nest): what came
			// before is an address of its own.
			p.bare(words, comment)
			return
		case ',', ';':
			p.bare(words, comment)
			return
		}
		if a := p.atom(); a != "" {
			words = append(words, word{raw: a, text: a, spaceBefore: space})
			continue
		}
		p.i++ // a stray special (">", "[", "]", "\\"): skip it
	}
	p.bare(words, comment)
}

// bare adds an address that had no "@": a local part without a domain.
func (p *addrParser) bare(words []word, comment string) {
	if len(words) == 0 {
		return
	}
	p.add(Address{Name: comment, Mailbox: localPart(words), Host: MissingHost})
}

// add appends a mailbox address. One with neither local part nor domain
// nor name is junk and dropped; a missing local part becomes MissingMailbox
// so that the address is never mistaken for a group marker.
func (p *addrParser) add(a Address) {
	if a.Mailbox == "" {
		if a.Host == MissingHost && a.Name == "" && a.ADL == "" {
			return
		}
		a.Mailbox = MissingMailbox
	}
	p.out = append(p.out, a)
}

// angle parses "<" [route ":"] addr-spec ">" (RFC 5322 §3.4, §4.4).
func (p *addrParser) angle(name string, comment *string) {
	p.i++ // "<"
	var a Address
	p.skipSpace(nil)
	if p.i < len(p.s) && p.s[p.i] == '@' {
		// A route is short; looking further would make junk quadratic.
		end := strings.IndexAny(p.s[p.i:min(len(p.s), p.i+maxRouteLen)], ":>")
		if end >= 0 && p.s[p.i+end] == ':' {
			a.ADL = strings.Join(strings.Fields(p.s[p.i:p.i+end]), "")
			p.i += end + 1
		}
	}
	var words []word
	for p.i < len(p.s) {
		space := p.skipSpace(nil)
		if p.i >= len(p.s) {
			break
		}
		c := p.s[p.i]
		if c == '@' || c == '>' || c == ',' || c == ';' || c == '<' {
			break
		}
		switch {
		case c == '"' && !p.closedQuote():
			p.i++
		case c == '"':
			raw, text := p.quoted()
			words = append(words, word{raw: raw, text: text, spaceBefore: space})
		case c == '.':
			p.i++
			words = append(words, word{raw: ".", text: ".", dot: true})
		default:
			if at := p.atom(); at != "" {
				words = append(words, word{raw: at, text: at, spaceBefore: space})
			} else {
				p.i++ // stray special
			}
		}
	}
	a.Mailbox = localPart(words)
	a.Host = MissingHost
	if p.i < len(p.s) && p.s[p.i] == '@' {
		p.i++
		a.Host = p.domain()
	}
	// Skip to the closing ">", but never past the next address.
	for p.i < len(p.s) && strings.IndexByte(">,;", p.s[p.i]) < 0 {
		p.i++
	}
	if p.i < len(p.s) && p.s[p.i] == '>' {
		p.i++
	}
	p.skipSpace(comment)
	a.Name = name
	if a.Name == "" {
		a.Name = *comment
	}
	p.add(a)
}

// domain reads a domain: dot-atoms and domain literals, with CFWS allowed
// around the dots (RFC 5322 §4.4). MissingHost when empty.
func (p *addrParser) domain() string {
	var b strings.Builder
	for {
		p.skipSpace(nil)
		if p.i >= len(p.s) {
			break
		}
		c := p.s[p.i]
		if c == '[' {
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				end = len(p.s) - p.i - 1
			}
			b.WriteString(strings.Join(strings.Fields(p.s[p.i:p.i+end+1]), ""))
			p.i += end + 1
		} else if a := p.atom(); a != "" {
			b.WriteString(a)
		} else {
			break
		}
		save := p.i
		p.skipSpace(nil)
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			b.WriteByte('.')
			continue
		}
		p.i = save
		break
	}
	if b.Len() == 0 {
		return MissingHost
	}
	return b.String()
}

// phrase joins display-name words with single spaces where the source had
// white space, quotes removed.
func phrase(words []word) string {
	var b strings.Builder
	for k, w := range words {
		if k > 0 && w.spaceBefore {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// localPart joins local-part words as written (quoted strings keep their
// quotes), without the obsolete white space around dots.
func localPart(words []word) string {
	var b strings.Builder
	for _, w := range words {
		b.WriteString(w.raw)
	}
	return b.String()
}
