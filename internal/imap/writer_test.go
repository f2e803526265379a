package imap

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
	"time"
)

// render runs fn on a Writer and returns what it wrote.
func render(utf8 bool, fn func(w *Writer)) string {
	var buf bytes.Buffer
	w := NewWriter(bufio.NewWriter(&buf))
	w.SetUTF8(utf8)
	fn(w)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.String()
}

func TestWriterStrings(t *testing.T) {
	tests := []struct {
		in        string
		utf8      bool
		str, astr string
	}{
		{"abc", false, `"abc"`, "abc"},
		{"", false, `""`, `""`},
		{`a"b\c`, false, `"a\"b\\c"`, `"a\"b\\c"`},
		{"a b", false, `"a b"`, `"a b"`},
		{"NIL", false, `"NIL"`, "NIL"},
		{"x]", false, `"x]"`, "x]"},
		{"a(b", false, `"a(b"`, `"a(b"`},
		{"line\r\nnext", false, "{10}\r\nline\r\nnext", "{10}\r\nline\r\nnext"},
		{"café", false, "{5}\r\ncafé", "{5}\r\ncafé"},
		{"café", true, `"café"`, `"café"`},
		{"bad\xff", true, "{4}\r\nbad\xff", "{4}\r\nbad\xff"},
	}
	for _, tt := range tests {
		if got := render(tt.utf8, func(w *Writer) { w.String(tt.in) }); got != tt.str {
			t.Errorf("String(%q, utf8=%v) = %q, want %q", tt.in, tt.utf8, got, tt.str)
		}
		if got := render(tt.utf8, func(w *Writer) { w.AString(tt.in) }); got != tt.astr {
			t.Errorf("AString(%q, utf8=%v) = %q, want %q", tt.in, tt.utf8, got, tt.astr)
		}
	}
	if got := render(false, func(w *Writer) { w.NString(""); w.SP(); w.NString("x") }); got != `NIL "x"` {
		t.Errorf("NString: %q", got)
	}
}

func TestWriterPieces(t *testing.T) {
	zone := time.FixedZone("", 2*3600)
	tests := []struct {
		name string
		utf8 bool
		fn   func(w *Writer)
		want string
	}{
		{"status with code", false, func(w *Writer) { w.WriteStatus("a1", "OK", "READ-WRITE", "SELECT completed") }, "a1 OK [READ-WRITE] SELECT completed\r\n"},
		{"untagged status", false, func(w *Writer) { w.WriteStatus("", "OK", "", "ready") }, "* OK ready\r\n"},
		{"status text sanitised", false, func(w *Writer) { w.WriteStatus("a", "BAD", "", "x\r\ny") }, "a BAD x  y\r\n"},
		{"status without text", false, func(w *Writer) { w.WriteStatus("a", "NO", "TOOBIG", "") }, "a NO [TOOBIG] NO\r\n"},
		{"untagged line", false, func(w *Writer) { w.Untagged("3 EXISTS") }, "* 3 EXISTS\r\n"},
		{"continuation", false, func(w *Writer) { w.Continuation("") }, "+ Ready\r\n"},
		{"sasl challenge", false, func(w *Writer) { w.SASLChallenge(nil); w.SASLChallenge([]byte("hi")) }, "+ \r\n+ aGk=\r\n"},
		{"flags", false, func(w *Writer) { w.Flags([]string{`\Seen`, "$Junk"}); w.Flags(nil) }, `(\Seen $Junk)()`},
		{"seqset", false, func(w *Writer) { w.SeqSet(SeqSetFromNumbers([]uint32{1, 2, 3, 7})) }, "1:3,7"},
		{"mailbox mUTF-7", false, func(w *Writer) { w.Mailbox("Entwürfe/a&b") }, `"Entw&APw-rfe/a&-b"`},
		{"mailbox UTF-8", true, func(w *Writer) { w.Mailbox("Entwürfe") }, `"Entwürfe"`},
		{"mailbox inbox", false, func(w *Writer) { w.Mailbox("inbox") }, `"INBOX"`},
		{"mailbox quoting", false, func(w *Writer) { w.Mailbox(`a"b`) }, `"a\"b"`},
		{"date-time", false, func(w *Writer) { w.DateTime(time.Date(2024, 3, 5, 9, 7, 1, 0, zone)) }, `" 5-Mar-2024 09:07:01 +0200"`},
		{"literal", false, func(w *Writer) { w.Literal([]byte("ab")) }, "{2}\r\nab"},
		{"literal8 header", false, func(w *Writer) { w.LiteralHeader(3, true) }, "~{3}\r\n"},
		{"numbers and lists", false, func(w *Writer) {
			w.StartUntagged()
			w.Number(12)
			w.SP()
			w.Atom("FETCH")
			w.SP()
			w.OpenList()
			w.Atom("UID")
			w.SP()
			w.Number(1 << 40)
			w.SP()
			w.Nil()
			w.CloseList()
			w.CRLF()
		}, "* 12 FETCH (UID 1099511627776 NIL)\r\n"},
	}
	for _, tt := range tests {
		if got := render(tt.utf8, tt.fn); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriterStickyError(t *testing.T) {
	w := NewWriter(failingWriter{})
	for i := 0; i < 2000; i++ { // more than the large buffer holds
		w.WriteStatus("a", "OK", "", "some text that overflows the buffer")
	}
	if w.Err() == nil {
		t.Fatal("write error of a full buffer lost")
	}
	if w.Flush() == nil || w.Err() == nil {
		t.Fatal("write error lost")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after error succeeded")
	}
}
