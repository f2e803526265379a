package mime

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestDecodeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"=?UTF-8?B?w5xiZXIgdW5zZXJlIEFuZ2Vib3Rl?=", "Über unsere Angebote"},
		{"=?iso-8859-1?q?this=20is=20some=20text?=", "this is some text"},
		{"=?ISO-8859-1?Q?a?= b", "a b"},
		{"=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a?=\r\n =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a_b?=", "a b"},
		{"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"},
		{"(=?ISO-8859-1?Q?a?=)", "(a)"},
		{"=?utf-8?q?J=C3=B6rg?=", "Jörg"},
		// A character split across two words.
		{"=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"},
		{"=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "é"},
		// Unknown charset: the octets are kept (UTF-8 where valid, else Latin-1).
		{"=?x-unknown?q?caf=E9?=", "café"},
		{"=?x-unknown?q?caf=C3=A9?=", "café"},
		// Malformed words stay as written.
		{"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
		{"a =? b ?= c", "a =? b ?= c"},
		{"=?utf-8?b?!!!?=", ""},
		{"=?utf-8*en?q?lang?=", "lang"},
		{"=?windows-1252?q?=80_sign?=", "€ sign"},
		{"=?koi8-r?b?8NLJ18XU?=", "Привет"},
		{"=?gb2312?b?xOO6ww==?=", "你好"},
		// Raw 8-bit: UTF-8 kept, other octets read as Latin-1.
		{"Gr\xfc\xdfe", "Grüße"},
		{"Grüße \xff", "Grüße ÿ"},
		{"=?utf-8?q?a?=\xe9", "aé"},
		{"=?utf-8?b?YWJj?=def", "abcdef"},
	}
	for _, tt := range tests {
		if got := DecodeHeader(tt.in); got != tt.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", `((NIL NIL "alice" "example.com"))`},
		{"Alice <alice@example.com>", `(("Alice" NIL "alice" "example.com"))`},
		{`"Doe, John" <john@example.com>, jane@example.com`, `(("Doe, John" NIL "john" "example.com")(NIL NIL "jane" "example.com"))`},
		{"john@example.com (John Doe)", `(("John Doe" NIL "john" "example.com"))`},
		{"<@a.example,@b.example:joe@example.com>", `((NIL "@a.example,@b.example" "joe" "example.com"))`},
		{"Group: a@x.example, b@x.example;", `((NIL NIL "Group" NIL)(NIL NIL "a" "x.example")(NIL NIL "b" "x.example")(NIL NIL NIL NIL))`},
		{"Group:;", `((NIL NIL "Group" NIL)(NIL NIL NIL NIL))`},
		{"Group: a@x.example", `((NIL NIL "Group" NIL)(NIL NIL "a" "x.example")(NIL NIL NIL NIL))`},
		{"undisclosed-recipients", `((NIL NIL "undisclosed-recipients" "MISSING_DOMAIN"))`},
		{"<>", `NIL`},
		{"Mailer <>", `(("Mailer" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))`},
		{"@example.com", `((NIL NIL "MISSING_MAILBOX" "example.com"))`},
		{`"john doe"@example.com`, `((NIL NIL "\"john doe\"" "example.com"))`},
		{"john . doe @ example . com", `((NIL NIL "john.doe" "example.com"))`},
		{"a@[192.0.2.1]", `((NIL NIL "a" "[192.0.2.1]"))`},
		{"=?utf-8?q?J=C3=B6rg?= <j@example.de>", `(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.de"))`},
		{"Missing Bracket <a@example.com, b@example.com", `(("Missing Bracket" NIL "a" "example.com")(NIL NIL "b" "example.com"))`},
		{"a@example.com b@example.com", `((NIL NIL "a" "example.com")(NIL NIL "b" "example.com"))`},
		{",,, a@example.com ,,", `((NIL NIL "a" "example.com"))`},
		{"Jörg Müller <jm@example.de>", `(("Jörg Müller" NIL "jm" "example.de"))`},
		{`"unterminated <a@example.com>`, `(("unterminated" NIL "a" "example.com"))`},
		{"<<<>>>@@@, kim@example.com", `((NIL NIL "kim" "example.com"))`},
		{"a@b@c, d@e", `((NIL NIL "a" "b")(NIL NIL "MISSING_MAILBOX" "c")(NIL NIL "d" "e"))`},
		{"(only a comment)", `NIL`},
		{"Joe Q. Public <john.q.public@example.com>", `(("Joe Q. Public" NIL "john.q.public" "example.com"))`},
		{"A: B: c@d;", `((NIL NIL "A" NIL)(NIL NIL "B" "MISSING_DOMAIN")(NIL NIL "c" "d")(NIL NIL NIL NIL))`},
	}
	for _, tt := range tests {
		if got := renderAddrs(ParseAddressList(tt.in)); got != tt.want {
			t.Errorf("ParseAddressList(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

const sampleHeader = "Subject: one\r\n" +
	"X-Long: first\r\n" +
	"  second\r\n" +
	"\tthird\r\n" +
	"from: a@b.example\r\n" +
	"junk line\r\n" +
	"To : c@d.example\r\n" +
	"Subject: two\r\n" +
	"\r\n"

func TestHeaderFields(t *testing.T) {
	got := HeaderFields([]byte(sampleHeader))
	want := []Field{{"Subject", "one"}, {"X-Long", "first  second\tthird"}, {"from", "a@b.example"}, {"To", "c@d.example"}, {"Subject", "two"}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	if v, ok := Header([]byte(sampleHeader), "SUBJECT"); !ok || v != "one" {
		t.Errorf("Header(SUBJECT) = %q %v", v, ok)
	}
	if _, ok := Header([]byte(sampleHeader), "Cc"); ok {
		t.Error("Header(Cc) found")
	}
	// Fields after the blank line are the body, not the header.
	if fs := HeaderFields([]byte("A: 1\r\n\r\nB: 2\r\n")); len(fs) != 1 {
		t.Errorf("read past the blank line: %q", fs)
	}
	// LF-only and no final line break.
	if fs := HeaderFields([]byte("A: 1\n b\nC: 3")); len(fs) != 2 || fs[0].Value != "1 b" || fs[1].Value != "3" {
		t.Errorf("LF-only: %q", fs)
	}
}

func TestFilterHeader(t *testing.T) {
	tests := []struct {
		fields []string
		not    bool
		want   string
	}{
		{[]string{"subject"}, false, "Subject: one\r\nSubject: two\r\n\r\n"},
		{[]string{"X-LONG", "From"}, false, "X-Long: first\r\n  second\r\n\tthird\r\nfrom: a@b.example\r\n\r\n"},
		{[]string{"to"}, false, "To : c@d.example\r\n\r\n"},
		{[]string{"Cc"}, false, "\r\n"},
		{[]string{"subject", "x-long"}, true, "from: a@b.example\r\nTo : c@d.example\r\n\r\n"},
		{nil, true, "Subject: one\r\nX-Long: first\r\n  second\r\n\tthird\r\nfrom: a@b.example\r\nTo : c@d.example\r\nSubject: two\r\n\r\n"},
	}
	for _, tt := range tests {
		if got := string(FilterHeader([]byte(sampleHeader), tt.fields, tt.not)); got != tt.want {
			t.Errorf("FilterHeader(%v, %v) = %q, want %q", tt.fields, tt.not, got, tt.want)
		}
	}
	if got := string(FilterHeader([]byte("A: 1"), []string{"a"}, false)); got != "A: 1\r\n\r\n" {
		t.Errorf("unterminated field: %q", got)
	}
}

func bodyText(t *testing.T, msg []byte) string {
	t.Helper()
	var b strings.Builder
	if err := BodyText(bytes.NewReader(msg), ParseBytes(msg), func(s string) bool {
		b.WriteString(s)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestBodyText(t *testing.T) {
	tests := []struct {
		file      string
		want, not []string
	}{
		{"alternative", []string{"Über unsere Angebote: sehr günstig, nur heute! Dies ist eine lange Zeile.", "<html><body>Über unsere Angebote</body></html>"}, []string{"=C3", "PGh0bWw"}},
		{"rfc2231", []string{"Grüße"}, []string{"aGVsbG8", "hello world"}},
		{"forward", []string{"See below.", "Subject: report", "From: Erin <erin@example.org>", "Numbers attached."}, []string{"JVBER", "Fwd: report"}},
		{"digest", []string{"Subject: one", "first message", "second message"}, nil},
		{"simple", []string{"are you free for lunch?"}, []string{"Lunch tomorrow"}},
	}
	for _, tt := range tests {
		text := bodyText(t, readMessage(t, tt.file))
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: text lacks %q:\n%s", tt.file, w, text)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(text, w) {
				t.Errorf("%s: text has %q", tt.file, w)
			}
		}
	}
}

func TestTextContains(t *testing.T) {
	msg := readMessage(t, "alternative")
	root := ParseBytes(msg)
	for needle, want := range map[string]bool{"GÜNSTIG": true, "über unsere": true, "lange zeile": true, "nicht da": false, "": true} {
		got, err := TextContains(bytes.NewReader(msg), root, needle)
		if err != nil || got != want {
			t.Errorf("TextContains(%q) = %v, %v", needle, got, err)
		}
	}
	// A match across the pieces BodyText hands out.
	long := strings.Repeat("a", textChunk-3) + "needle" + strings.Repeat("b", textChunk)
	msg = []byte("Content-Type: text/plain\r\n\r\n" + long)
	pieces := 0
	BodyText(bytes.NewReader(msg), ParseBytes(msg), func(string) bool { pieces++; return true })
	if pieces < 2 {
		t.Fatalf("one piece only")
	}
	if ok, _ := TextContains(bytes.NewReader(msg), ParseBytes(msg), "NEEDLE"); !ok {
		t.Error("match spanning pieces not found")
	}
	// Stopping early.
	calls := 0
	BodyText(bytes.NewReader(msg), ParseBytes(msg), func(string) bool { calls++; return false })
	if calls != 1 {
		t.Errorf("fn called %d times after returning false", calls)
	}
}

func TestBodyTextCharsets(t *testing.T) {
	tests := []struct {
		ctype, cte, body, want string
	}{
		{"text/plain; charset=iso-8859-1", "quoted-printable", "caf=E9 cr=E8me=\r\n br=FBl=E9e", "café crème brûlée"},
		{"text/plain; charset=utf-8", "base64", "Y2Fmw6kgY3LDqG1l\r\nIGJyw7tsw6ll", "café crème brûlée"},
		{"text/plain; charset=x-bogus", "8bit", "caf\xe9 \xc3\xa9", "café é"},
		{"text/plain; charset=utf-8", "8bit", "bad \xff utf-8", "bad ÿ utf-8"},
		{"text/plain; charset=shift_jis", "8bit", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd", "こんにちは"},
		{"text/plain", "x-unknown", "raw text", "raw text"},
		{"image/png", "base64", "aGVsbG8=", ""},
	}
	for _, tt := range tests {
		msg := []byte("Content-Type: " + tt.ctype + "\r\nContent-Transfer-Encoding: " + tt.cte + "\r\n\r\n" + tt.body)
		if got := bodyText(t, msg); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.ctype, tt.cte, got, tt.want)
		}
	}
}

func TestBinarySection(t *testing.T) {
	tests := []struct {
		cte, body, want string
		err             error
	}{
		{"base64", "aGVs\r\nbG8g\r\nd29y bGQ=\r\n", "hello world", nil},
		{"BASE64", "aGVsbG8", "hello", nil},
		{"base64", "aGVs!!bG8=", "hello", nil},
		{"base64", "aGVsbG8=\r\nIHdvcmxk\r\n", "hello world", nil},
		{"quoted-printable", "a=3Db=\r\nc  \r\nd=XY=\r\n", "a=bc\r\nd=XY", nil},
		{"quoted-printable", "tr=C3=A8s", "très", nil},
		{"7bit", "as is\r\n", "as is\r\n", nil},
		{"binary", "\x00\x01", "\x00\x01", nil},
		{"x-uuencode", "begin 644", "", ErrUnknownCTE},
	}
	for _, tt := range tests {
		msg := []byte("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: " + tt.cte + "\r\n\r\n" + tt.body)
		p := ParseBytes(msg)
		r, err := BinarySection(bytes.NewReader(msg), p)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.cte, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		got, _ := io.ReadAll(r)
		if string(got) != tt.want {
			t.Errorf("%s: %q, want %q", tt.cte, got, tt.want)
		}
		if n, err := BinarySize(bytes.NewReader(msg), p); err != nil || n != int64(len(tt.want)) {
			t.Errorf("%s: BinarySize %d, %v", tt.cte, n, err)
		}
	}
	// A long base64 body decodes across buffer boundaries.
	raw := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	var enc bytes.Buffer
	w := base64Lines(&enc)
	w.Write(raw)
	w.Close()
	msg := append([]byte("Content-Transfer-Encoding: base64\r\n\r\n"), enc.Bytes()...)
	r, _ := BinarySection(bytes.NewReader(msg), ParseBytes(msg))
	got, _ := io.ReadAll(r)
	if !bytes.Equal(got, raw) {
		t.Errorf("long base64: %d octets, want %d", len(got), len(raw))
	}
}

// TestLenientReaderSplits checks that multi-byte characters split across
// reads survive, and invalid octets become Latin-1 characters.
func TestLenientReaderSplits(t *testing.T) {
	for _, prefix := range []string{"", "a", "ab", "abc"} {
		in := prefix + strings.Repeat("é€😀", 3000) + "\xff" + strings.Repeat("ü", 3000)
		want := prefix + strings.Repeat("é€😀", 3000) + "ÿ" + strings.Repeat("ü", 3000)
		got, err := io.ReadAll(&lenientReader{r: &oneByteAtEnd{r: strings.NewReader(in)}})
		if err != nil || string(got) != want {
			t.Fatalf("prefix %q: %d octets, want %d (%v)", prefix, len(got), len(want), err)
		}
	}
}

// oneByteAtEnd returns short reads of odd sizes to split characters.
type oneByteAtEnd struct {
	r io.Reader
	n int
}

func (o *oneByteAtEnd) Read(p []byte) (int, error) {
	o.n++
	return o.r.Read(p[:min(len(p), 1+o.n%7*613)])
}

// TestHostileHeadersAreLinear guards against quadratic behaviour on junk.
func TestHostileHeadersAreLinear(t *testing.T) {
	inputs := []string{
		strings.Repeat("=?", 200000),
		strings.Repeat("=?a?q?", 100000),
		strings.Repeat("<@", 200000),
		strings.Repeat("a@[", 100000),
		strings.Repeat("\"", 100001),
		strings.Repeat("(", 200000),
		strings.Repeat("a:", 100000),
	}
	for _, in := range inputs {
		for name, fn := range map[string]func(){
			"DecodeHeader":     func() { DecodeHeader(in) },
			"ParseAddressList": func() { ParseAddressList(in) },
			"parseContentType": func() { parseContentType("text/plain; " + in) },
		} {
			start := time.Now()
			fn()
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s(%.10q...): %v", name, in, d)
			}
		}
	}
}

// TestLenientReaderMatchesWhole: whatever the reads, the stream comes out
// as lenientUTF8 converts the whole input at once (a held-back sequence
// starts at a lead octet, which no valid character spans), for random
// mixes of ASCII, valid multi-octet characters, stray continuation and
// lead octets, and truncated sequences.
func TestLenientReaderMatchesWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	pieces := []string{"a", "line\r\n", "é", "€", "😀", "\xff", "\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", strings.Repeat("x", 700)}
	for i := range 2000 {
		var b strings.Builder
		size := rng.IntN(3 * lenientReadSize)
		for b.Len() < size {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		in := b.String()
		want := lenientUTF8([]byte(in))
		readers := []io.Reader{
			strings.NewReader(in),
			&oneByteAtEnd{r: strings.NewReader(in)},
			iotest.OneByteReader(strings.NewReader(in)),
			iotest.DataErrReader(iotest.HalfReader(strings.NewReader(in))),
		}
		for k, r := range readers {
			got, err := io.ReadAll(&lenientReader{r: r})
			if err != nil || string(got) != want {
				t.Fatalf("input %d (%d octets), reader %d: %d octets out, want %d (%v)", i, len(in), k, len(got), len(want), err)
			}
		}
	}
}
