package mime

import (
	"strconv"
	"strings"
)

// This file renders parts and envelopes in IMAP syntax (RFC 3501 §7.4.2),
// so tests can compare with what Dovecot answers. It is test-only: the
// server's renderer lives in internal/imap.

func qstr(s string) string {
	return strconv.Quote(s)
}

func nstr(s string) string {
	if s == "" {
		return "NIL"
	}
	return qstr(s)
}

func renderParams(ps []Param) string {
	if len(ps) == 0 {
		return "NIL"
	}
	var f []string
	for _, p := range ps {
		f = append(f, qstr(p.Name), qstr(p.Value))
	}
	return "(" + strings.Join(f, " ") + ")"
}

func renderDisposition(p *Part) string {
	if p.Disposition == "" {
		return "NIL"
	}
	return "(" + qstr(p.Disposition) + " " + renderParams(p.DispositionParams) + ")"
}

func renderLanguage(l []string) string {
	switch len(l) {
	case 0:
		return "NIL"
	case 1:
		return qstr(l[0])
	}
	var f []string
	for _, s := range l {
		f = append(f, qstr(s))
	}
	return "(" + strings.Join(f, " ") + ")"
}

// renderBodyStructure renders BODYSTRUCTURE without the outer parentheses,
// as doveadm fetch imap.bodystructure prints it.
func renderBodyStructure(p *Part) string {
	var b strings.Builder
	if p.IsMultipart() {
		for _, c := range p.Parts {
			b.WriteString("(" + renderBodyStructure(c) + ")")
		}
		b.WriteString(" " + qstr(p.Subtype) + " " + renderParams(p.Params) + " " +
			renderDisposition(p) + " " + renderLanguage(p.Language) + " " + nstr(p.Location))
		return b.String()
	}
	b.WriteString(qstr(p.Type) + " " + qstr(p.Subtype) + " " + renderParams(p.Params) + " " +
		nstr(p.ID) + " " + nstr(p.Description) + " " + qstr(p.Encoding) + " " +
		strconv.FormatInt(p.Size, 10))
	if p.Message != nil {
		b.WriteString(" (" + renderEnvelope(p.Message.Envelope) + ") (" + renderBodyStructure(p.Message) + ") " +
			strconv.FormatInt(p.Lines, 10))
	} else if p.Type == "text" {
		b.WriteString(" " + strconv.FormatInt(p.Lines, 10))
	}
	b.WriteString(" " + nstr(p.MD5) + " " + renderDisposition(p) + " " + renderLanguage(p.Language) + " " + nstr(p.Location))
	return b.String()
}

func renderAddrs(as []Address) string {
	if len(as) == 0 {
		return "NIL"
	}
	var b strings.Builder
	b.WriteString("(")
	for _, a := range as {
		b.WriteString("(" + nstr(a.Name) + " " + nstr(a.ADL) + " " + nstr(a.Mailbox) + " " + nstr(a.Host) + ")")
	}
	b.WriteString(")")
	return b.String()
}

// renderEnvelope renders ENVELOPE without the outer parentheses.
func renderEnvelope(e *Envelope) string {
	return strings.Join([]string{nstr(e.Date), nstr(e.Subject), renderAddrs(e.From), renderAddrs(e.Sender),
		renderAddrs(e.ReplyTo), renderAddrs(e.To), renderAddrs(e.Cc), renderAddrs(e.Bcc),
		nstr(e.InReplyTo), nstr(e.MessageID)}, " ")
}
