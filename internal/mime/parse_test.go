package mime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func readMessage(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/messages/" + name + ".eml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkInvariants verifies what doc.go promises about every parsed tree.
func checkInvariants(t testing.TB, root *Part, size int64) {
	t.Helper()
	if root.Envelope == nil {
		t.Fatal("root without Envelope")
	}
	if root.HeaderStart != 0 || root.End != size {
		t.Fatalf("root spans [%d,%d), message has %d octets", root.HeaderStart, root.End, size)
	}
	var check func(p *Part, lo, hi int64)
	check = func(p *Part, lo, hi int64) {
		if !(lo <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= hi) {
			t.Fatalf("bad offsets %d %d %d outside [%d,%d)", p.HeaderStart, p.BodyStart, p.End, lo, hi)
		}
		if p.Size != p.End-p.BodyStart {
			t.Fatalf("Size %d for body [%d,%d)", p.Size, p.BodyStart, p.End)
		}
		if p.Type == "" || p.Subtype == "" || p.Type != strings.ToLower(p.Type) || p.Subtype != strings.ToLower(p.Subtype) {
			t.Fatalf("bad type %q/%q", p.Type, p.Subtype)
		}
		if p.Encoding == "" || p.Encoding != strings.ToUpper(p.Encoding) {
			t.Fatalf("bad encoding %q", p.Encoding)
		}
		if p.IsMultipart() && len(p.Parts) == 0 {
			t.Fatal("multipart without children")
		}
		if p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") && (p.Message == nil || p.Message.Envelope == nil) {
			t.Fatal("message/rfc822 without embedded message and envelope")
		}
		prev := p.BodyStart
		for _, c := range p.Parts {
			check(c, prev, p.End)
			prev = c.End
		}
		if p.Message != nil {
			if p.Message.HeaderStart != p.BodyStart || p.Message.End != p.End {
				t.Fatalf("embedded message [%d,%d) is not the body [%d,%d)", p.Message.HeaderStart, p.Message.End, p.BodyStart, p.End)
			}
			check(p.Message, p.BodyStart, p.End)
		}
		for _, as := range envelopeLists(p.Envelope) {
			for _, a := range as {
				if a.Host == "" && a.Mailbox == "" && (a.Name != "" || a.ADL != "") {
					t.Fatalf("ambiguous address %+v", a)
				}
			}
		}
	}
	check(root, 0, size)
}

func envelopeLists(e *Envelope) [][]Address {
	if e == nil {
		return nil
	}
	return [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc}
}

// sectionOf returns a function giving the text of a range of msg.
func sectionOf(msg []byte) func(Range, bool) string {
	return func(r Range, ok bool) string {
		if !ok {
			return "<none>"
		}
		return string(msg[r.Start:r.End])
	}
}

