package jmapserver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Building a message from an Email object (Email/set create, RFC 8621
// §4.6): header fields from the convenience and header:… properties, the
// body from bodyStructure or textBody/htmlBody/attachments with their
// bodyValues and blobs.

// partSpec is an EmailBodyPart in a create.
type partSpec struct {
	PartID      *string           `json:"partId"`
	BlobID      *string           `json:"blobId"`
	Size        *int64            `json:"size"`
	Headers     []json.RawMessage `json:"headers"`
	Name        *string           `json:"name"`
	Type        *string           `json:"type"`
	Charset     *string           `json:"charset"`
	Disposition *string           `json:"disposition"`
	Cid         *string           `json:"cid"`
	Language    []string          `json:"language"`
	Location    *string           `json:"location"`
	SubParts    []partSpec        `json:"subParts"`
}

type composer struct {
	c      *call
	values map[string]bodyValue
	buf    bytes.Buffer
	used   map[string]bool
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func encodeWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

func formatAddresses(raw json.RawMessage) (string, error) {
	var as []emailAddress
	if err := json.Unmarshal(raw, &as); err != nil {
		return "", err
	}
	out := make([]string, 0, len(as))
	for _, a := range as {
		if !strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " \r\n<>") {
			return "", fmt.Errorf("%q is not an email address", a.Email)
		}
		name := ""
		if a.Name != nil {
			name = *a.Name
		}
		out = append(out, (&mail.Address{Name: name, Address: a.Email}).String())
	}
	return strings.Join(out, ", "), nil
}

func formatMsgIDs(raw json.RawMessage) (string, error) {
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		return "", err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, " <>\r\n") {
			return "", fmt.Errorf("%q is not a message id", id)
		}
		out = append(out, "<"+id+">")
	}
	return strings.Join(out, " "), nil
}

// composeMessage builds the octets of a new message from a create object.
func (c *call) composeMessage(obj map[string]json.RawMessage, hostname string) ([]byte, *setError) {
	co := &composer{c: c, used: map[string]bool{}}
	if raw, ok := obj["bodyValues"]; ok {
		if err := json.Unmarshal(raw, &co.values); err != nil {
			return nil, seInvalid("bodyValues must map partIds to EmailBodyValues", "bodyValues")
		}
	}
	var h bytes.Buffer
	field := func(name, value string) { fmt.Fprintf(&h, "%s: %s\r\n", name, value) }
	if _, ok := obj["sentAt"]; !ok {
		field("Date", time.Now().Format(time.RFC1123Z))
	}
	if _, ok := obj["messageId"]; !ok {
		field("Message-ID", "<"+randomToken(12)+"@"+hostname+">")
	}
	field("MIME-Version", "1.0")
	for _, p := range []struct{ prop, name, kind string }{
		{"from", "From", "a"}, {"sender", "Sender", "a"}, {"replyTo", "Reply-To", "a"}, {"to", "To", "a"},
		{"cc", "Cc", "a"}, {"bcc", "Bcc", "a"}, {"subject", "Subject", "t"}, {"sentAt", "Date", "d"},
		{"messageId", "Message-ID", "m"}, {"inReplyTo", "In-Reply-To", "m"}, {"references", "References", "m"},
	} {
		raw, ok := obj[p.prop]
		if !ok || string(raw) == "null" {
			continue
		}
		var v string
		var err error
		switch p.kind {
		case "a":
			v, err = formatAddresses(raw)
		case "t":
			err = json.Unmarshal(raw, &v)
			v = encodeWord(v)
		case "d":
			var s string
			if err = json.Unmarshal(raw, &s); err == nil {
				var t time.Time
				if t, err = time.Parse(time.RFC3339, s); err == nil {
					v = t.Format(time.RFC1123Z)
				}
			}
		case "m":
			v, err = formatMsgIDs(raw)
		}
		if err != nil {
			return nil, seInvalid(p.prop+": "+err.Error(), p.prop)
		}
		field(p.name, v)
	}
	for k, raw := range obj {
		hp, err := parseHeaderProp(k)
		if err != nil {
			continue
		}
		if hp.all {
			return nil, seInvalid(k+": :all is not supported in create", k)
		}
		if strings.EqualFold(hp.name, "content-type") || strings.EqualFold(hp.name, "content-transfer-encoding") {
			return nil, seInvalid(k+": set by the server", k)
		}
		var v string
		switch hp.form {
		case "Raw":
			err = json.Unmarshal(raw, &v)
			if strings.ContainsAny(v, "\r\n") {
				err = fmt.Errorf("raw header values may not contain line breaks")
			}
		case "Text":
			err = json.Unmarshal(raw, &v)
			v = encodeWord(v)
		case "Addresses":
			v, err = formatAddresses(raw)
		case "MessageIds":
			v, err = formatMsgIDs(raw)
		default:
			err = fmt.Errorf("form %s is not supported in create", hp.form)
		}
		if err != nil {
			return nil, seInvalid(k+": "+err.Error(), k)
		}
		field(canonicalHeaderName(hp.name), v)
	}
	var root partSpec
	if raw, ok := obj["bodyStructure"]; ok {
		for _, k := range []string{"textBody", "htmlBody", "attachments"} {
			if _, ok := obj[k]; ok {
				return nil, seInvalid("bodyStructure excludes "+k, k)
			}
		}
		if err := json.Unmarshal(raw, &root); err != nil {
			return nil, seInvalid("bodyStructure: "+err.Error(), "bodyStructure")
		}
	} else {
		var text, html, att []partSpec
		for k, dst := range map[string]*[]partSpec{"textBody": &text, "htmlBody": &html, "attachments": &att} {
			if raw, ok := obj[k]; ok {
				if err := json.Unmarshal(raw, dst); err != nil {
					return nil, seInvalid(k+": "+err.Error(), k)
				}
			}
		}
		if len(text) > 1 || len(html) > 1 {
			return nil, seInvalid("textBody and htmlBody hold at most one part", "textBody")
		}
		multi := func(sub string, parts ...partSpec) partSpec {
			t := "multipart/" + sub
			return partSpec{Type: &t, SubParts: parts}
		}
		var body []partSpec
		switch {
		case len(text) == 1 && len(html) == 1:
			body = []partSpec{multi("alternative", text[0], html[0])}
		case len(text) == 1:
			body = text
		case len(html) == 1:
			body = html
		default:
			t, empty := "text/plain", "empty"
			body = []partSpec{{Type: &t, PartID: &empty}}
			if co.values == nil {
				co.values = map[string]bodyValue{}
			}
			co.values["empty"] = bodyValue{}
		}
		if len(att) > 0 {
			root = multi("mixed", append(body, att...)...)
		} else {
			root = body[0]
		}
	}
	co.buf.Write(h.Bytes())
	if se := co.part(root, 0); se != nil {
		return nil, se
	}
	return co.buf.Bytes(), nil
}

