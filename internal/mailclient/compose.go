package mailclient

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	stdmime "mime"
	"net/mail"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
)

// Draft is a message being written: what the compose template shows and
// what `send`, `reply` and `forward` turn into an RFC 5322 message.
type Draft struct {
	From, To, Cc, Bcc string // address lists as typed (RFC 5322 §3.4)
	Subject           string
	Body              string // plain text, UTF-8
	// InReplyTo and References link a reply to its thread (RFC 5322
	// §3.6.4), as "<id>" lists.
	InReplyTo, References string
	Attachments           []FileAttachment
	// Raw, when set, is a complete MIME message given on stdin: it is sent
	// as it is, with only missing Date, Message-ID and From added.
	Raw []byte
}

// FileAttachment is a file to attach.
type FileAttachment struct {
	Name string // file name shown to the recipient
	Type string // media type; "" guesses from the name
	Data []byte
}

// templateFields are the header fields of the compose template, in order.
var templateFields = []string{"From", "To", "Cc", "Bcc", "Subject"}

// Template is the text the editor opens: the header fields, a blank
// line, the body.
func (d Draft) Template() string {
	var b strings.Builder
	vals := map[string]string{"From": d.From, "To": d.To, "Cc": d.Cc, "Bcc": d.Bcc, "Subject": d.Subject}
	for _, f := range templateFields {
		fmt.Fprintf(&b, "%s: %s\n", f, vals[f])
	}
	b.WriteString("\n")
	b.WriteString(d.Body)
	return b.String()
}

// ParseDraft reads an edited template or a message on stdin: header
// fields up to the first empty line, then the body. From, To, Cc, Bcc,
// Subject, In-Reply-To and References fill the draft; when the text has a
// MIME Content-Type other than text/plain it is a finished message and is
// kept whole in Raw.
func ParseDraft(text []byte) (Draft, error) {
	var d Draft
	text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
	head, body, found := bytes.Cut(text, []byte("\n\n"))
	if !found {
		if bytes.HasSuffix(head, []byte("\n")) || looksLikeHeader(head) {
			body = nil
		} else {
			return Draft{Body: string(text)}, nil // no header at all: all body
		}
	}
	if !looksLikeHeader(head) {
		return Draft{Body: string(text)}, nil
	}
	msg, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(head), strings.NewReader("\n\n")))
	if err != nil || !hasDraftField(msg.Header) {
		// "Note: bring snacks" on the first line is text, not a header:
		// a header needs at least one field a message has.
		return Draft{Body: string(text)}, nil
	}
	h := msg.Header
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, _ := stdmime.ParseMediaType(ct)
		if mt != "" && mt != "text/plain" {
			d.Raw = bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))
		}
	}
	dec := &stdmime.WordDecoder{}
	get := func(k string) string {
		v := strings.TrimSpace(h.Get(k))
		if out, err := dec.DecodeHeader(v); err == nil {
			return out
		}
		return v
	}
	d.From, d.To, d.Cc, d.Bcc = get("From"), get("To"), get("Cc"), get("Bcc")
	d.Subject = get("Subject")
	d.InReplyTo, d.References = strings.TrimSpace(h.Get("In-Reply-To")), strings.TrimSpace(h.Get("References"))
	d.Body = string(body)
	return d, nil
}

// hasDraftField reports whether h has a field of a message header.
func hasDraftField(h mail.Header) bool {
	for _, f := range []string{"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-Id", "In-Reply-To", "References", "Reply-To", "Mime-Version", "Content-Type"} {
		if _, ok := h[f]; ok {
			return true
		}
	}
	return false
}