func TestSections(t *testing.T) {
	msg := readMessage(t, "forward")
	root := ParseBytes(msg)
	checkInvariants(t, root, int64(len(msg)))
	tests := []struct {
		spec string
		path []int
		want string
	}{
		{"", nil, string(msg)},
		{"", []int{1}, "See below.\r\n"},
		{"", []int{2, 1}, "Numbers attached."},
		{"", []int{2, 2}, "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0\r\nZURlY29kZT4+CnN0cmVhbQo="},
		{"", []int{3}, "<none>"},
		{"", []int{2, 3}, "<none>"},
		{"", []int{1, 1}, "<none>"},
		{"", []int{0}, "<none>"},
		{"MIME", []int{1}, "Content-Type: text/plain; charset=us-ascii\r\n\r\n"},
		{"MIME", []int{2, 1}, "Content-Type: text/plain\r\n\r\n"},
		{"MIME", nil, "<none>"},
		{"HEADER", []int{1}, "<none>"},
		{"TEXT", []int{2, 2}, "<none>"},
		{"TEXT", []int{2}, "--inner\r\nContent-Type: text/plain\r\n\r\nNumbers attached.\r\n--inner\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <part1.report@example.org>\r\nContent-Description: Quarterly report\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0\r\nZURlY29kZT4+CnN0cmVhbQo=\r\n--inner--\r\n"},
	}
	for _, tt := range tests {
		var got string
		switch tt.spec {
		case "":
			got = sectionOf(msg)(root.BodyRange(tt.path))
		case "MIME":
			got = sectionOf(msg)(root.MIMERange(tt.path))
		case "HEADER":
			got = sectionOf(msg)(root.HeaderRange(tt.path))
		case "TEXT":
			got = sectionOf(msg)(root.TextRange(tt.path))
		}
		if got != tt.want {
			t.Errorf("BODY[%v.%s] = %q, want %q", tt.path, tt.spec, got, tt.want)
		}
	}
	hdr := sectionOf(msg)(root.HeaderRange([]int{2}))
	if !strings.HasPrefix(hdr, "From: Erin") || !strings.HasSuffix(hdr, "boundary=\"inner\"\r\n\r\n") {
		t.Errorf("BODY[2.HEADER] = %q", hdr)
	}
	whole := sectionOf(msg)(root.BodyRange([]int{2}))
	if !strings.HasPrefix(whole, "From: Erin") || !strings.HasSuffix(whole, "--inner--\r\n") {
		t.Errorf("BODY[2] = %q", whole)
	}
	if h := sectionOf(msg)(root.HeaderRange(nil)); !strings.HasPrefix(h, "From: Carol") || !strings.HasSuffix(h, "boundary=outer\r\n\r\n") {
		t.Errorf("BODY[HEADER] = %q", h)
	}
}

func TestFindSinglePart(t *testing.T) {
	msg := readMessage(t, "simple")
	root := ParseBytes(msg)
	if root.Find([]int{1}) != root {
		t.Fatal("part 1 of a non-multipart message is not its body")
	}
	if root.Find([]int{2}) != nil || root.Find([]int{1, 1}) != nil {
		t.Fatal("found parts that do not exist")
	}
	if got := sectionOf(msg)(root.BodyRange([]int{1})); got != "Hi Bob,\r\nare you free for lunch?\r\n" {
		t.Fatalf("BODY[1] = %q", got)
	}
	if got := sectionOf(msg)(root.MIMERange([]int{1})); !strings.HasPrefix(got, "Return-Path:") {
		t.Fatalf("BODY[1.MIME] = %q", got)
	}

	// A message whose body is a message: 1 is the embedded message, 1.1 its body.
	inner := "Subject: inner\r\n\r\ninner body\r\n"
	outer := []byte("Subject: outer\r\nContent-Type: message/rfc822\r\n\r\n" + inner)
	root = ParseBytes(outer)
	checkInvariants(t, root, int64(len(outer)))
	if got := sectionOf(outer)(root.BodyRange([]int{1})); got != inner {
		t.Fatalf("BODY[1] = %q", got)
	}
	if got := sectionOf(outer)(root.BodyRange([]int{1, 1})); got != "inner body\r\n" {
		t.Fatalf("BODY[1.1] = %q", got)
	}
	if got := sectionOf(outer)(root.HeaderRange([]int{1})); got != "Subject: inner\r\n\r\n" {
		t.Fatalf("BODY[1.HEADER] = %q", got)
	}
	if root.Message.Envelope.Subject != "inner" {
		t.Fatalf("embedded subject %q", root.Message.Envelope.Subject)
	}
}

func TestDigestSections(t *testing.T) {
	msg := readMessage(t, "digest")
	root := ParseBytes(msg)
	if got := sectionOf(msg)(root.BodyRange([]int{1, 1})); got != "first message" {
		t.Fatalf("BODY[1.1] = %q", got)
	}
	if got := sectionOf(msg)(root.HeaderRange([]int{2})); got != "From: b@example.com\r\nSubject: two\r\n\r\n" {
		t.Fatalf("BODY[2.HEADER] = %q", got)
	}
}

