package mailclient

import "testing"

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<html><head><title>T</title><style>p{color:red}</style></head><body><p>Hello <b>world</b>!</p><p>Second&nbsp;para &amp; more</p></body></html>`,
			"Hello world!\n\nSecond para & more\n"},
		{`<p>See <a href="https://example.com/x">our site</a>.</p>`, "See our site [https://example.com/x].\n"},
		{`<a href="https://example.com">https://example.com</a>`, "https://example.com\n"},
		{`<a href="mailto:bob@example.com">bob@example.com</a>`, "bob@example.com\n"},
		{`<ul><li>one</li><li>two</li></ul>after`, "- one\n- two\n\nafter\n"},
		{`line<br>break<br/>again`, "line\nbreak\nagain\n"},
		{`<script>alert(1)</script>visible`, "visible\n"},
		{`<pre>  keep
   this</pre>`, "  keep\n   this\n"},
		{`<blockquote>quoted <b>text</b></blockquote>reply`, "> quoted text\n\nreply\n"},
		{`<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>`, "a b\nc d\n"},
		{`<img alt="logo" src="x.png"> Caf&eacute;`, "[logo] Café\n"},
		{`<p>unclosed <a href="http://x">link`, "unclosed link\n"},
	}
	for _, tc := range tests {
		if got := HTMLToText(tc.in); got != tc.want {
			t.Errorf("HTMLToText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
