package htmlsafe

import (
	"strings"
	"testing"
)

// The hostile corpus: each input must lose what the want-not strings name
// and keep what the want strings name.
func TestSanitizeHostile(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		wantNot  []string
	}{
		{"script", `<p>hi</p><script>alert(1)</script>`, []string{"<p>hi</p>"}, []string{"script", "alert"}},
		{"handler", `<img src="https://spy.example/a.png" onerror="alert(1)"><p onclick="x()">t</p>`, []string{"<p>t</p>"}, []string{"onerror", "onclick", "spy.example"}},
		{"javascript link", `<a href="javascript:alert(1)">x</a><a href=" JaVaScRiPt:alert(1)">y</a>`, []string{"x", "y"}, []string{"javascript", "href"}},
		{"data urls", `<a href="data:text/html,<script>alert(1)</script>">d</a><img src="data:image/svg+xml,<svg onload=alert(1)>">`, []string{"d"}, []string{"data:text", "svg+xml,", "onload"}},
		{"svg", `<svg><script>alert(1)</script><image href="https://spy.example/s"/></svg>ok`, []string{"ok"}, []string{"svg", "script", "spy.example"}},
		{"meta refresh", `<html><head><meta http-equiv="refresh" content="0;url=https://spy.example/r"><link rel=stylesheet href="https://spy.example/c"><base href="https://spy.example/"></head><body>b</body></html>`, []string{"b"}, []string{"meta", "refresh", "link", "base", "spy.example"}},
		{"form", `<form action="https://spy.example/f" method=post><input name=p type=password><button formaction="https://spy.example/b">go</button><textarea>t</textarea><select><option>o</select></form>`, nil, []string{"form", "input", "button", "textarea", "select", "spy.example"}},
		{"css fetch", `<p style="background:url(https://spy.example/bg); color: red">s</p><p style="background-image: u\72l(https://spy.example/e)">e</p><div style="list-style: image-set('https://spy.example/i' 1x)">i</div>`, []string{"color: red", ">s<"}, []string{"url", "spy.example", "image-set", `\72`}},
		{"css overlay", `<div style="position: fixed; top: 0; left: 0; width: 100%; z-index: 99">o</div>`, []string{"width: 100%"}, []string{"position", "fixed", "z-index"}},
		{"style element", `<style>@import url(https://spy.example/i.css); body { background: url(https://spy.example/b) }</style><p>x</p>`, []string{"<p>x</p>"}, []string{"style", "import", "spy.example"}},
		{"frames and objects", `<iframe src="https://spy.example/f"></iframe><object data="https://spy.example/o"></object><embed src="https://spy.example/e"><video src="https://spy.example/v" poster="https://spy.example/p"></video><audio src="https://spy.example/a"></audio>`, nil, []string{"iframe", "object", "embed", "spy.example"}},
		{"relative", `<img src="/jmap/download/a1/Bx/y"><a href="/jmap/web/logout">l</a>`, []string{"l"}, []string{"/jmap/"}},
		{"srcset", `<img src="https://spy.example/a" srcset="https://spy.example/b 2x">`, nil, []string{"spy.example", "srcset"}},
		{"tracking pixel", `<img src="https://spy.example/pixel.gif" width="1" height="1">`, []string{Placeholder, `width="1"`}, []string{"spy.example"}},
		{"legacy attrs", `<table bgcolor="#ffeecc" cellpadding="4"><tr><td align="center" background="https://spy.example/t">c</td></tr></table><font color="red" face="Arial">f</font>`, []string{`bgcolor="#ffeecc"`, `align="center"`, `<font color="red" face="Arial">`}, []string{"spy.example", "background="}},
		{"links kept", `<a href="https://example.org/x">x</a><a href="mailto:a@example.org">m</a>`, []string{`href="https://example.org/x"`, `rel="nofollow noreferrer"`, `target="_blank"`, `href="mailto:a@example.org"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Sanitize(c.in, Options{}).HTML
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lost %q: %s", c.in, w, got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
					t.Errorf("%q kept %q: %s", c.in, w, got)
				}
			}
		})
	}
}

func TestSanitizeImages(t *testing.T) {
	in := `<img src="https://img.example/a.png" alt="a"><img src="cid:logo%40example.org"><img src="cid:missing@x">`
	cid := func(id string) (string, bool) {
		if id == "logo@example.org" {
			return "data:image/png;base64,iVBORw0KGgo=", true
		}
		return "", false
	}
	r := Sanitize(in, Options{CID: cid})
	if r.BlockedImages != 1 || r.InlineImages != 1 {
		t.Errorf("blocked %d inline %d, want 1 and 1: %s", r.BlockedImages, r.InlineImages, r.HTML)
	}
	if !strings.Contains(r.HTML, `src="data:image/png;base64,iVBORw0KGgo="`) || strings.Contains(r.HTML, "img.example") ||
		strings.Count(r.HTML, Placeholder) != 2 {
		t.Errorf("images: %s", r.HTML)
	}
	r = Sanitize(in, Options{Remote: true, CID: cid})
	if r.BlockedImages != 0 || !strings.Contains(r.HTML, `src="https://img.example/a.png"`) {
		t.Errorf("remote allowed: %d %s", r.BlockedImages, r.HTML)
	}
}