// TestLFOnly checks that bare-LF input gives the same tree shape.
func TestLFOnly(t *testing.T) {
	for _, name := range []string{"forward", "alternative", "related", "digest", "trailing"} {
		crlf := readMessage(t, name)
		lf := bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n"))
		a, b := ParseBytes(crlf), ParseBytes(lf)
		checkInvariants(t, b, int64(len(lf)))
		if shape(a) != shape(b) {
			t.Errorf("%s: LF-only shape\n%s\nCRLF shape\n%s", name, shape(b), shape(a))
		}
		if renderEnvelope(a.Envelope) != renderEnvelope(b.Envelope) {
			t.Errorf("%s: envelopes differ", name)
		}
	}
}

// shape is the tree of types and line counts, without octet counts.
func shape(p *Part) string {
	s := p.Type + "/" + p.Subtype + fmt.Sprintf("[%d]", p.Lines)
	for _, c := range p.Parts {
		s += "(" + shape(c) + ")"
	}
	if p.Message != nil {
		s += "{" + shape(p.Message) + "}"
	}
	return s
}

func TestHugeHeaderLines(t *testing.T) {
	junk := strings.Repeat("x", 3<<20)
	msg := []byte("X-Junk: " + junk + "\r\nSubject: still here\r\nContent-Type: text/plain\r\n\r\nbody " + junk + "\r\n")
	p := ParseBytes(msg)
	checkInvariants(t, p, int64(len(msg)))
	if p.Envelope.Subject != "still here" {
		t.Fatalf("Subject = %q", p.Envelope.Subject)
	}
	if p.Lines != 1 || p.Size != int64(len("body "+junk+"\r\n")) {
		t.Fatalf("lines %d size %d", p.Lines, p.Size)
	}

	// A huge Subject is kept (truncated to maxFieldLen), the rest still parsed.
	msg = []byte("Subject: " + junk + "\r\nFrom: a@b.example\r\n\r\nx")
	p = ParseBytes(msg)
	if len(p.Envelope.Subject) < maxFieldLen-len("Subject: ") || len(p.Envelope.From) != 1 {
		t.Fatalf("Subject of %d octets, From %v", len(p.Envelope.Subject), p.Envelope.From)
	}
}

