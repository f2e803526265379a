package casemap

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// dovecotAnswers are SEARCH SUBJECT (and BODY, the same) answers of
// Dovecot 2.3.19 on loopback: the texts were appended in this order, and
// each needle found the listed messages (1-based).
var dovecotTexts = []string{
	"Straße", "STRASSE", "CAFÉ", "café", "cafe\u0301", "ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ", "DIŞ", "dış",
	"İstanbul", "istanbul", "ﬁle", "file", "①", "㎏ KG", "\u212a kelvin", "Ǆ dz", "ǅ",
}

var dovecotAnswers = map[string][]int{
	"ß": {1}, "ss": {2}, "SS": {2}, "straße": {1}, "STRASSE": {2},
	"É": {3, 4, 5}, "é": {3, 4, 5}, "e": {1, 2, 3, 4, 5, 13, 14, 17}, "cafe": {3, 4, 5}, "CAFÉ": {3, 4, 5},
	"ς": {6, 7, 8}, "σ": {6, 7, 8}, "Σ": {6, 7, 8}, "ΣΊΣΥΦΟΣ": {6, 7, 8}, "σίσυφος": {6, 7, 8}, "ι": {6, 7, 8},
	"ı": {9, 10, 11, 12, 14, 17}, "i": {9, 10, 11, 12, 14, 17}, "I": {9, 10, 11, 12, 14, 17}, "İ": {11}, "ş": {9, 10},
	"ﬁ": {13}, "fi": {14}, "1": {15}, "kg": {16}, "KG": {16}, "k": {16, 17},
	"ǆ": {18, 19}, "Ǆ": {18, 19}, "ǅ": {18, 19}, "dz": {18},
}

// A second Dovecot mailbox: compatibility decompositions and Hangul.
var dovecotTexts2 = []string{"ª", "Ａ", "ℌ", "²", "½", "㎏", "한", "ǖ", "ü", "ÿ", "Ÿ"}

var dovecotAnswers2 = map[string][]int{
	"a": {2}, "A": {2}, "ª": {1}, "Ａ": {2}, "h": {3}, "H": {3}, "2": {4, 5}, "1": {5}, "½": {5},
	"kg": nil, "KG": nil, "g": nil, "한": {7}, "ᄒ": {7}, "ü": {9}, "ǖ": {8}, "u": {9},
	"ÿ": {10, 11}, "y": {10, 11}, "Y": {10, 11},
}

func TestMatchesDovecot(t *testing.T) {
	check := func(texts []string, answers map[string][]int) {
		for needle, want := range answers {
			var got []int
			for i, text := range texts {
				if Contains(text, needle) {
					got = append(got, i+1)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("needle %q: got %v, Dovecot %v", needle, got, want)
			}
		}
	}
	check(dovecotTexts, dovecotAnswers)
	check(dovecotTexts2, dovecotAnswers2)
}

// TestFoldIsPerRune: folding a string is folding its runes one by one, so
// text may be folded in pieces (the signature and the matcher rely on it),
// and the result is valid UTF-8.
func TestFoldIsPerRune(t *testing.T) {
	for _, s := range append(dovecotTexts, "Hello, Wörld!", "\xff\xfeabc", "日本語テキスト", "ΑΒΓ abc ÀÉÎ") {
		var b []byte
		for _, r := range s {
			b = AppendRune(b, r)
		}
		if got := String(s); got != string(b) || !utf8.ValidString(got) {
			t.Errorf("String(%q) = %q, per rune %q", s, got, b)
		}
		if strings.ContainsAny(String(s), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("String(%q) = %q keeps upper-case ASCII", s, String(s))
		}
	}
	if String("plain ascii") != "plain ascii" || String("MiXeD") != "mixed" {
		t.Error("ASCII folding")
	}
}

func BenchmarkString(b *testing.B) {
	ascii := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)
	latin := strings.Repeat("Größere Übungen für Änderungen, café crème. ", 40)
	for _, tc := range []struct{ name, s string }{{"ascii", ascii}, {"latin", latin}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.s)))
			for b.Loop() {
				String(tc.s)
			}
		})
	}
}
