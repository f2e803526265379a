package webmail

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// WCAG 2.1 contrast (success criteria 1.4.3 and 1.4.11): every pair of
// text and background colour the page's CSS puts together, with the
// ratio it must reach, and the colours used only for borders and shadows.
// Every colour literal in app.css must appear here, so a new colour cannot
// slip in unchecked.

type pair struct {
	fg, bg, where string
	min           float64
}

var textPairs = []pair{
	{"#1b1b1b", "#fff", "body text", 4.5},
	{"#1b1b1b", "#eef2f7", "text on the login page and the selection bar", 4.5},
	{"#1b1b1b", "#dde7f5", "the current folder, message and conversation entry", 4.5},
	{"#1b1b1b", "#fff6d6", "the remote-images note", 4.5},
	{"#fff", "#1d4f91", "buttons, the header", 4.5},
	{"#fff", "#6b6b6b", "disabled buttons (exempt, kept readable)", 4.5},
	{"#fff", "#4a4a4a", "the conversation size badge", 4.5},
	{"#1d4f91", "#fff", "secondary buttons, header buttons, attachment links, unread counts, skip link", 4.5},
	{"#1d4f91", "#dde7f5", "the unread count of the current folder", 4.5},
	{"#444", "#fff", "sender, date, status, header names, previews", 4.5},
	{"#444", "#dde7f5", "sender and date of the current message", 4.5},
	{"#595959", "#fff", "a row still loading", 4.5},
	{"#a00000", "#fff", "error messages", 4.5},
	{"#8a4a00", "#fff", "the flag star", 4.5},
	{"#8a4a00", "#dde7f5", "the flag star of the current message", 4.5},
	// Non-text (1.4.11): the focus ring against what it surrounds.
	{"#1d4f91", "#fff", "focus ring on white", 3},
	{"#1d4f91", "#eef2f7", "focus ring on the selection bar", 3},
	{"#fff", "#1d4f91", "focus ring in the header", 3},
}

// decorative colours carry no information: separators, borders next to
// text that has its own contrast, the help panel's shadow.
var decorative = []string{"#ddd", "#e4e4e4", "#d8b84a", "#888", "#767676", "#0004"}

func luminance(hex string) float64 {
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 || len(h) == 4 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		s := float64(v) / 255
		if s <= 0.04045 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrast(t *testing.T) {
	known := map[string]bool{}
	for _, p := range textPairs {
		r := contrast(p.fg, p.bg)
		t.Logf("%-8s on %-8s %5.2f:1  %s", p.fg, p.bg, r, p.where)
		if r < p.min {
			t.Errorf("%s on %s (%s): %.2f:1, want at least %.1f:1", p.fg, p.bg, p.where, r, p.min)
		}
		known[p.fg], known[p.bg] = true, true
	}
	for _, c := range decorative {
		known[c] = true
	}
	css, err := files.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range regexp.MustCompile(`#[0-9a-fA-F]{3,8}\b`).FindAllString(string(css), -1) {
		if !known[strings.ToLower(c)] {
			t.Errorf("app.css uses %s, which TestContrast does not check: add its text/background pairs", c)
		}
	}
}