func TestDepthLimit(t *testing.T) {
	var b strings.Builder
	const n = 3 * MaxDepth
	for i := range n {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("\r\ndeep\r\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	for i := range n {
		b.WriteString("Content-Type: message/rfc822\r\nSubject: level " + fmt.Sprint(i) + "\r\n\r\n")
	}
	msg := []byte(b.String())
	p := ParseBytes(msg)
	checkInvariants(t, p, int64(len(msg)))
	depth := 0
	for q := p; q != nil; depth++ {
		switch {
		case len(q.Parts) > 0:
			q = q.Parts[0]
		case q.Message != nil:
			q = q.Message
		default:
			q = nil
		}
	}
	if depth > MaxDepth+2 {
		t.Fatalf("descended %d levels", depth)
	}
	if _, err := Decode(p.Encode()); err != nil {
		t.Fatal(err)
	}

	// Embedded messages nest the same way.
	msg = []byte(strings.Repeat("Content-Type: message/rfc822\r\n\r\n", n) + "Subject: bottom\r\n\r\nx")
	p = ParseBytes(msg)
	checkInvariants(t, p, int64(len(msg)))
	if _, err := Decode(p.Encode()); err != nil {
		t.Fatal(err)
	}
}

func TestBrokenStructures(t *testing.T) {
	tests := []struct {
		name, msg, shape string
	}{
		{"empty", "", "text/plain[0]"},
		{"no blank line", "Subject: x", "text/plain[0]"},
		{"body only", "\r\nhello\r\n", "text/plain[1]"},
		{"boundary in header", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n--b--\r\n", "multipart/mixed[0](text/html[0])"},
		{"boundary never closes", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\na\r\n--b\r\n\r\nb\r\n", "multipart/mixed[0](text/plain[0])(text/plain[1])"},
		{"boundary never appears", "Content-Type: multipart/mixed; boundary=b\r\n\r\nline1\r\nline2\r\n", "multipart/mixed[0](text/plain[2])"},
		{"outer boundary ends inner", "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\nx\r\n--o\r\n\r\ny\r\n--o--\r\n",
			"multipart/mixed[0](multipart/alternative[0](text/plain[0]))(text/plain[0])"},
		{"prefix boundaries", "Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\nContent-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\n\r\n1\r\n--abc--\r\n--ab\r\n\r\n2\r\n--ab--\r\n",
			"multipart/mixed[0](multipart/mixed[0](text/plain[0]))(text/plain[0])"},
		{"uppercase type", "Content-Type: TEXT/HTML; CHARSET=UTF-8\r\n\r\n<p>", "text/html[0]"},
		{"8-bit junk", "Subject: \xff\xfe\x00junk\r\nContent-Type: text/plain; charset=\"\xe9\xe9\"\r\n\r\n\xff\x00\r\n", "text/plain[1]"},
		{"rfc822 at end of multipart", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n--b--\r\n", "multipart/mixed[0](message/rfc822[0]{text/plain[0]})"},
		{"whitespace after boundary", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \r\n\r\nx\r\n--b-- \t\r\n", "multipart/mixed[0](text/plain[0])"},
	}
	for _, tt := range tests {
		p := ParseBytes([]byte(tt.msg))
		checkInvariants(t, p, int64(len(tt.msg)))
		if got := shape(p); got != tt.shape {
			t.Errorf("%s: shape %s, want %s", tt.name, got, tt.shape)
		}
	}
	p := ParseBytes([]byte("Subject: \xff\xfe junk\r\n\r\n"))
	if p.Envelope.Subject != "\xff\xfe junk" {
		t.Errorf("8-bit Subject lost: %q", p.Envelope.Subject)
	}
}

func TestParamsAndFields(t *testing.T) {
	msg := readMessage(t, "rfc2231")
	p := ParseBytes(msg)
	att := p.Parts[1]
	if got := att.Filename(); got != "€ rates for 2023.txt" {
		t.Errorf("Filename = %q", got)
	}
	if got := att.Param("name"); got != "€ rates for 2023.txt" {
		t.Errorf("name = %q", got)
	}
	if got := ParamValue(att.DispositionParams, "size"); got != "12" {
		t.Errorf("size = %q", got)
	}
	if p.Parts[0].Charset() != "iso-8859-1" || p.Param("boundary") != "XyZ" {
		t.Errorf("charset %q boundary %q", p.Parts[0].Charset(), p.Param("boundary"))
	}
	if att.Location != "http://example.com/rates.txt" {
		t.Errorf("Location = %q", att.Location)
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`text/plain; charset=us-ascii (Plain text)`, `charset=us-ascii`},
		{`text/plain; charset="utf-8"; format=flowed`, `charset=utf-8 format=flowed`},
		{`multipart/mixed; boundary="----=_NextPart_000_0000_01D9.ABCDEF"`, `boundary=----=_NextPart_000_0000_01D9.ABCDEF`},
		{`multipart/mixed; boundary=----=_Part_0_1.2`, `boundary=----=_Part_0_1.2`},
		{`application/pdf; name=my file.pdf`, `name=my file.pdf`},
		{`application/pdf; name="unterminated`, `name=unterminated`},
		{`text/plain; ; junk; charset=utf-8`, `charset=utf-8`},
		{`text/plain; charset=utf-8; charset=latin1`, `charset=utf-8`},
		{`text/plain; name*0="a"; name*1="b"; name*2="c"`, `name=abc`},
		{`text/plain; name*2="c"; name*0="a"; name*1="b"`, `name=abc`},
		{`text/plain; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`, `title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`},
		{`text/plain; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			`title*=us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!`},
		{`text/plain; name="quoted \"inner\" value"`, `name=quoted "inner" value`},
	}
	for _, tt := range tests {
		_, _, ps, _ := parseContentType(tt.in)
		var got []string
		for _, p := range ps {
			got = append(got, p.Name+"="+p.Value)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.in, strings.Join(got, " "), tt.want)
		}
	}
	_, _, ps, _ := parseContentType(`text/plain; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`)
	if got := ParamValue(ps, "title"); got != "This is even more ***fun*** isn't it!" {
		t.Errorf("decoded title %q", got)
	}
	_, _, ps, _ = parseContentType(`text/plain; name*=iso-8859-1''Gr%FC%DFe.txt`)
	if got := ParamValue(ps, "name"); got != "Grüße.txt" {
		t.Errorf("decoded latin-1 name %q", got)
	}
	_, _, ps, _ = parseContentType(`text/plain; name*=x-unknown''Caf%C3%A9%`)
	if got := ParamValue(ps, "name"); got != "Café%" {
		t.Errorf("decoded unknown-charset name %q", got)
	}
}

// failingReader fails after limit octets.
type failingReader struct {
	data  []byte
	limit int64
}

var errDisk = errors.New("disk on fire")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		n := copy(p, f.data[off:max(off, min(f.limit, int64(len(f.data))))])
		return n, errDisk
	}
	return copy(p, f.data[off:]), nil
}

func TestParseIOError(t *testing.T) {
	msg := readMessage(t, "forward")
	if _, err := Parse(failingReader{msg, 100}, int64(len(msg))); !errors.Is(err, errDisk) {
		t.Fatalf("Parse error %v, want the reader's", err)
	}
	if p, err := Parse(failingReader{msg, int64(len(msg))}, int64(len(msg))); err != nil || len(p.Parts) != 2 {
		t.Fatalf("Parse = %v, %v", p, err)
	}
	root := ParseBytes(msg)
	if err := BodyText(failingReader{msg, 300}, root, func(string) bool { return true }); !errors.Is(err, errDisk) {
		t.Fatalf("BodyText error %v, want the reader's", err)
	}
}

// TestHostileMessagesAreLinear guards the parser against inputs that could
// make it slow.
func TestHostileMessagesAreLinear(t *testing.T) {
	var nested strings.Builder
	for i := range MaxDepth {
		fmt.Fprintf(&nested, "Content-Type: multipart/mixed; boundary=%d\r\n\r\n--%d\r\n", i, i)
	}
	nested.WriteString("\r\n")
	inputs := map[string]string{
		"repeated fields":     strings.Repeat("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n", 200000),
		"many delimiters":     "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n", 400000),
		"deep boundary stack": nested.String() + strings.Repeat("--0x\r\n", 200000),
		"one huge line":       "Subject: " + strings.Repeat("=?", 2000000),
		"many continuations":  "Subject: x\r\n" + strings.Repeat(" y\r\n", 400000),
	}
	for name, in := range inputs {
		start := time.Now()
		p := ParseBytes([]byte(in))
		DecodeHeader(p.Envelope.Subject)
		d := time.Since(start)
		t.Logf("%s (%d octets): %v", name, len(in), d)
		if d > 5*time.Second {
			t.Errorf("%s: %v", name, d)
		}
	}
}

func TestMaxParts(t *testing.T) {
	msg := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 3*MaxParts) + "--b--\r\n")
	p := ParseBytes(msg)
	checkInvariants(t, p, int64(len(msg)))
	if n := len(p.Parts); n != MaxParts-1 {
		t.Fatalf("%d parts", n)
	}
	if _, err := Decode(p.Encode()); err != nil {
		t.Fatal(err)
	}
}