func canonicalHeaderName(n string) string {
	parts := strings.Split(n, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// part writes one part: its MIME header fields (the rest of the header
// the caller wrote) and body.
func (co *composer) part(p partSpec, depth int) *setError {
	if depth > 20 {
		return seInvalid("bodyStructure nests too deep", "bodyStructure")
	}
	typ := ""
	if p.Type != nil {
		typ = strings.ToLower(*p.Type)
	}
	if strings.HasPrefix(typ, "multipart/") {
		if len(p.SubParts) == 0 {
			return seInvalid("a multipart needs subParts", "bodyStructure")
		}
		boundary := "=_" + randomToken(12)
		fmt.Fprintf(&co.buf, "Content-Type: %s\r\n\r\n", mime.FormatMediaType(typ, map[string]string{"boundary": boundary}))
		for _, sp := range p.SubParts {
			fmt.Fprintf(&co.buf, "--%s\r\n", boundary)
			if se := co.part(sp, depth+1); se != nil {
				return se
			}
			co.buf.WriteString("\r\n")
		}
		fmt.Fprintf(&co.buf, "--%s--\r\n", boundary)
		return nil
	}
	var data []byte
	switch {
	case p.PartID != nil && p.BlobID != nil:
		return seInvalid("a body part has either partId or blobId", "bodyStructure")
	case p.PartID != nil:
		v, ok := co.values[*p.PartID]
		if !ok {
			return seInvalid(fmt.Sprintf("no bodyValue for partId %q", *p.PartID), "bodyValues")
		}
		if v.IsTruncated || v.IsEncodingProblem {
			return seInvalid("bodyValues in a create must not be truncated or encoding problems", "bodyValues")
		}
		data = []byte(v.Value)
		if typ == "" {
			typ = "text/plain"
		}
		if !strings.HasPrefix(typ, "text/") {
			return seInvalid("a partId part must be text/*", "bodyStructure")
		}
	case p.BlobID != nil:
		d, btyp, ok, err := co.c.openBlob(*p.BlobID)
		if err != nil || !ok {
			return &setError{Type: "blobNotFound", Description: "no such blob", NotFound: []string{*p.BlobID}}
		}
		data = d
		if typ == "" {
			typ = btyp
		}
	default:
		return seInvalid("a body part needs partId or blobId", "bodyStructure")
	}
	if !contentTypeOK(typ) {
		return seInvalid(fmt.Sprintf("%q is not a media type", typ), "bodyStructure")
	}
	params := map[string]string{}
	if strings.HasPrefix(typ, "text/") {
		cs := "utf-8"
		if p.Charset != nil && p.BlobID != nil {
			cs = *p.Charset
		}
		params["charset"] = cs
	}
	if p.Name != nil && *p.Name != "" {
		params["name"] = *p.Name
	}
	fmt.Fprintf(&co.buf, "Content-Type: %s\r\n", mime.FormatMediaType(typ, params))
	if p.Disposition != nil || (p.Name != nil && *p.Name != "") {
		disp := "attachment"
		if p.Disposition != nil {
			disp = *p.Disposition
		}
		dp := map[string]string{}
		if p.Name != nil && *p.Name != "" {
			dp["filename"] = *p.Name
		}
		fmt.Fprintf(&co.buf, "Content-Disposition: %s\r\n", mime.FormatMediaType(disp, dp))
	}
	if p.Cid != nil {
		fmt.Fprintf(&co.buf, "Content-ID: <%s>\r\n", strings.Trim(*p.Cid, "<>"))
	}
	if p.Location != nil {
		fmt.Fprintf(&co.buf, "Content-Location: %s\r\n", *p.Location)
	}
	if len(p.Language) > 0 {
		fmt.Fprintf(&co.buf, "Content-Language: %s\r\n", strings.Join(p.Language, ", "))
	}
	if strings.HasPrefix(typ, "text/") || typ == "message/rfc822" {
		if typ == "message/rfc822" {
			co.buf.WriteString("\r\n")
			co.buf.Write(data)
			return nil
		}
		co.buf.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		qw := quotedprintable.NewWriter(&co.buf)
		qw.Write(bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")))
		qw.Close()
		co.buf.WriteString("\r\n")
		return nil
	}
	co.buf.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		co.buf.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	co.buf.WriteString(enc + "\r\n")
	return nil
}