// looksLikeHeader reports whether the first line is "Name: value".
func looksLikeHeader(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Built is a message ready to submit.
type Built struct {
	Raw       []byte
	From      string   // envelope sender (MAIL FROM)
	Rcpts     []string // envelope recipients: To, Cc and Bcc
	MessageID string
}

// Build makes the RFC 5322 message: Date and Message-ID (RFC 5322
// §3.6.1, §3.6.4), RFC 2047 encoded names and subject, a text/plain UTF-8
// body in quoted-printable, and with attachments a multipart/mixed (RFC
// 2046 §5.1.3) whose file parts are base64 (RFC 2045 §6.8) with an RFC
// 2183 Content-Disposition. Bcc is left out of the message.
func (d Draft) Build(now time.Time) (*Built, error) {
	from, err := parseAddrs("From", d.From)
	if err != nil {
		return nil, err
	}
	if len(from) != 1 {
		return nil, errors.New("the message needs exactly one From address (set from = \"Name <addr>\" in the account, or --from)")
	}
	to, err := parseAddrs("To", d.To)
	if err != nil {
		return nil, err
	}
	cc, err := parseAddrs("Cc", d.Cc)
	if err != nil {
		return nil, err
	}
	bcc, err := parseAddrs("Bcc", d.Bcc)
	if err != nil {
		return nil, err
	}
	b := &Built{From: from[0].Address}
	seen := map[string]bool{}
	for _, l := range [][]*mail.Address{to, cc, bcc} {
		for _, a := range l {
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				b.Rcpts = append(b.Rcpts, a.Address)
			}
		}
	}
	if len(b.Rcpts) == 0 {
		return nil, errors.New("no recipients: fill in To: (or give --to)")
	}
	domain := "localhost"
	if i := strings.LastIndexByte(b.From, '@'); i >= 0 {
		domain = b.From[i+1:]
	}
	b.MessageID = newMessageID(domain)
	if d.Raw != nil {
		b.Raw, err = completeRaw(d.Raw, from[0], now, b.MessageID)
		return b, err
	}

	var h gomail.Header
	h.SetDate(now)
	h.SetMessageID(b.MessageID)
	setAddresses(&h, "From", from)
	setAddresses(&h, "To", to)
	setAddresses(&h, "Cc", cc)
	h.SetSubject(d.Subject)
	if d.InReplyTo != "" {
		h.Set("In-Reply-To", d.InReplyTo)
	}
	if d.References != "" {
		h.Set("References", d.References)
	}
	h.Set("MIME-Version", "1.0")
	body := strings.ReplaceAll(d.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	body = strings.ReplaceAll(body, "\n", "\r\n")
	var buf bytes.Buffer
	if len(d.Attachments) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		w, err := gomail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		io.WriteString(w, body)
		if err := w.Close(); err != nil {
			return nil, err
		}
		b.Raw = buf.Bytes()
		return b, nil
	}
	mw, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th gomail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	io.WriteString(tw, body)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, a := range d.Attachments {
		var ah gomail.AttachmentHeader
		typ := a.Type
		if typ == "" {
			typ = guessType(a.Name)
		}
		ah.SetContentType(typ, nil)
		ah.SetFilename(a.Name)
		switch {
		case strings.HasPrefix(strings.ToLower(typ), "message/") && isASCII(string(a.Data)):
			// RFC 2046 §5.2.1: an embedded message is never base64 or
			// quoted-printable, only 7bit/8bit/binary.
			ah.Set("Content-Transfer-Encoding", "7bit")
		case strings.HasPrefix(strings.ToLower(typ), "message/"):
			ah.Set("Content-Transfer-Encoding", "8bit")
		default:
			ah.Set("Content-Transfer-Encoding", "base64")
		}
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		aw.Write(a.Data)
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Raw = buf.Bytes()
	return b, nil
}

// completeRaw adds what a finished message lacks: Date, Message-ID and
// From. Bcc is removed.
func completeRaw(raw []byte, from *mail.Address, now time.Time, id string) ([]byte, error) {
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && ent == nil {
		return nil, fmt.Errorf("the message on stdin: %w", err)
	}
	h := gomail.Header{Header: ent.Header}
	var add bytes.Buffer
	if !h.Has("Date") {
		fmt.Fprintf(&add, "Date: %s\r\n", now.Format(time.RFC1123Z))
	}
	if !h.Has("Message-Id") {
		fmt.Fprintf(&add, "Message-ID: <%s>\r\n", id)
	}
	if !h.Has("From") {
		fmt.Fprintf(&add, "From: %s\r\n", from.String())
	}
	out := append(add.Bytes(), raw...)
	if h.Has("Bcc") {
		out = dropField(out, "Bcc")
	}
	return out, nil
}

// dropField removes a header field (with its continuation lines).
func dropField(raw []byte, name string) []byte {
	var out bytes.Buffer
	r := bufio.NewReader(bytes.NewReader(raw))
	inHeader, dropping := true, false
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			switch {
			case !inHeader:
				out.Write(line)
			case len(bytes.TrimRight(line, "\r\n")) == 0:
				inHeader = false
				out.Write(line)
			case line[0] == ' ' || line[0] == '\t':
				if !dropping {
					out.Write(line)
				}
			default:
				n, _, _ := bytes.Cut(line, []byte(":"))
				dropping = strings.EqualFold(strings.TrimSpace(string(n)), name)
				if !dropping {
					out.Write(line)
				}
			}
		}
		if err != nil {
			return out.Bytes()
		}
	}
}

func parseAddrs(field, s string) ([]*mail.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	l, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not an address list (want \"Name <a@b>, c@d\"): %w", field, s, err)
	}
	return l, nil
}

// setAddresses writes an address list as people write it: a bare
// address, or a display name as atoms, quoted only when it needs to be
// (RFC 5322 §3.2.3, §3.4), RFC 2047 encoded when not ASCII (§5 of RFC
// 2047 allows encoded-words in a phrase).
func setAddresses(h *gomail.Header, key string, l []*mail.Address) {
	if len(l) == 0 {
		return
	}
	parts := make([]string, len(l))
	for i, a := range l {
		switch {
		case a.Name == "":
			parts[i] = a.Address
		case !isASCII(a.Name):
			parts[i] = stdmime.QEncoding.Encode("utf-8", a.Name) + " <" + a.Address + ">"
		default:
			parts[i] = displayAddress(a.Name, a.Address)
		}
	}
	h.Set(key, strings.Join(parts, ", "))
}

