package imap

import "github.com/letterbox/letterbox/internal/mime"

// Envelope writes an ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2):
// "(" date subject from sender reply-to to cc bcc in-reply-to message-id ")".
// A nil envelope is written with every field NIL.
func (w *Writer) Envelope(e *mime.Envelope) {
	if e == nil {
		e = &mime.Envelope{}
	}
	w.OpenList()
	w.NString(e.Date)
	w.SP()
	w.NString(e.Subject)
	for _, list := range [][]mime.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.SP()
		w.addressList(list)
	}
	w.SP()
	w.NString(e.InReplyTo)
	w.SP()
	w.NString(e.MessageID)
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
		w.NString(a.Name)
		w.SP()
		w.NString(a.ADL)
		w.SP()
		w.NString(a.Mailbox)
		w.SP()
		w.NString(a.Host)
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
		w.String(p.Subtype)
		if extended {
			w.SP()
			w.params(p.Params)
			w.SP()
			w.disposition(p)
			w.SP()
			w.language(p.Language)
			w.SP()
			w.NString(p.Location)
		}
		w.CloseList()
		return
	}
	typ, sub := p.Type, p.Subtype
	if p.IsMultipart() { // no children: show it as an opaque part
		typ, sub = "application", "octet-stream"
	}
	w.String(typ)
	w.SP()
	w.String(sub)
	w.SP()
	w.params(p.Params)
	w.SP()
	w.NString(p.ID)
	w.SP()
	w.NString(p.Description)
	w.SP()
	enc := p.Encoding
	if enc == "" {
		enc = "7BIT"
	}
	w.String(enc)
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
		w.NString(p.MD5)
		w.SP()
		w.disposition(p)
		w.SP()
		w.language(p.Language)
		w.SP()
		w.NString(p.Location)
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
		w.String(p.Name)
		w.SP()
		w.String(p.Value)
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
	w.String(p.Disposition)
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
		w.String(langs[0])
	default:
		w.OpenList()
		for i, l := range langs {
			if i > 0 {
				w.SP()
			}
			w.String(l)
		}
		w.CloseList()
	}
}
