package jmapserver

import (
	"encoding/json"
	"html"
	"strings"

	"github.com/letterbox/letterbox/internal/mime"
)

// SearchSnippet/get (RFC 8621 §5): the subject and a piece of the body
// with the search terms of the filter marked, HTML-escaped.

// filterTerms collects the text, subject and body terms of a filter.
func filterTerms(raw json.RawMessage, subj, body *[]string, depth int) {
	if depth > maxFilterDepth {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	if conds, ok := m["conditions"]; ok {
		var op string
		json.Unmarshal(m["operator"], &op)
		if op == "NOT" {
			return
		}
		var list []json.RawMessage
		json.Unmarshal(conds, &list)
		for _, c := range list {
			filterTerms(c, subj, body, depth+1)
		}
		return
	}
	get := func(k string) string {
		var s string
		json.Unmarshal(m[k], &s)
		return strings.TrimSpace(s)
	}
	if t := get("text"); t != "" {
		*subj, *body = append(*subj, t), append(*body, t)
	}
	if t := get("subject"); t != "" {
		*subj = append(*subj, t)
	}
	if t := get("body"); t != "" {
		*body = append(*body, t)
	}
}

// markTerms escapes s for HTML and wraps each occurrence of a term in
// <mark>; ok says whether any term occurred.
func markTerms(s string, terms []string) (string, bool) {
	lower := strings.ToLower(s)
	type span struct{ a, b int }
	var spans []span
	for _, t := range terms {
		lt := strings.ToLower(t)
		if lt == "" || len(lt) != len(t) {
			continue
		}
		for i := 0; ; {
			j := strings.Index(lower[i:], lt)
			if j < 0 {
				break
			}
			spans = append(spans, span{i + j, i + j + len(lt)})
			i += j + len(lt)
		}
	}
	if len(spans) == 0 {
		return html.EscapeString(s), false
	}
	marked := make([]bool, len(s)+1)
	for _, sp := range spans {
		for k := sp.a; k < sp.b; k++ {
			marked[k] = true
		}
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		if marked[i] != in {
			if marked[i] {
				b.WriteString("<mark>")
			} else {
				b.WriteString("</mark>")
			}
			in = marked[i]
		}
		b.WriteString(html.EscapeString(s[i : i+1]))
	}
	if in {
		b.WriteString("</mark>")
	}
	return b.String(), true
}

func (c *call) searchSnippetGet(raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string          `json:"accountId"`
		Filter    json.RawMessage `json:"filter"`
		EmailIDs  []string        `json:"emailIds"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if len(a.EmailIDs) > c.s.limits.MaxObjectsInGet {
		return nil, mErr(meRequestTooLarge, "too many emailIds")
	}
	if _, _, _, err := c.compileEmailFilter(a.Filter); err != nil {
		return nil, err
	}
	var subjTerms, bodyTerms []string
	filterTerms(a.Filter, &subjTerms, &bodyTerms, 0)
	recs, err := c.loadEmails(a.EmailIDs)
	if err != nil {
		return nil, err
	}
	list, notFound := []any{}, []string{}
	for _, id := range a.EmailIDs {
		rec := recs[id]
		if rec == nil {
			notFound = append(notFound, id)
			continue
		}
		snip := map[string]any{"emailId": id, "subject": nil, "preview": nil}
		root, err := mime.Decode(rec.msg.Structure)
		if err != nil || root == nil {
			list = append(list, snip)
			continue
		}
		if root.Envelope != nil {
			if s, ok := markTerms(mime.DecodeHeader(root.Envelope.Subject), subjTerms); ok {
				snip["subject"] = s
			}
		}
		if len(bodyTerms) > 0 {
			blob, err := c.s.opts.Store.OpenBlob(c.ctx, rec.msg.BlobID)
			if err != nil {
				return nil, err
			}
			v := newMsgView(blob, blob.Size(), root, nil)
			text, _, _ := v.bodies()
			for _, p := range text {
				s, _, err := v.text(p, 1<<20)
				if err != nil {
					break
				}
				if p.Subtype == "html" {
					s = html.UnescapeString(stripTags(s))
				}
				s = strings.Join(strings.Fields(s), " ")
				if frag, ok := fragment(s, bodyTerms); ok {
					snip["preview"] = frag
					break
				}
			}
			blob.Close()
		}
		list = append(list, snip)
	}
	return map[string]any{"accountId": a.AccountID, "list": list, "notFound": notFound}, nil
}

// fragment cuts up to ~200 characters of s around the first term and
// marks the terms.
func fragment(s string, terms []string) (string, bool) {
	lower := strings.ToLower(s)
	at := -1
	for _, t := range terms {
		if i := strings.Index(lower, strings.ToLower(t)); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	if at < 0 {
		return "", false
	}
	r := []rune(s)
	pos := len([]rune(s[:at]))
	start := max(pos-60, 0)
	end := min(start+200, len(r))
	return markTerms(string(r[start:end]), terms)
}
