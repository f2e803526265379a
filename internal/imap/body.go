package imap

import (
	"strings"

	"github.com/letterbox/letterbox/internal/mime"
)

// Envelope writes an ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2):
// "(" date subject from sender reply-to to cc bcc in-reply-to message-id ")".
// A nil envelope is written with every field NIL.
func (w *Writer) Envelope(e *mime.Envelope) {
	if e == nil {
		e = &mime.Envelope{}
	}
	w.OpenList()
	w.bodyNString(e.Date)
	w.SP()
	w.bodyNString(e.Subject)
	for _, list := range [][]mime.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.SP()
		w.addressList(list)
	}
	w.SP()
	w.bodyNString(e.InReplyTo)
	w.SP()
	w.bodyNString(e.MessageID)
	w.CloseList()
}

// addressList writes "(" 1*address ")" or NIL. Group markers are written
// as RFC 3501 §7.4.2 describes: start (NIL NIL "name" NIL), end
// (NIL NIL NIL NIL).
func (w *Writer) addressList(list []mime.Address) {
	if len(list) == 0 {
		w.Nil()
		return
	}
	w.OpenList()
	for _, a := range list {
		w.OpenList()
		w.bodyNString(a.Name)
		w.SP()
		w.bodyNString(a.ADL)
		w.SP()
		w.bodyNString(a.Mailbox)
		w.SP()
		w.bodyNString(a.Host)
		w.CloseList()
	}
	w.CloseList()
}

// BodyStructure writes the body structure of p (RFC 3501 §7.4.2 body,
// RFC 9051 §7.5.2). With extended it is BODYSTRUCTURE, with the extension
// data (MD5, disposition, language, location; for multiparts the
// parameters, disposition, language, location); without, it is the
// non-extensible BODY form.
func (w *Writer) BodyStructure(p *mime.Part, extended bool) {
	w.OpenList()
	if p.IsMultipart() && len(p.Parts) > 0 {
		for _, c := range p.Parts {
			w.BodyStructure(c, extended)
		}
		w.SP()
		w.bodyString(p.Subtype)
		if extended {
			w.SP()
			w.params(p.Params)
			w.SP()
			w.disposition(p)
			w.SP()
			w.language(p.Language)
			w.SP()
			w.bodyNString(p.Location)
		}
		w.CloseList()
		return
	}
	typ, sub := p.Type, p.Subtype
	if p.IsMultipart() { // no children: show it as an opaque part
		typ, sub = "application", "octet-stream"
	}
	w.bodyString(typ)
	w.SP()
	w.bodyString(sub)
	w.SP()
	w.params(p.Params)
	w.SP()
	w.bodyNString(p.ID)
	w.SP()
	w.bodyNString(p.Description)
	w.SP()
	enc := p.Encoding
	if enc == "" {
		enc = "7BIT"
	}
	w.bodyString(enc)
	w.SP()
	w.Number(uint64(max(p.Size, 0)))
	switch {
	case p.IsMessage():
		// body-type-msg: envelope, body, lines
		w.SP()
		w.Envelope(p.Message.Envelope)
		w.SP()
		w.BodyStructure(p.Message, extended)
		w.SP()
		w.Number(uint64(max(p.Lines, 0)))
	case p.Type == "text":
		w.SP()
		w.Number(uint64(max(p.Lines, 0)))
	}
	if extended {
		w.SP()
		w.bodyNString(p.MD5)
		w.SP()
		w.disposition(p)
		w.SP()
		w.language(p.Language)
		w.SP()
		w.bodyNString(p.Location)
	}
	w.CloseList()
}

// params writes body-fld-param: "(" name SP value *(...) ")" or NIL.
func (w *Writer) params(ps []mime.Param) {
	if len(ps) == 0 {
		w.Nil()
		return
	}
	w.OpenList()
	for i, p := range ps {
		if i > 0 {
			w.SP()
		}
		w.bodyString(p.Name)
		w.SP()
		w.bodyString(p.Value)
	}
	w.CloseList()
}

// disposition writes body-fld-dsp: "(" type SP params ")" or NIL.
func (w *Writer) disposition(p *mime.Part) {
	if p.Disposition == "" {
		w.Nil()
		return
	}
	w.OpenList()
	w.bodyString(p.Disposition)
	w.SP()
	w.params(p.DispositionParams)
	w.CloseList()
}

// language writes body-fld-lang: NIL, one string, or a list.
func (w *Writer) language(langs []string) {
	switch len(langs) {
	case 0:
		w.Nil()
	case 1:
		w.bodyString(langs[0])
	default:
		w.OpenList()
		for i, l := range langs {
			if i > 0 {
				w.SP()
			}
			w.bodyString(l)
		}
		w.CloseList()
	}
}

// bodyString and bodyNString write a string or nstring of ENVELOPE or
// BODYSTRUCTURE. Header values may hold NUL octets, which no string may
// carry (RFC 3501 §4.3, §9: a literal is CHAR8, without NUL): each is
// written as U+FFFD, as Dovecot does.
func (w *Writer) bodyString(s string) { w.String(noNUL(s)) }

func (w *Writer) bodyNString(s string) { w.NString(noNUL(s)) }

func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
