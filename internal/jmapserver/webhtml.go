package jmapserver

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/htmlsafe"
	lbmime "github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// The web mail shows an HTML body as a document the server has sanitised
// (internal/htmlsafe, bluemonday with a mail policy), loaded into the
// page's sandboxed iframe from
//
//	GET /jmap/web/html/{emailId}           the document
//	GET /jmap/web/html/{emailId}?images=1  the same with remote images
//	GET /jmap/web/html/{emailId}/info      JSON: sender, trusted, counts
//
// Remote images are kept when the request asks for them (the user's "load
// images" for this message) or when the sender is one of the account's
// trusted senders (websettings.go). cid: images (RFC 2392) become data:
// URLs of the message's own image parts, written here. The document is
// served with its own Content-Security-Policy (sandbox, no script, no
// form, images only from data: unless remote images are allowed, no
// fetch of any other kind), so the sanitiser is not the only barrier.

const (
	maxWebHTML       = 4 << 20  // octets of HTML sanitised per message
	maxInlineImage   = 5 << 20  // octets of one cid: image inlined
	maxInlineImages  = 20 << 20 // octets of all cid: images of a message
	webHTMLStyle     = `body{font:15px/1.45 system-ui,sans-serif;color:#1b1b1b;background:#fff;margin:8px;overflow-wrap:anywhere}img{max-width:100%;height:auto}pre{white-space:pre-wrap;font:14px/1.45 ui-monospace,monospace}`
	webHTMLCSPBase   = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; img-src data:"
	webHTMLCSPRemote = " https: http:"
)

// webHTML is one sanitised message body.
type webHTML struct {
	sender  string
	trusted bool
	res     htmlsafe.Result
}

// renderWebHTML sanitises the htmlBody parts (RFC 8621 §4.1.4) of the
// Email; text/plain parts among them are escaped into <pre>. ok is false
// for an Email the account does not have.
func (s *Server) renderWebHTML(r *http.Request, acct store.Account, emailID string, images, inline bool) (webHTML, bool, error) {
	c := &call{s: s, ctx: r.Context(), acct: acct, owner: acct, created: map[string]string{}}
	recs, err := c.loadEmails([]string{emailID})
	if err != nil {
		return webHTML{}, false, err
	}
	rec := recs[emailID]
	if rec == nil {
		return webHTML{}, false, nil
	}
	blob, err := s.opts.Store.OpenBlob(r.Context(), rec.msg.BlobID)
	if err != nil {
		return webHTML{}, false, err
	}
	defer blob.Close()
	root, _ := lbmime.Decode(rec.msg.Structure)
	if root == nil {
		if root, err = lbmime.Parse(blob, blob.Size()); err != nil {
			return webHTML{}, false, err
		}
	}
	var out webHTML
	if root.Envelope != nil && len(root.Envelope.From) > 0 {
		a := root.Envelope.From[0]
		out.sender = strings.ToLower(a.Mailbox + "@" + a.Host)
	}
	set, err := readWebSettings(r.Context(), s.opts.Store, acct.Name)
	if err != nil {
		return webHTML{}, false, err
	}
	for _, t := range set.TrustedSenders {
		out.trusted = out.trusted || t == out.sender
	}
	v := newMsgView(blob, blob.Size(), root, nil)
	_, htmlParts, _ := v.bodies()
	var b strings.Builder
	for i, p := range htmlParts {
		if i > 0 {
			b.WriteString("<hr>")
		}
		limit := maxWebHTML - b.Len()
		if limit <= 0 {
			break // v.text takes 0 as no limit
		}
		switch mediaType(p) {
		case "text/html":
			t, _, err := v.text(p, limit)
			if err != nil {
				return webHTML{}, false, err
			}
			b.WriteString(t)
		case "text/plain":
			t, _, err := v.text(p, limit)
			if err != nil {
				return webHTML{}, false, err
			}
			b.WriteString("<pre>" + html.EscapeString(t) + "</pre>")
		default:
			// An inline image among the bodies: shown through its own
			// Content-ID, or a made-up one.
			if isInlineMediaType(p) && p.Type == "image" {
				b.WriteString(`<img src="cid:` + html.EscapeString(contentIDOf(p, i)) + `">`)
			}
		}
	}
	budget := maxInlineImages
	cid := func(id string) (string, bool) {
		p := findContentID(root, htmlParts, id)
		if p == nil || p.Type != "image" || strings.Contains(p.Subtype, "svg") {
			return "", false
		}
		if !inline {
			return htmlsafe.Placeholder, true
		}
		rd, err := lbmime.BinarySection(blob, p)
		if err != nil {
			rd = lbmime.BodyReader(blob, p)
		}
		data, err := io.ReadAll(io.LimitReader(rd, maxInlineImage+1))
		if err != nil || len(data) > maxInlineImage || len(data) > budget {
			return "", false
		}
		budget -= len(data)
		return "data:" + mediaType(p) + ";base64," + base64.StdEncoding.EncodeToString(data), true
	}
	out.res = htmlsafe.Sanitize(b.String(), htmlsafe.Options{Remote: images || out.trusted, CID: cid})
	return out, true, nil
}

// contentIDOf is the part's Content-ID without angle brackets, or a name
// for an inline image part that has none.
func contentIDOf(p *lbmime.Part, i int) string {
	if id := strings.Trim(strings.TrimSpace(p.ID), "<>"); id != "" {
		return id
	}
	return "letterbox-inline-" + strconv.Itoa(i)
}

// findContentID finds the part with Content-ID id (exact, then without
// regard to case), or the inline image body part named by contentIDOf.
func findContentID(root *lbmime.Part, bodies []*lbmime.Part, id string) *lbmime.Part {
	var exact, folded *lbmime.Part
	var walk func(p *lbmime.Part)
	walk = func(p *lbmime.Part) {
		if p.IsMultipart() {
			for _, c := range p.Parts {
				walk(c)
			}
			return
		}
		pid := strings.Trim(strings.TrimSpace(p.ID), "<>")
		if pid == "" {
			return
		}
		if pid == id && exact == nil {
			exact = p
		} else if strings.EqualFold(pid, id) && folded == nil {
			folded = p
		}
	}
	walk(root)
	if exact != nil {
		return exact
	}
	if folded != nil {
		return folded
	}
	for i, p := range bodies {
		if contentIDOf(p, i) == id {
			return p
		}
	}
	return nil
}

// handleWebHTML serves the sanitised document.
func (s *Server) handleWebHTML(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	images := r.URL.Query().Get("images") == "1"
	doc, ok, err := s.renderWebHTML(r, acct, r.PathValue("emailId"), images, true)
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(w, "no such email", http.StatusNotFound)
		return
	}
	csp := webHTMLCSPBase
	if images || doc.trusted {
		csp += webHTMLCSPRemote
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	io.WriteString(w, `<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><style>`+
		webHTMLStyle+`</style></head><body>`+doc.res.HTML+`</body></html>`)
}

// handleWebHTMLInfo tells the page whether images were held back and
// whether the sender is trusted.
func (s *Server) handleWebHTMLInfo(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	doc, ok, err := s.renderWebHTML(r, acct, r.PathValue("emailId"), false, false)
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(w, "no such email", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"sender": doc.sender, "trusted": doc.trusted,
		"blockedImages": doc.res.BlockedImages, "inlineImages": doc.res.InlineImages})
}
