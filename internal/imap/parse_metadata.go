package imap

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// METADATA commands (RFC 5464 §4.2, §4.3). Added after the first API
// commit (additive): GetMetadataArgs, SetMetadataArgs, MetadataValue,
// MetadataDepthInfinity, CheckMetadataEntry.

// GetMetadataArgs: GETMETADATA (RFC 5464 §4.2).
type GetMetadataArgs struct {
	Mailbox string // decoded mailbox name; "" for the server's entries
	// MaxSize is the MAXSIZE option (§4.2.1); -1 when absent.
	MaxSize int64
	// Depth is the DEPTH option (§4.2.2): 0 (also when absent), 1 or
	// MetadataDepthInfinity.
	Depth int
	// Entries are the entry names as sent; each passed CheckMetadataEntry.
	Entries []string
}

// MetadataDepthInfinity is DEPTH infinity.
const MetadataDepthInfinity = -1

// SetMetadataArgs: SETMETADATA (RFC 5464 §4.3).
type SetMetadataArgs struct {
	Mailbox string // decoded mailbox name; "" for the server's entries
	Entries []MetadataValue
}

// MetadataValue is one entry-value pair of SETMETADATA.
type MetadataValue struct {
	Name  string // as sent; passed CheckMetadataEntry
	Value []byte // nil for NIL (remove the entry)
	// Binary is set when the value came as a literal8 (~{n}, RFC 3516):
	// it may hold NUL.
	Binary bool
}

func (*GetMetadataArgs) isArgs() {}
func (*SetMetadataArgs) isArgs() {}

// CheckMetadataEntry checks an entry name against RFC 5464 §3.2 and
// returns why it is not one ("" when it is): it starts with "/private" or
// "/shared" (any case) as a whole first component, has no "*" or "%", no
// "//", no trailing "/", no control characters and is UTF-8. The texts
// follow Dovecot's.
func CheckMetadataEntry(name string) string {
	if !strings.HasPrefix(name, "/") {
		return "Entry name must begin with '/'"
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '/' && i > 0 && name[i-1] == '/':
			return "Entry name can't contain consecutive '/'"
		case c == '/' && i == len(name)-1:
			return "Entry name can't end with '/'"
		case c == '*':
			return "Entry name can't contain '*'"
		case c == '%':
			return "Entry name can't contain '%'"
		case c < 0x20 || c == 0x7f:
			return "Entry name can't contain control characters"
		}
	}
	if !utf8.ValidString(name) {
		return "Entry name must be UTF-8"
	}
	first, _, _ := strings.Cut(name[1:], "/")
	if !strings.EqualFold(first, "private") && !strings.EqualFold(first, "shared") {
		return "Entry name must begin with /private or /shared"
	}
	return ""
}

// metadataEntry reads an entry name (an astring, RFC 5464 §5) and checks
// it. In the atom form "*" and "%" are taken in too, so that they are
// reported as such rather than as a stray character.
func (r *Reader) metadataEntry() string {
	var name string
	switch r.peek() {
	case '"', '{':
		name = r.str("entry name")
	default:
		name = r.run(func(c byte) bool { return c >= 0x80 || isAStringChar(c) || c == '*' || c == '%' })
		if name == "" {
			r.fail("expected entry name")
		}
	}
	if why := CheckMetadataEntry(name); why != "" {
		r.fail("%s", why)
	}
	return name
}

// parseGetMetadata: "GETMETADATA" [SP getmetadata-options] SP mailbox SP
// entries, entries = entry / "(" entry *(SP entry) ")" (RFC 5464 §5).
// The options are also taken after the mailbox, where some clients put
// them (RFC 5464's own examples do).
func (r *Reader) parseGetMetadata() Args {
	a := &GetMetadataArgs{MaxSize: -1}
	r.sp()
	seenOptions := false
	if r.peek() == '(' {
		r.metadataOptions(a)
		seenOptions = true
		r.sp()
	}
	a.Mailbox = r.mailboxArg()
	r.sp()
	if !seenOptions && r.peek() == '(' && r.optionAhead() {
		r.metadataOptions(a)
		r.sp()
	}
	if r.peek() != '(' {
		a.Entries = []string{r.metadataEntry()}
		return a
	}
	r.pos++
	for {
		a.Entries = append(a.Entries, r.metadataEntry())
		if r.peek() == ')' {
			r.pos++
			return a
		}
		r.sp()
	}
}

