package imapserver

import (
	"errors"
	"io"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdAppend: APPEND (RFC 3501 §6.3.11) with APPENDUID (UIDPLUS, RFC 4315
// §3), literal8 (BINARY, RFC 3516 §4.4), the size limit (APPENDLIMIT,
// RFC 7889; TOOBIG, RFC 4469 / RFC 5530), UTF8 (~{n}) data (RFC 6855
// §4), several messages in one command (MULTIAPPEND, RFC 3502) and
// messages built from parts (CATENATE, RFC 4469).
//
// Every message is checked and every CATENATE part resolved before
// anything is stored: one message goes through Store.Deliver, the one
// delivery path; several go through the store's BatchAppender, which
// stores all of them or none (RFC 3502 §3), so no session ever sees a
// part of a failed MULTIAPPEND.
func (s *session) cmdAppend(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.AppendArgs)
	ref, info, err := s.appendTarget(a.Mailbox)
	if err != nil {
		return "", err
	}
	var opened []io.Closer
	defer func() {
		for _, c := range opened {
			c.Close()
		}
	}()
	msgs := make([]store.BatchMessage, len(a.Messages))
	for i, m := range a.Messages {
		if msgs[i], err = s.appendMessage(m, &opened); err != nil {
			return "", err
		}
		// Flags the user may not set are dropped (RFC 4314 §4).
		msgs[i].Flags = permittedFlags(msgs[i].Flags, ref.rights)
	}
	var uidValidity uint32
	var uids []store.UID
	if len(msgs) == 1 {
		uidValidity, uids, err = s.appendOne(ref.owner, info.Name, msgs[0])
	} else {
		ba, ok := s.srv.opts.Store.(store.BatchAppender)
		if !ok {
			return "", errNo("CANNOT", "MULTIAPPEND is not supported by this store")
		}
		var res store.BatchResult
		res, err = ba.AppendBatch(s.ctx, ref.owner, info.Name, msgs)
		uidValidity, uids = res.UIDValidity, res.UIDs
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
	return "APPENDUID " + utoa(uint64(uidValidity)) + " " + uidSetText(uids), nil
}

// appendMessage checks one message of an APPEND (or REPLACE, RFC 8508)
// and makes what the store takes: its flags, its date and a reader of its
// body; CATENATE parts are resolved, and what they open is added to opened.
func (s *session) appendMessage(m imap.AppendMessage, opened *[]io.Closer) (store.BatchMessage, error) {
	if m.UTF8 && !s.utf8 {
		// RFC 6855 §4: UTF8 APPEND data needs ENABLE UTF8=ACCEPT.
		return store.BatchMessage{}, errBad("APPEND UTF8 needs ENABLE UTF8=ACCEPT")
	}
	flags, err := clientFlags(m.Flags)
	if err != nil {
		return store.BatchMessage{}, err
	}
	out := store.BatchMessage{Flags: flags, InternalDate: m.Date}
	if m.Catenate != nil {
		body, size, err := s.catenate(m.Catenate, opened)
		if err != nil {
			return store.BatchMessage{}, err
		}
		if size > s.srv.opts.MaxMessageSize {
			return store.BatchMessage{}, errNo("TOOBIG", "Catenated message exceeds APPENDLIMIT")
		}
		if size == 0 {
			return store.BatchMessage{}, errNo("CANNOT", "Empty message")
		}
		out.Body = body
		return out, nil
	}
	if m.Literal == nil || m.Literal.Size == 0 {
		return store.BatchMessage{}, errNo("CANNOT", "Empty message")
	}
	if m.Literal.Size > s.srv.opts.MaxMessageSize {
		return store.BatchMessage{}, errNo("TOOBIG", "Message exceeds APPENDLIMIT")
	}
	out.Body = m.Literal.Open()
	if m.Literal.Binary {
		out.Body = verbatimBody{out.Body}
	}
	return out, nil
}

// appendOne delivers one message through Store.Deliver into account's
// mailbox (the owner's quota counts it).
func (s *session) appendOne(account, mailbox string, m store.BatchMessage) (uint32, []store.UID, error) {
	res, err := s.srv.opts.Store.Deliver(s.ctx, m.Body, []store.Target{{
		Account:      account,
		Mailbox:      mailbox,
		Flags:        m.Flags,
		InternalDate: m.InternalDate,
	}})
	if err == nil && len(res) != 1 {
		err = errors.New("store returned no delivery result")
	}
	if err == nil {
		err = res[0].Err
	}
	if err != nil {
		return 0, nil, err
	}
	return res[0].UIDValidity, []store.UID{res[0].UID}, nil
}

// uidSetText renders ascending UIDs as an IMAP uid-set with ranges
// (RFC 4315 §4 APPENDUID).
func uidSetText(uids []store.UID) string {
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(utoa(uint64(uids[i])))
		if j > i {
			b.WriteByte(':')
			b.WriteString(utoa(uint64(uids[j])))
		}
		i = j + 1
	}
	return b.String()
}

// catenate resolves the parts of a CATENATE (RFC 4469 §3) into one body
// read part after part (nothing is copied into memory) and its size. A URL
// this session may not read, or that names nothing, fails the whole
// APPEND with NO [BADURL url] (RFC 4469 §5). What it opens is added to
// opened, for the caller to close after the store has read the body.
func (s *session) catenate(parts []imap.CatPart, opened *[]io.Closer) (io.Reader, int64, error) {
	readers := make([]io.Reader, 0, len(parts))
	var size int64
	for _, p := range parts {
		if p.Text != nil {
			readers = append(readers, p.Text.Open())
			size += p.Text.Size
			continue
		}
		d, err := s.resolveURL(p.URL, false)
		if err != nil {
			var bu badURL
			if !errors.As(err, &bu) {
				s.log.Warn("imap CATENATE URL", "err", err)
			}
			return nil, 0, errNo("BADURL "+badURLText(p.URL), "CATENATE URL is not valid")
		}
		*opened = append(*opened, d)
		readers = append(readers, d.reader())
		size += d.n
	}
	return io.MultiReader(readers...), size, nil
}

// badURLText is the URL as a BADURL response code carries it: bare, any
// character a resp-text-code cannot hold dropped (RFC 4469 §5 with
// erratum 2002: url-resp-text is TEXT-CHAR except "]").
func badURLText(u string) string {
	return strings.Map(func(r rune) rune {
		if r == ']' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, u)
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

// appendTarget resolves the mailbox an APPEND or REPLACE stores into: it
// must exist (an invalid name is no such mailbox, and CREATE would not
// help, so no TRYCREATE, RFC 3501 §6.3.11) and grant i (RFC 4314 §4).
func (s *session) appendTarget(mailbox string) (mbRef, store.MailboxInfo, error) {
	name, err := existingName(mailbox)
	if err != nil {
		return mbRef{}, store.MailboxInfo{}, err
	}
	ref, err := s.lookupBox(name)
	if err != nil {
		return mbRef{}, store.MailboxInfo{}, err
	}
	if err := ref.need(store.RightInsert); err != nil {
		return mbRef{}, store.MailboxInfo{}, err
	}
	info, err := ref.boxes.Get(s.ctx, ref.name)
	if err != nil {
		if pe := storeError(err, !ref.shared); pe != nil {
			return mbRef{}, store.MailboxInfo{}, pe
		}
		return mbRef{}, store.MailboxInfo{}, err
	}
	return ref, info, nil
}
