package jmapserver

import (
	"bytes"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/mime"
)

// Header fields and their parsed forms (RFC 8621 §4.1.2, §4.1.3).

// rawField is one header field: its name as written and its raw value
// (everything after the colon, folding kept, final CRLF removed).
type rawField struct {
	Name, Value string
}

// splitHeader splits a header block into fields, in order.
func splitHeader(h []byte) []rawField {
	var out []rawField
	for len(h) > 0 {
		end := 0
		for {
			i := bytes.IndexByte(h[end:], '\n')
			if i < 0 {
				end = len(h)
				break
			}
			end += i + 1
			if end >= len(h) || (h[end] != ' ' && h[end] != '\t') {
				break
			}
		}
		line := h[:end]
		h = h[end:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue // the blank line, or junk
		}
		name := strings.TrimRight(string(line[:colon]), " \t")
		if strings.ContainsAny(name, " \t\r\n") {
			continue
		}
		val := strings.TrimSuffix(strings.TrimSuffix(string(line[colon+1:]), "\n"), "\r")
		out = append(out, rawField{name, val})
	}
	return out
}

func unfoldValue(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	return strings.ReplaceAll(v, "\n", "")
}

// headerForms allowed for the fields RFC 8621 §4.1.2 names; other fields
// take any form.
var headerForms = map[string][]string{}

func init() {
	set := func(form string, names ...string) {
		for _, n := range names {
			headerForms[n] = append(headerForms[n], form)
		}
	}
	set("Addresses", "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender", "resent-reply-to", "resent-to", "resent-cc", "resent-bcc")
	set("GroupedAddresses", "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender", "resent-reply-to", "resent-to", "resent-cc", "resent-bcc")
	set("MessageIds", "message-id", "in-reply-to", "references", "resent-message-id")
	set("Date", "date", "resent-date")
	set("URLs", "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive")
	set("Text", "subject", "comments", "keywords", "list-id")
}

// headerProp is a parsed "header:{name}[:as{form}][:all]" property.
type headerProp struct {
	prop string // as requested
	name string // lower-case field name
	form string // Raw, Text, Addresses, GroupedAddresses, MessageIds, Date, URLs
	all  bool
}

func parseHeaderProp(p string) (headerProp, error) {
	rest, ok := strings.CutPrefix(p, "header:")
	if !ok {
		return headerProp{}, fmt.Errorf("not a header property")
	}
	parts := strings.Split(rest, ":")
	hp := headerProp{prop: p, name: strings.ToLower(parts[0]), form: "Raw"}
	if hp.name == "" || strings.ContainsAny(hp.name, " \t\r\n") {
		return hp, fmt.Errorf("bad header name in %q", p)
	}
	for _, x := range parts[1:] {
		switch {
		case x == "all" && !hp.all:
			hp.all = true
		case strings.HasPrefix(x, "as") && hp.form == "Raw" && !hp.all:
			hp.form = x[2:]
		default:
			return hp, fmt.Errorf("bad header property %q", p)
		}
	}
	switch hp.form {
	case "Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs":
	default:
		return hp, fmt.Errorf("unknown header form in %q", p)
	}
	if forms, known := headerForms[hp.name]; known && hp.form != "Raw" {
		ok := false
		for _, f := range forms {
			ok = ok || f == hp.form
		}
		if !ok {
			return hp, fmt.Errorf("%s cannot be read as %s (RFC 8621 §4.1.2)", hp.name, hp.form)
		}
	}
	return hp, nil
}

// value renders the property from the fields.
func (hp headerProp) value(fields []rawField) any {
	var vals []any
	for _, f := range fields {
		if strings.EqualFold(f.Name, hp.name) {
			vals = append(vals, parseForm(f.Value, hp.form))
		}
	}
	if hp.all {
		if vals == nil {
			return []any{}
		}
		return vals
	}
	if len(vals) == 0 {
		return nil
	}
	return vals[len(vals)-1] // the last instance (RFC 8621 §4.1.3)
}

func parseForm(raw, form string) any {
	switch form {
	case "Raw":
		return raw
	case "Text":
		return asText(raw)
	case "Addresses":
		return asAddresses(raw)
	case "GroupedAddresses":
		return asGroupedAddresses(raw)
	case "MessageIds":
		return asMessageIDs(raw)
	case "Date":
		return asDate(raw)
	case "URLs":
		return asURLs(raw)
	}
	return nil
}

func asText(raw string) string {
	return strings.TrimSpace(mime.DecodeHeader(strings.TrimSpace(unfoldValue(raw))))
}

// emailAddress is EmailAddress (RFC 8621 §4.1.2.3).
type emailAddress struct {
	Name  *string `json:"name"`
	Email string  `json:"email"`
}

type addressGroup struct {
	Name      *string        `json:"name"`
	Addresses []emailAddress `json:"addresses"`
}

func toEmailAddress(a mime.Address) emailAddress {
	local, host := a.Mailbox, a.Host
	if local == mime.MissingMailbox {
		local = ""
	}
	if host == mime.MissingHost {
		host = ""
	}
	e := emailAddress{Email: local}
	if host != "" {
		e.Email += "@" + host
	}
	if a.Name != "" {
		n := strings.TrimSpace(mime.DecodeHeader(a.Name))
		e.Name = &n
	}
	return e
}

func asGroupedAddresses(raw string) []addressGroup {
	out := []addressGroup{}
	var cur *addressGroup
	for _, a := range mime.ParseAddressList(unfoldValue(raw)) {
		switch {
		case a.IsGroupStart():
			n := mime.DecodeHeader(a.Mailbox)
			out = append(out, addressGroup{Name: &n, Addresses: []emailAddress{}})
			cur = &out[len(out)-1]
		case a.IsGroupEnd():
			cur = nil
		default:
			if cur == nil {
				if len(out) == 0 || out[len(out)-1].Name != nil {
					out = append(out, addressGroup{Addresses: []emailAddress{}})
				}
				out[len(out)-1].Addresses = append(out[len(out)-1].Addresses, toEmailAddress(a))
			} else {
				cur.Addresses = append(cur.Addresses, toEmailAddress(a))
			}
		}
	}
	return out
}

func asAddresses(raw string) []emailAddress {
	out := []emailAddress{}
	for _, a := range mime.ParseAddressList(unfoldValue(raw)) {
		if !a.IsGroupStart() && !a.IsGroupEnd() {
			out = append(out, toEmailAddress(a))
		}
	}
	return out
}

// asMessageIDs reads msg-id tokens (RFC 5322 §3.6.4); nil when there is
// none.
func asMessageIDs(raw string) []string {
	var out []string
	s := unfoldValue(raw)
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		id := strings.TrimSpace(s[i+1 : i+j])
		if id != "" && !strings.ContainsAny(id, " \t<") {
			out = append(out, id)
		}
		s = s[i+j+1:]
	}
	return out
}

// asDate is the Date form: RFC 3339 with the field's own offset; nil when
// it does not parse.
func asDate(raw string) any {
	t, err := mail.ParseDate(strings.TrimSpace(unfoldValue(raw)))
	if err != nil {
		return nil
	}
	return t.Format(time.RFC3339)
}

func asURLs(raw string) any {
	var out []string
	s := unfoldValue(raw)
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		out = append(out, strings.TrimSpace(s[i+1:i+j]))
		s = s[i+j+1:]
	}
	if out == nil {
		return nil
	}
	return out
}

// headersList is the "headers" property: every field, Raw.
func headersList(fields []rawField) []map[string]string {
	out := make([]map[string]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, map[string]string{"name": f.Name, "value": f.Value})
	}
	return out
}