// optionAhead reports whether "(" at r.pos opens GETMETADATA options
// rather than an entry list.
func (r *Reader) optionAhead() bool {
	r.pos++
	defer func() { r.pos-- }()
	return r.keywordAhead("MAXSIZE") || r.keywordAhead("DEPTH")
}

// metadataOptions reads "(" option *(SP option) ")" with MAXSIZE number
// and DEPTH ("0" / "1" / "infinity") (RFC 5464 §4.2.1, §4.2.2); a later
// option of the same name wins. "()" is taken as no option (Dovecot does).
func (r *Reader) metadataOptions(a *GetMetadataArgs) {
	r.expect('(', "(")
	for r.peek() != ')' {
		if r.line[r.pos-1] != '(' {
			r.sp()
		}
		switch opt := strings.ToUpper(r.atom("GETMETADATA option")); opt {
		case "MAXSIZE":
			r.sp()
			if !isDigit(r.peek()) {
				r.fail("Invalid value for MAXSIZE option")
			}
			a.MaxSize = int64(r.number("MAXSIZE value"))
		case "DEPTH":
			r.sp()
			switch strings.ToLower(r.atom("DEPTH value")) {
			case "0":
				a.Depth = 0
			case "1":
				a.Depth = 1
			case "infinity":
				a.Depth = MetadataDepthInfinity
			default:
				r.fail("Invalid value for DEPTH option")
			}
		default:
			r.fail("Unknown GETMETADATA option %s", opt)
		}
	}
	r.pos++
}

// parseSetMetadata: "SETMETADATA" SP mailbox SP "(" entry-value
// *(SP entry-value) ")", entry-value = entry SP value, value = nstring /
// literal8 (RFC 5464 §5).
func (r *Reader) parseSetMetadata() Args {
	r.sp()
	a := &SetMetadataArgs{Mailbox: r.mailboxArg()}
	r.sp()
	r.expect('(', "( and entry-value pairs")
	for {
		v := MetadataValue{Name: r.metadataEntry()}
		r.sp()
		v.Value, v.Binary = r.metadataValue()
		a.Entries = append(a.Entries, v)
		if r.peek() == ')' {
			r.pos++
			return a
		}
		r.sp()
	}
}

// metadataValue reads NIL, a quoted string, a literal or a literal8. A
// literal over the command's literal limit (the server sets it to its
// largest value for SETMETADATA) is refused with NO [METADATA MAXSIZE n]
// (RFC 5464 §4.3): before it is sent when synchronizing, after its octets
// were skipped otherwise.
func (r *Reader) metadataValue() (value []byte, binary bool) {
	switch r.peek() {
	case '"':
		return []byte(r.quoted()), false
	case '{', '~':
	default:
		if r.keywordAhead("NIL") {
			r.pos += 3
			return nil, false
		}
		r.fail("expected metadata value (string, literal8 or NIL)")
	}
	if r.peek() == '~' {
		binary = true
		r.pos++
	}
	size, sync := r.literalMarker()
	limit := r.literalLimit()
	if size > limit {
		if sync {
			r.trail.present = false // the client will not send it
		}
		panic(&parseFail{msg: "Metadata value too large", code: fmt.Sprintf("METADATA MAXSIZE %d", limit), no: true})
	}
	room := r.opts.MaxCommandSize - r.cmdBytes
	r.admitLiteral(size, sync, min(limit, room))
	buf := make([]byte, size)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		r.failIO(err)
	}
	r.cmdBytes += size
	r.nextLine()
	if !binary && bytes.IndexByte(buf, 0) >= 0 {
		// CHAR8 excludes NUL (RFC 3501 §9); binary values go in literal8.
		r.fail("NUL in a literal: send binary values as literal8 (~{n})")
	}
	return buf, binary
}
