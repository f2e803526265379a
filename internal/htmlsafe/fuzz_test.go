package htmlsafe

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// FuzzSanitize: whatever goes in, what comes out parses to elements the
// policy allows, with no on* attribute, no style element or script, and
// URLs only of the allowed schemes (images: data: written by us, or http(s)
// when remote images are allowed).
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		`<p onclick=x>hi</p><script>alert(1)</script>`,
		`<img src="https://a.example/x" onerror=y><a href="javascript:z">l</a>`,
		`<svg><foreignObject><iframe srcdoc="<script>1</script>"></iframe></foreignObject></svg>`,
		`<style>*{background:url(x)}</style><div style="background:u\72l(x)">`,
		`<math><mi xlink:href="javascript:1">x</mi></math><form><input></form>`,
		`<img src="cid:a@b"><a href="data:text/html,x">d</a><meta http-equiv=refresh content=0>`,
		"<scr<script>ipt>alert(1)</scr</script>ipt>",
	} {
		f.Add(s, false)
	}
	allowedSchemes := map[string]bool{"http": true, "https": true, "mailto": true, "cid": true, "data": true}
	f.Fuzz(func(t *testing.T, in string, remote bool) {
		out := Sanitize(in, Options{Remote: remote, CID: func(string) (string, bool) { return "data:image/png;base64,AA==", true }}).HTML
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "object", "embed", "form", "input", "button", "textarea", "select",
				"meta", "link", "base", "svg", "math", "frame", "frameset", "applet", "template":
				t.Fatalf("%q kept <%s>: %s", in, tok.Data, out)
			}
			for _, a := range tok.Attr {
				k := strings.ToLower(a.Key)
				if strings.HasPrefix(k, "on") || k == "srcdoc" || k == "formaction" || k == "srcset" || k == "background" || k == "poster" {
					t.Fatalf("%q kept attribute %s: %s", in, a.Key, out)
				}
				if k == "href" || k == "src" {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					scheme, _, ok := strings.Cut(v, ":")
					if !ok || !allowedSchemes[scheme] {
						t.Fatalf("%q kept %s=%q: %s", in, a.Key, a.Val, out)
					}
					if k == "src" && (scheme == "http" || scheme == "https") && !remote {
						t.Fatalf("%q kept a remote image without consent: %s", in, out)
					}
					if k == "href" && scheme == "data" {
						t.Fatalf("%q kept a data: link: %s", in, out)
					}
				}
				if k == "style" && fetching.MatchString(a.Val) {
					t.Fatalf("%q kept style %q: %s", in, a.Val, out)
				}
			}
		}
	})
}
