package imap

import (
	"strings"
	"unicode/utf8"
)

// Mailbox arguments that are well-formed but name nothing.
//
// A mailbox argument is an astring (RFC 3501 §9 mailbox; list-mailbox for
// LIST patterns). One that is a well-formed astring but does not decode to
// a name a mailbox could have — not valid modified UTF-7 (RFC 3501 §5.1.3),
// not valid UTF-8 in UTF-8 mode (RFC 6855 §3), or holding control
// characters once decoded — is not a syntax error: BAD is for commands the
// server cannot parse (RFC 3501 §7.1.3). The command is answered as for any
// mailbox that does not exist (Dovecot: "NO Mailbox name is not valid
// mUTF-7", "NO Mailbox doesn't exist", LIST matches nothing).
//
// Such an argument is returned in the Args as an invalid name: a NUL
// followed by the octets as sent. No decoded name holds a NUL, so an
// invalid name never equals a real one and, as a LIST reference or
// pattern, matches no mailbox; a server checks IsInvalidName before using
// it as a name (added for the "BAD for a well-formed name" issue;
// additive).

// invalidNameMark starts an invalid name.
const invalidNameMark = "\x00"

// IsInvalidName reports whether a decoded mailbox argument (a Mailbox,
// From, To, Reference or Patterns field) is an invalid name: well-formed,
// but naming no mailbox that can exist.
func IsInvalidName(name string) bool { return strings.HasPrefix(name, invalidNameMark) }

// InvalidNameText returns the octets the client sent for an invalid name
// (for log messages), or name itself for a valid one.
func InvalidNameText(name string) string { return strings.TrimPrefix(name, invalidNameMark) }

// mailboxArg reads a mailbox argument (RFC 3501 mailbox) and decodes it:
// modified UTF-7, or UTF-8 in UTF-8 mode; INBOX in any case becomes
// "INBOX". A name that does not decode comes back as an invalid name.
func (r *Reader) mailboxArg() string {
	return r.decodeMailboxArg(r.astring("mailbox name"))
}

// listPatternArg reads a list-mailbox (1*list-char / string) and decodes
// it like mailboxArg.
func (r *Reader) listPatternArg() string {
	var s string
	switch r.peek() {
	case '"', '{':
		s = r.str("mailbox pattern")
	default:
		s = r.run(func(c byte) bool { return c >= 0x80 || isListChar(c) })
		if s == "" {
			r.fail("expected mailbox pattern")
		}
	}
	return r.decodeMailboxArg(s)
}

// decodeMailboxArg decodes a mailbox name or pattern as sent.
func (r *Reader) decodeMailboxArg(s string) string {
	if isInbox(s) {
		return "INBOX"
	}
	name, ok := decodeMailboxArg(s, r.utf8)
	if !ok {
		return invalidNameMark + s
	}
	return name
}

// decodeMailboxArg decodes s (modified UTF-7, or UTF-8 when utf8Mode);
// ok is false when it does not decode or holds control characters (C0,
// DEL, C1), which never belong in a name, whichever way they were encoded.
func decodeMailboxArg(s string, utf8Mode bool) (name string, ok bool) {
	if utf8Mode {
		if !utf8.ValidString(s) {
			return "", false
		}
		name = s
	} else {
		var err error
		if name, err = decodeMailboxNameLenient(s); err != nil {
			return "", false
		}
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 {
			return "", false
		}
	}
	if isInbox(name) {
		return "INBOX", true
	}
	return name, true
}
