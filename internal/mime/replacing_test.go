package mime

import "testing"

// TestDecodeHeaderReplacing checks that invalid UTF-8 becomes U+FFFD (a
// run of bad bytes one U+FFFD) for the sort keys, while DecodeHeader
// keeps reading it as Latin-1.
func TestDecodeHeaderReplacing(t *testing.T) {
	for _, tc := range []struct{ in, replacing, lenient string }{
		{"caf\xe9 cr\xe8me", "caf\uFFFD cr\uFFFDme", "café crème"},
		{"=?UTF-8?Q?caf=E9?= x", "caf\uFFFD x", "café x"},
		{"=?x-unknown?Q?caf=E9=E9?=", "caf\uFFFD", "caféé"},
		{"=?ISO-8859-1?Q?caf=E9?=", "café", "café"},
		{"=?UTF-8?Q?caf=C3=A9?= \xff\xfe", "café \uFFFD", "café ÿþ"},
		{"plain", "plain", "plain"},
	} {
		if got := DecodeHeaderReplacing(tc.in); got != tc.replacing {
			t.Errorf("DecodeHeaderReplacing(%q) = %q, want %q", tc.in, got, tc.replacing)
		}
		if got := DecodeHeader(tc.in); got != tc.lenient {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tc.in, got, tc.lenient)
		}
	}
}
