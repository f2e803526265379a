package imap

import "strings"

// CatPart is one part of a CATENATE append (RFC 4469 §5): either a TEXT
// literal or an IMAP URL (RFC 5092) naming a message or a section of one.
type CatPart struct {
	Text *Literal // nil for a URL part
	URL  string
}

// GenURLAuthArgs: GENURLAUTH (RFC 4467 §6.2): pairs of URL rump and
// mechanism.
type GenURLAuthArgs struct {
	Rumps      []string
	Mechanisms []string // upper-cased, parallel to Rumps
}

// ResetKeyArgs: RESETKEY (RFC 4467 §6.1). Mailbox "" (and HasMailbox
// false) resets every mailbox's key.
type ResetKeyArgs struct {
	HasMailbox bool
	Mailbox    string
	Mechanisms []string // upper-cased
}

// URLFetchArgs: URLFETCH (RFC 4467 §6.4).
type URLFetchArgs struct {
	URLs []string
}

func (*GenURLAuthArgs) isArgs() {}
func (*ResetKeyArgs) isArgs()   {}
func (*URLFetchArgs) isArgs()   {}

// maxCatParts bounds the parts of one CATENATE.
const maxCatParts = 1000

// catenateParts reads "(" cat-part *(SP cat-part) ")" after "CATENATE SP"
// (RFC 4469 §5): cat-part = "TEXT" SP literal / "URL" SP url. A TEXT part
// may also be a literal8 (RFC 4469 §5 with BINARY, RFC 3516 §4.4).
func (r *Reader) catenateParts() []CatPart {
	r.expect('(', "(")
	var parts []CatPart
	for {
		if len(parts) > 0 {
			if r.peek() == ')' {
				r.pos++
				return parts
			}
			r.sp()
		}
		if len(parts) >= maxCatParts {
			r.fail("too many CATENATE parts")
		}
		kind := strings.ToUpper(r.atom("CATENATE part (TEXT or URL)"))
		r.sp()
		switch kind {
		case "TEXT":
			if r.peek() != '{' && r.peek() != '~' {
				r.fail("CATENATE TEXT needs a literal")
			}
			parts = append(parts, CatPart{Text: r.messageLiteral()})
		case "URL":
			u := r.astring("URL")
			if u == "" {
				r.fail("empty CATENATE URL")
			}
			parts = append(parts, CatPart{URL: u})
		default:
			r.fail("unknown CATENATE part %s", kind)
		}
	}
}

// parseGenURLAuth: "GENURLAUTH" 1*(SP url-rump SP mechanism)
// (RFC 4467 §9).
func (r *Reader) parseGenURLAuth() Args {
	a := &GenURLAuthArgs{}
	for !r.eol() || len(a.Rumps) == 0 {
		r.sp()
		if len(a.Rumps) >= 100 {
			r.fail("too many URLs")
		}
		a.Rumps = append(a.Rumps, r.astring("URL rump"))
		r.sp()
		a.Mechanisms = append(a.Mechanisms, strings.ToUpper(r.atom("URLAUTH mechanism")))
	}
	return a
}

// parseResetKey: "RESETKEY" [SP mailbox *(SP mechanism)] (RFC 4467 §9).
func (r *Reader) parseResetKey() Args {
	a := &ResetKeyArgs{}
	if r.eol() {
		return a
	}
	r.sp()
	a.HasMailbox = true
	a.Mailbox = r.mailboxArg()
	for !r.eol() {
		r.sp()
		a.Mechanisms = append(a.Mechanisms, strings.ToUpper(r.atom("URLAUTH mechanism")))
	}
	return a
}

// parseURLFetch: "URLFETCH" 1*(SP astring) (RFC 4467 §9).
func (r *Reader) parseURLFetch() Args {
	a := &URLFetchArgs{}
	for !r.eol() || len(a.URLs) == 0 {
		r.sp()
		if len(a.URLs) >= 100 {
			r.fail("too many URLs")
		}
		a.URLs = append(a.URLs, r.astring("URL"))
	}
	return a
}
