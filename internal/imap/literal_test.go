package imap

import (
	"os"
	"strings"
	"testing"
)

func TestLiteralLimits(t *testing.T) {
	limit := func(cmd string) int64 {
		if cmd == "APPEND" {
			return 100
		}
		return 10
	}
	tests := []struct {
		name      string
		in        string
		opts      ReaderOptions
		conts     int // continuations expected before the error
		code      string
		no, fatal bool
	}{
		{"sync over limit: NO TOOBIG, literal never sent", "a LOGIN {11}\r\n", ReaderOptions{}, 0, "TOOBIG", true, false},
		{"APPEND sync over limit", "a APPEND INBOX {101}\r\n", ReaderOptions{}, 0, "TOOBIG", true, false},
		{"non-sync over limit: BAD TOOBIG, literal discarded", "a LOGIN {11+}\r\n01234567890 x\r\n", ReaderOptions{}, 0, "TOOBIG", false, false},
		{"LITERAL- refuses non-sync above 4096", "a APPEND INBOX {4097+}\r\n" + strings.Repeat("x", 4097) + "\r\n",
			ReaderOptions{LiteralMinus: true, LiteralLimit: func(string) int64 { return 10000 }}, 0, "TOOBIG", false, false},
		{"literal too large to discard: fatal", "a LOGIN {999999999999+}\r\n", ReaderOptions{}, 0, "TOOBIG", false, true},
		{"literal size overflow: fatal", "a LOGIN {99999999999999999999}\r\n", ReaderOptions{}, 0, "", false, true},
		{"parse error after an accepted literal", "a LOGIN {1}\r\nx {2+}\r\nyy {1+}\r\nz\r\n", ReaderOptions{}, 1, "", false, false},
		{"parse error before a non-sync literal", "a BOGUS {3+}\r\nabc\r\n", ReaderOptions{}, 0, "", false, false},
		{"parse error before a sync literal", "a BOGUS {3}\r\n", ReaderOptions{}, 0, "", false, false},
		{"literal not at end of line", "a LOGIN {1} x\r\n", ReaderOptions{}, 0, "", false, false},
		{"command too long (lines)", "a SEARCH TEXT {9}\r\n012345678 TEXT {9}\r\n",
			ReaderOptions{MaxCommandSize: 30}, 1, "", false, false},
		{"command too long (literal)", "a SEARCH TEXT {9}\r\n012345678 TEXT {20}\r\n",
			ReaderOptions{MaxCommandSize: 50}, 1, "TOOBIG", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conts := 0
			opts := tt.opts
			if opts.LiteralLimit == nil {
				opts.LiteralLimit = limit
			}
			opts.Continue = func() error { conts++; return nil }
			r := newTestReader(tt.in+"next NOOP\r\n", opts)
			_, err := r.ReadCommand()
			pe := checkParseError(t, err, "a")
			if pe.Code != tt.code || pe.NO != tt.no || pe.Fatal != tt.fatal {
				t.Errorf("got %+v", pe)
			}
			if conts != tt.conts {
				t.Errorf("continuations = %d, want %d", conts, tt.conts)
			}
			if tt.fatal {
				return
			}
			if c := mustRead(t, r); c.Tag != "next" {
				t.Errorf("after error: %+v", c)
			}
		})
	}
}

func TestLiteralKinds(t *testing.T) {
	conts := 0
	r := newTestReader("a LOGIN {3}\r\nbob {2+}\r\npw\r\nb LOGIN ~{1}\r\nx y\r\n",
		ReaderOptions{Continue: func() error { conts++; return nil }})
	a := mustRead(t, r).Args.(*LoginArgs)
	if a.Username != "bob" || a.Password != "pw" || conts != 1 {
		t.Errorf("got %+v, %d continuations", a, conts)
	}
	// literal8 is only for APPEND (and later CATENATE).
	_, err := r.ReadCommand()
	checkParseError(t, err, "b")
}

func TestSpooledLiteral(t *testing.T) {
	dir := t.TempDir()
	body := strings.Repeat("0123456789", 100)
	r := newTestReader("a APPEND INBOX {1000+}\r\n"+body+"\r\nb APPEND INBOX {1000+}\r\n"+body+" junk\r\n",
		ReaderOptions{SpoolThreshold: 10, SpoolDir: dir, LiteralLimit: func(string) int64 { return 5000 }})
	c := mustRead(t, r)
	lit := c.Args.(*AppendArgs).Messages[0].Literal
	if lit.file == nil {
		t.Fatal("literal not spooled")
	}
	got, err := lit.Bytes()
	if err != nil || string(got) != body {
		t.Fatalf("spooled content differs: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("spool dir has %d files, want 1", len(entries))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// A failed command removes its spool file itself.
	_, err = r.ReadCommand()
	checkParseError(t, err, "b")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("spool dir has %d files after close, want 0", len(entries))
	}
}

func TestLongLines(t *testing.T) {
	opts := ReaderOptions{MaxLineLength: 50}
	long := "a SEARCH TEXT " + strings.Repeat("x", 200)
	r := newTestReader(long+"\r\n"+long+" {5+}\r\nabcde\r\nnext NOOP\r\n", opts)
	for i := 0; i < 2; i++ {
		_, err := r.ReadCommand()
		checkParseError(t, err, "a")
	}
	if c := mustRead(t, r); c.Tag != "next" {
		t.Errorf("after long lines: %+v", c)
	}
	// A literal may be larger than a line.
	r = newTestReader("a LOGIN {60}\r\n"+strings.Repeat("y", 60)+" p\r\n", opts)
	if c := mustRead(t, r); len(c.Args.(*LoginArgs).Username) != 60 {
		t.Errorf("literal: %+v", c.Args)
	}
}

func TestLineLengthBoundary(t *testing.T) {
	opts := ReaderOptions{MaxLineLength: 20}
	ok := "a LOGIN " + strings.Repeat("u", 10) + " p" // 20 octets
	if c, err := newTestReader(ok+"\r\n", opts).ReadCommand(); err != nil || c.Name != "LOGIN" {
		t.Fatalf("line of exactly MaxLineLength: %v", err)
	}
	for _, eol := range []string{"\r\n", "\n"} {
		_, err := newTestReader(ok+"x"+eol, opts).ReadCommand()
		checkParseError(t, err, "a")
	}
}

func TestPanicBecomesFatalError(t *testing.T) {
	// A panic below ReadCommand (here from the Continue callback) must not
	// escape: it becomes a fatal ParseError carrying the tag.
	r := newTestReader("a LOGIN {1}\r\nx y\r\n", ReaderOptions{Continue: func() error { panic("boom") }})
	_, err := r.ReadCommand()
	pe := checkParseError(t, err, "a")
	if !pe.Fatal || !strings.HasPrefix(pe.Msg, internalErrorPrefix) {
		t.Errorf("got %+v", pe)
	}
}