// newMessageID is a unique id-left "@" domain (RFC 5322 §3.6.4): 128
// random bits and the time.
func newMessageID(domain string) string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%d.%s@%s", time.Now().Unix(), hex.EncodeToString(b[:]), domain)
}

// guessType picks a media type from a file name's extension.
func guessType(name string) string {
	if t := stdmime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// ReplyDraft answers the message r, read from mailbox: To the Reply-To or
// From (RFC 5322 §3.6.2), with all the other recipients in Cc when all is
// set (minus self), "Re: " once, In-Reply-To the original's Message-ID and
// References its References plus that id (RFC 5322 §3.6.4), and the
// original text quoted under "On DATE, NAME wrote:".
func ReplyDraft(r *Rendered, self string, all bool) Draft {
	d := Draft{From: self, Subject: prefixSubject("Re:", r.Subject)}
	to := r.ReplyTo
	if to == "" {
		to = r.From
	}
	d.To = to
	if all {
		selfAddr := ""
		if a, err := mail.ParseAddress(self); err == nil {
			selfAddr = strings.ToLower(a.Address)
		}
		have := map[string]bool{selfAddr: true}
		for _, a := range addrList(to) {
			have[strings.ToLower(a.Address)] = true
		}
		var cc []string
		for _, l := range []string{r.To, r.Cc} {
			for _, a := range addrList(l) {
				if k := strings.ToLower(a.Address); !have[k] {
					have[k] = true
					cc = append(cc, displayAddress(a.Name, a.Address))
				}
			}
		}
		d.Cc = strings.Join(cc, ", ")
	}
	d.InReplyTo, d.References = threadHeaders(r)
	d.Body = "\n" + quoteHeader(r) + "\n" + Quote(r.Text)
	return d
}

// ForwardDraft forwards r: "Fwd: " once, the original's header summary
// and quoted text, and its attachments carried along. References links it
// to the original's thread (as Thunderbird and Gmail do); In-Reply-To is
// left out, since a forward answers nobody.
func ForwardDraft(r *Rendered, self string) (Draft, error) {
	d := Draft{From: self, Subject: prefixSubject("Fwd:", r.Subject)}
	_, d.References = threadHeaders(r)
	var b strings.Builder
	b.WriteString("\n---------- Forwarded message ----------\n")
	fmt.Fprintf(&b, "From: %s\n", r.From)
	fmt.Fprintf(&b, "Date: %s\n", r.dateString())
	fmt.Fprintf(&b, "Subject: %s\n", r.Subject)
	fmt.Fprintf(&b, "To: %s\n", r.To)
	if r.Cc != "" {
		fmt.Fprintf(&b, "Cc: %s\n", r.Cc)
	}
	b.WriteString("\n" + quoteHeader(r) + "\n" + Quote(r.Text))
	d.Body = b.String()
	for _, a := range r.Attachments {
		data, err := r.AttachmentData(a)
		if err != nil {
			return Draft{}, err
		}
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("attachment-%d", a.Index)
		}
		d.Attachments = append(d.Attachments, FileAttachment{Name: name, Type: a.Type, Data: data})
	}
	return d, nil
}

// threadHeaders are In-Reply-To and References of an answer to r.
func threadHeaders(r *Rendered) (inReplyTo, references string) {
	if r.MessageID == "" {
		return "", r.References
	}
	id := "<" + r.MessageID + ">"
	refs := r.References
	if refs == "" {
		refs = r.InReplyTo // RFC 5322 §3.6.4: the parent's In-Reply-To
	}
	if refs == "" {
		return id, id
	}
	return id, refs + " " + id
}

func (r *Rendered) dateString() string {
	if !r.Date.IsZero() {
		return r.Date.Format("Mon, 2 Jan 2006 15:04:05 -0700")
	}
	return r.DateText
}

// quoteHeader is the attribution line "On DATE, NAME wrote:".
func quoteHeader(r *Rendered) string {
	who := r.From
	if a := addrList(r.From); len(a) > 0 && a[0].Name != "" {
		who = a[0].Name
	}
	return fmt.Sprintf("On %s, %s wrote:", r.dateString(), who)
}

// Quote prefixes every line of text with "> " (">" before an already
// quoted line, so levels read ">> ").
func Quote(text string) string {
	text = strings.TrimRight(text, "\n")
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, ">"):
			b.WriteString(">" + l)
		case l == "":
			b.WriteString(">")
		default:
			b.WriteString("> " + l)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// prefixSubject adds "Re:" or "Fwd:" unless the subject already starts
// with it (any case; RFC 5322 §3.6.5).
func prefixSubject(prefix, subject string) string {
	s := strings.TrimSpace(subject)
	if strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix)) {
		return s
	}
	if prefix == "Fwd:" && strings.HasPrefix(strings.ToLower(s), "fw:") {
		return s
	}
	return prefix + " " + s
}

func addrList(s string) []*mail.Address {
	l, err := mail.ParseAddressList(s)
	if err != nil {
		return nil
	}
	return l
}
