package imapserver

import (
	"errors"
	"io"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdAppend: APPEND (RFC 3501 §6.3.11) with APPENDUID (UIDPLUS, RFC 4315
// §3), literal8 (BINARY, RFC 3516 §4.4) and the size limit (APPENDLIMIT,
// RFC 7889; TOOBIG, RFC 4469 / RFC 5530) and UTF8 (~{n}) data (RFC 6855
// §4). The message goes through
// Store.Deliver, the one delivery path.
func (s *session) cmdAppend(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.AppendArgs)
	if len(a.Messages) != 1 {
		return "", errBad("MULTIAPPEND is not supported")
	}
	m := a.Messages[0]
	// An invalid name: no such mailbox, and CREATE would not help, so no
	// TRYCREATE (RFC 3501 §6.3.11).
	name, err := existingName(a.Mailbox)
	if err != nil {
		return "", err
	}
	info, err := s.boxes.Get(s.ctx, name)
	if err != nil {
		if pe := storeError(err, true); pe != nil {
			return "", pe
		}
		return "", err
	}
	if m.UTF8 && !s.utf8 {
		// RFC 6855 §4: UTF8 APPEND data needs ENABLE UTF8=ACCEPT.
		return "", errBad("APPEND UTF8 needs ENABLE UTF8=ACCEPT")
	}
	if m.Literal == nil || m.Literal.Size == 0 {
		return "", errNo("CANNOT", "Empty message")
	}
	if m.Literal.Size > s.srv.opts.MaxMessageSize {
		return "", errNo("TOOBIG", "Message exceeds APPENDLIMIT")
	}
	flags, err := clientFlags(m.Flags)
	if err != nil {
		return "", err
	}
	var body io.Reader = m.Literal.Open()
	if m.Literal.Binary {
		body = verbatimBody{body}
	}
	res, err := s.srv.opts.Store.Deliver(s.ctx, body, []store.Target{{
		Account:      s.account.Name,
		Mailbox:      info.Name,
		Flags:        flags,
		InternalDate: m.Date,
	}})
	if err == nil && len(res) != 1 {
		err = errors.New("store returned no delivery result")
	}
	if err == nil {
		err = res[0].Err
	}
	if err != nil {
		if pe := storeError(err, true); pe != nil {
			return "", pe
		}
		return "", err
	}
	if s.sel != nil && s.sel.id == info.ID {
		// RFC 3501 §6.3.11: the selected mailbox's client hears EXISTS now.
		s.changed = true
	}
	return "APPENDUID " + utoa(uint64(res[0].UIDValidity)) + " " + utoa(uint64(res[0].UID)), nil
}

// verbatimBody is the content of a literal8 (~{n}): binary data, stored
// byte for byte (RFC 3516 §4.4: the server must not alter it). The store
// normalises line endings to CRLF by default; a body with the method
// Verbatim() bool returning true asks it not to (see store.Verbatim). A
// plain literal is text (RFC 3501 §4.3) and is still normalised.
type verbatimBody struct{ io.Reader }

// Verbatim reports that the body is to be stored as read.
func (verbatimBody) Verbatim() bool { return true }

// clientFlags validates flags a client asks to set (RFC 3501 §2.3.2):
// \Recent "can not be altered by the client", so STORE or APPEND naming it
// is a BAD, as Dovecot answers; other system flags must be known; keywords
// are atoms (the parser checked their syntax).
func clientFlags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, f := range in {
		if strings.HasPrefix(f, `\`) {
			switch strings.ToLower(f) {
			case `\recent`:
				return nil, errBad(`\Recent flag can not be set by the client`)
			case `\seen`, `\answered`, `\flagged`, `\deleted`, `\draft`:
			default:
				return nil, errBad("Unknown system flag " + f)
			}
		}
		out = append(out, f)
	}
	return out, nil
}
