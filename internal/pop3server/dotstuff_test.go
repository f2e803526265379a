package pop3server

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// writeChunks writes in to w in pieces of size n (n=0: all at once), to
// prove the state carries across writes.
func writeChunks(t *testing.T, w io.Writer, in string, n int) error {
	t.Helper()
	if n == 0 {
		n = len(in) + 1
	}
	for len(in) > 0 {
		k := min(n, len(in))
		if _, err := w.Write([]byte(in[:k])); err != nil {
			return err
		}
		in = in[k:]
	}
	return nil
}

func TestDotWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n"},
		{".start", "..start\r\n.\r\n"},
		{"no end", "no end\r\n.\r\n"},
		{"a.b\r\n x.\r\n", "a.b\r\n x.\r\n.\r\n"},
		{"bare\n.lf\n", "bare\n..lf\n.\r\n"},
	} {
		for _, chunk := range []int{0, 1, 2, 3} {
			var buf bytes.Buffer
			dw := newDotWriter(&buf)
			if err := writeChunks(t, dw, tc.in, chunk); err != nil {
				t.Fatal(err)
			}
			if err := dw.Close(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("dot-stuff %q (chunks of %d) = %q, want %q", tc.in, chunk, buf.String(), tc.want)
			}
		}
	}
}

func TestTopWriter(t *testing.T) {
	const msg = "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n\r\nl4\r\n"
	for _, tc := range []struct {
		in    string
		lines int
		want  string
	}{
		{msg, 0, "A: 1\r\nB: 2\r\n\r\n"},
		{msg, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n"},
		{msg, 3, "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n\r\n"},
		{msg, 4, msg},
		{msg, 100, msg},
		{"A: 1\r\n", 3, "A: 1\r\n"},
		{"\r\nbody\r\n", 0, "\r\n"},
		{"A: 1\n\nx\ny\n", 1, "A: 1\n\nx\n"},
		{"A: 1\r\n\r\nno end", 5, "A: 1\r\n\r\nno end"},
	} {
		for _, chunk := range []int{0, 1, 2, 5} {
			var buf bytes.Buffer
			tw := newTopWriter(&buf, tc.lines)
			err := writeChunks(t, tw, tc.in, chunk)
			if err != nil && !errors.Is(err, errTopDone) {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("TOP %d of %q (chunks of %d) = %q, want %q", tc.lines, tc.in, chunk, buf.String(), tc.want)
			}
		}
	}
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true}, {"0", 0, true}, {"007", 7, true}, {"999999999", 999999999, true},
		{"", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1x", 0, false},
		{"1234567890", 0, false}, {" 1", 0, false}, {"١", 0, false},
	} {
		got, ok := parseNumber(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseNumber(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
