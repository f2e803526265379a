package mailclient

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText turns an HTML mail body into readable plain text, as a
// terminal mail reader shows it: scripts, styles and the head are dropped;
// paragraphs, headings, list items, table rows and line breaks become line
// breaks; list items get "- ", quotations "> "; a link shows its text and
// then its address in brackets ("text [url]") unless they are the same;
// an image shows its alt text. White space collapses as a browser does it,
// except in <pre>. Entities are decoded by the tokenizer (HTML5 rules).
func HTMLToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	w := &textWriter{}
	skip := 0 // depth inside script/style/head/title/template
	pre := 0
	var links []string // href of each open <a>
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			if skip > 0 {
				continue
			}
			if pre > 0 {
				w.raw(tok.Data)
			} else {
				w.text(tok.Data)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.DataAtom {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch tok.DataAtom {
			case atom.Br:
				w.newline()
			case atom.Hr:
				w.block()
				w.raw("----")
				w.block()
			case atom.P, atom.Div, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.Section, atom.Article,
				atom.Header, atom.Footer, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Address:
				w.block()
			case atom.Blockquote:
				w.block()
				w.quote++
			case atom.Pre:
				w.block()
				pre++
			case atom.Tr, atom.Dt, atom.Dd:
				w.newline()
			case atom.Td, atom.Th:
				w.space()
			case atom.Li:
				w.newline()
				w.raw("- ")
			case atom.A:
				links = append(links, attr(tok, "href"))
				w.lastText = ""
			case atom.Img:
				if alt := strings.TrimSpace(attr(tok, "alt")); alt != "" {
					w.text("[" + alt + "]")
				}
			}
		case html.EndTagToken:
			switch tok.DataAtom {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch tok.DataAtom {
			case atom.P, atom.Div, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.Section, atom.Article,
				atom.Header, atom.Footer, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Address:
				w.block()
			case atom.Blockquote:
				w.block()
				if w.quote > 0 {
					w.quote--
				}
			case atom.Pre:
				w.block()
				if pre > 0 {
					pre--
				}
			case atom.Tr:
				w.newline()
			case atom.A:
				if len(links) == 0 {
					continue
				}
				href := links[len(links)-1]
				links = links[:len(links)-1]
				w.link(href)
			}
		}
	}
	return w.String()
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// textWriter builds the text: lines, pending white space and blank lines
// are decided when the next visible text arrives, so markup never makes
// runs of empty lines or trailing spaces.
type textWriter struct {
	lines      []string
	cur        strings.Builder
	pendSpace  bool
	pendBreaks int // 1: new line, 2: blank line
	quote      int
	lastText   string // text written since the latest <a>
}

func (w *textWriter) flushLine() {
	w.lines = append(w.lines, strings.TrimRight(w.cur.String(), " "))
	w.cur.Reset()
}

// emit writes s, first ending lines as pending.
func (w *textWriter) emit(s string) {
	if w.pendBreaks > 0 && (len(w.lines) > 0 || w.cur.Len() > 0) {
		w.flushLine()
		if w.pendBreaks > 1 {
			w.lines = append(w.lines, strings.TrimRight(strings.Repeat("> ", w.quote), " "))
		}
	}
	if w.pendBreaks > 0 || w.cur.Len() == 0 {
		w.cur.WriteString(strings.Repeat("> ", w.quote))
		w.pendSpace = false
	}
	w.pendBreaks = 0
	if w.pendSpace {
		w.cur.WriteByte(' ')
		w.pendSpace = false
	}
	w.cur.WriteString(s)
	w.lastText += s
}

// text writes character data with white space collapsed.
func (w *textWriter) text(s string) {
	if s == "" {
		return
	}
	if startsSpace(s) {
		w.space()
	}
	for i, f := range strings.Fields(s) {
		if i > 0 {
			w.space()
		}
		w.emit(strings.ReplaceAll(f, "\u00a0", " "))
	}
	if endsSpace(s) {
		w.space()
	}
}

// raw writes preformatted text as it is, line by line.
func (w *textWriter) raw(s string) {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			w.pendBreaks = max(w.pendBreaks, 1)
			if line == "" {
				w.flushPending()
			}
		}
		if line != "" {
			w.emit(line)
		}
	}
}

// flushPending starts an empty line now (for blank lines inside <pre>).
func (w *textWriter) flushPending() {
	w.flushLine()
	w.cur.WriteString(strings.Repeat("> ", w.quote))
	w.pendBreaks = 0
}

func (w *textWriter) space() {
	if w.cur.Len() > 0 && w.pendBreaks == 0 {
		w.pendSpace = true
	}
}

func (w *textWriter) newline() { w.pendBreaks = max(w.pendBreaks, 1) }
func (w *textWriter) block()   { w.pendBreaks = 2 }

// link shows the address of a link after its text, unless the text is the
// address (or there is no useful address).
func (w *textWriter) link(href string) {
	href = strings.TrimSpace(href)
	text := strings.TrimSpace(w.lastText)
	if href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(strings.ToLower(href), "javascript:") {
		return
	}
	if strings.TrimPrefix(href, "mailto:") == text || href == text {
		return
	}
	w.pendSpace = w.cur.Len() > 0 && w.pendBreaks == 0
	w.emit("[" + href + "]")
}

func (w *textWriter) String() string {
	if w.cur.Len() > 0 {
		w.flushLine()
	}
	for len(w.lines) > 0 && strings.TrimSpace(w.lines[len(w.lines)-1]) == "" {
		w.lines = w.lines[:len(w.lines)-1]
	}
	return strings.Join(w.lines, "\n") + "\n"
}

func startsSpace(s string) bool { return s != "" && strings.ContainsRune(" \t\r\n\f", rune(s[0])) }
func endsSpace(s string) bool {
	return s != "" && strings.ContainsRune(" \t\r\n\f", rune(s[len(s)-1]))
}
