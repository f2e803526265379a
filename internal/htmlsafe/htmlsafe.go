// Package htmlsafe turns the HTML body of a mail message into HTML that is
// safe to show: github.com/microcosm-cc/bluemonday with a policy for mail,
// applied on the server before the web mail frames the message (where the
// iframe's sandbox and a no-script Content-Security-Policy are the second
// layer).
//
// The policy starts from bluemonday's UGCPolicy (user-generated content:
// text, links, lists, tables, images; no script, style, form, input,
// button, meta, link, base, iframe, object, embed, svg or math element, no
// on* attribute) and sharpens it for mail:
//   - URLs must parse and be absolute: links may be http, https or mailto
//     and open in a new browsing context with rel="noopener noreferrer";
//     image sources may be http, https or cid (RFC 2392). javascript:,
//     data:, vbscript:, file: and relative URLs are dropped with their
//     attribute (a data: image written by the sender is dropped too: it is
//     the sender's, not ours).
//   - cid: images are replaced by the matching body part, inlined as a
//     data: URL that the server itself writes (Options.CID).
//   - Remote images are replaced by a placeholder unless Options.Remote
//     is true (the user chose to load them, or trusts the sender); Result
//     counts what was held back.
//   - Inline style attributes keep only presentational properties (colour,
//     font, text, box, table); a value that could fetch (url(), image-set(),
//     @import, expression(), a CSS escape) removes the declaration, and
//     "position" is never kept, so a message cannot overlay the page.
//     <style> elements are dropped with their content.
//   - Presentational attributes old mail uses (bgcolor, align, valign,
//     width, height, border, cellpadding, cellspacing, font color/face/size)
//     are kept when their value is plain.
package htmlsafe

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// Placeholder is the image shown instead of a remote image that was held
// back, or of a cid: image with no matching part: a light grey box.
const Placeholder = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxNiIgaGVpZ2h0PSIxNiI+PHJlY3Qgd2lkdGg9IjE2IiBoZWlnaHQ9IjE2IiBmaWxsPSIjZGRkIi8+PC9zdmc+"

// Options say how images are treated.
type Options struct {
	// Remote keeps http and https image sources.
	Remote bool
	// CID returns the data: URL of the body part with that Content-ID
	// (RFC 2392: the cid: URL's address, percent-decoded, without angle
	// brackets), or false. Nil: no cid: image is shown.
	CID func(contentID string) (string, bool)
}

// Result is the sanitised HTML and what was held back.
type Result struct {
	HTML string
	// BlockedImages counts remote image sources replaced by Placeholder.
	BlockedImages int
	// InlineImages counts cid: images replaced by their part.
	InlineImages int
}

// styleProps are the inline CSS properties kept (bluemonday drops every
// other declaration; vendor prefixes are read without the prefix).
var styleProps = []string{
	"color", "background-color", "opacity",
	"font", "font-family", "font-size", "font-style", "font-weight", "font-variant", "line-height",
	"letter-spacing", "word-spacing", "white-space", "word-break", "word-wrap", "overflow-wrap",
	"text-align", "text-decoration", "text-indent", "text-transform", "vertical-align", "direction",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
	"border-width", "border-radius", "border-collapse", "border-spacing",
	"width", "height", "max-width", "min-width", "max-height", "min-height",
	"display", "float", "clear", "overflow", "list-style-type", "table-layout",
}

// fetching matches CSS values that could make a request or run code, and
// CSS escapes that could spell one (url( as u\72l( ).
var fetching = regexp.MustCompile(`(?i)url\s*\(|image-set|image\s*\(|@import|expression|javascript:|behavior|-moz-binding|\\|/\*`)

// plain matches a presentational attribute value: words, numbers,
// percentages, #colours.
var plain = regexp.MustCompile(`^[#%.,\w\s-]{0,64}$`)

func safeCSS(v string) bool { return !fetching.MatchString(v) }

// policy builds the mail policy. It is made per call because the src
// rewriter closes over the call's options and counters.
func policy(o Options, res *Result) *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.AllowRelativeURLs(false)
	p.RequireParseableURLs(true)
	p.RequireNoReferrerOnLinks(true)
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowStyles(styleProps...).MatchingHandler(safeCSS).Globally()
	p.AllowAttrs("bgcolor", "align", "valign", "width", "height", "border", "cellpadding", "cellspacing").
		Matching(plain).Globally()
	p.AllowAttrs("color", "face", "size").Matching(plain).OnElements("font")
	p.AllowElements("font", "center")
	p.RewriteSrc(func(u *url.URL) {
		switch strings.ToLower(u.Scheme) {
		case "cid":
			// RFC 2392 §2: cid:addr-spec, percent-encoded.
			id, err := url.PathUnescape(u.Opaque)
			if err != nil {
				id = u.Opaque
			}
			if o.CID != nil {
				if data, ok := o.CID(strings.Trim(id, "<>")); ok {
					res.InlineImages++
					setOpaque(u, data)
					return
				}
			}
			setOpaque(u, Placeholder)
		case "http", "https":
			if o.Remote {
				return
			}
			res.BlockedImages++
			setOpaque(u, Placeholder)
		default:
			setOpaque(u, Placeholder)
		}
	})
	return p
}

// setOpaque makes u the data: URL s.
func setOpaque(u *url.URL, s string) {
	*u = url.URL{Scheme: "data", Opaque: strings.TrimPrefix(s, "data:")}
}

// Sanitize cleans an HTML body (a whole document or a fragment) with the
// mail policy.
func Sanitize(html string, o Options) Result {
	var res Result
	res.HTML = policy(o, &res).Sanitize(html)
	return res
}
