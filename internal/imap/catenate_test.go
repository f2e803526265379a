package imap

import (
	"strings"
	"testing"
)

// TestParseCatenate: CATENATE parts (RFC 4469 §5), mixed with plain
// messages in a MULTIAPPEND (RFC 3502), TEXT as literal8 too.
func TestParseCatenate(t *testing.T) {
	in := "a APPEND Drafts (\\Draft) CATENATE (TEXT {3+}\r\nab\n URL \"/INBOX/;UID=1/;SECTION=2\" TEXT ~{1+}\r\nx URL /INBOX/;UID=2) {2+}\r\nhi\r\n"
	cmd, err := newTestReader(in, ReaderOptions{MultiAppend: true}).ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	a := cmd.Args.(*AppendArgs)
	if len(a.Messages) != 2 {
		t.Fatalf("%d messages", len(a.Messages))
	}
	m := a.Messages[0]
	if m.Literal != nil || len(m.Catenate) != 4 || strings.Join(m.Flags, " ") != `\Draft` {
		t.Fatalf("first message %+v", m)
	}
	text, _ := m.Catenate[0].Text.Bytes()
	bin, _ := m.Catenate[2].Text.Bytes()
	if string(text) != "ab\n" || m.Catenate[1].URL != "/INBOX/;UID=1/;SECTION=2" || string(bin) != "x" || !m.Catenate[2].Text.Binary || m.Catenate[3].URL != "/INBOX/;UID=2" {
		t.Fatalf("parts %+v", m.Catenate)
	}
	if b, _ := a.Messages[1].Literal.Bytes(); string(b) != "hi" {
		t.Fatalf("second message %q", b)
	}
	for _, bad := range []string{
		"a APPEND x CATENATE ()",
		"a APPEND x CATENATE",
		"a APPEND x CATENATE (FOO {1+}\r\nx)",
		"a APPEND x CATENATE (TEXT \"quoted\")",
		"a APPEND x CATENATE (URL \"\")",
		"a APPEND x CATENATE (URL /a/;UID=1",
		"a APPEND x CATENATE (URL /a/;UID=1 )",
		"a GENURLAUTH",
		"a GENURLAUTH \"imap://a@h/INBOX/;UID=1;URLAUTH=authuser\"",
		"a URLFETCH",
		"a RESETKEY INBOX (",
	} {
		r := newTestReader(bad+"\r\na NOOP\r\n", ReaderOptions{MultiAppend: true})
		if cmd, err := r.ReadCommand(); err == nil {
			t.Errorf("%q parsed: %+v", bad, cmd.Args)
			continue
		}
		if cmd, err := r.ReadCommand(); err != nil || cmd.Name != "NOOP" {
			t.Errorf("after %q: %v %v (stream out of step)", bad, cmd, err)
		}
	}
}

// TestParseURLAuthCommands: GENURLAUTH, RESETKEY, URLFETCH (RFC 4467 §9).
func TestParseURLAuthCommands(t *testing.T) {
	cmd, err := parseOne(t, `a GENURLAUTH "imap://a@h/INBOX/;UID=1;URLAUTH=authuser" internal imap://b@h/X/;UID=2;URLAUTH=anonymous INTERNAL`)
	if err != nil {
		t.Fatal(err)
	}
	g := cmd.Args.(*GenURLAuthArgs)
	if len(g.Rumps) != 2 || g.Rumps[1] != "imap://b@h/X/;UID=2;URLAUTH=anonymous" || g.Mechanisms[0] != "INTERNAL" || g.Mechanisms[1] != "INTERNAL" {
		t.Fatalf("GENURLAUTH %+v", g)
	}
	cmd, err = parseOne(t, `a RESETKEY`)
	if err != nil || cmd.Args.(*ResetKeyArgs).HasMailbox {
		t.Fatalf("RESETKEY: %+v %v", cmd, err)
	}
	cmd, err = parseOne(t, `a RESETKEY inbox INTERNAL xfoo`)
	if err != nil {
		t.Fatal(err)
	}
	rk := cmd.Args.(*ResetKeyArgs)
	if !rk.HasMailbox || rk.Mailbox != "INBOX" || strings.Join(rk.Mechanisms, " ") != "INTERNAL XFOO" {
		t.Fatalf("RESETKEY %+v", rk)
	}
	cmd, err = parseOne(t, `a URLFETCH "imap://a@h/INBOX/;UID=1;URLAUTH=anonymous:internal:00" {3}`+"\r\nx y")
	if err != nil {
		t.Fatal(err)
	}
	if u := cmd.Args.(*URLFetchArgs).URLs; len(u) != 2 || u[1] != "x y" {
		t.Fatalf("URLFETCH %q", u)
	}
}

// TestAppendLiteralsInMemoryBounded: one command keeps at most
// 4 × SpoolThreshold of literal octets in memory; later literals of a
// MULTIAPPEND or CATENATE are spooled to files however small.
func TestAppendLiteralsInMemoryBounded(t *testing.T) {
	const n = 10
	var b strings.Builder
	b.WriteString("a APPEND INBOX")
	for i := 0; i < n; i++ {
		b.WriteString(" {100+}\r\n" + strings.Repeat("x", 100))
	}
	b.WriteString(" CATENATE (TEXT {100+}\r\n" + strings.Repeat("y", 100) + ")\r\n")
	cmd, err := newTestReader(b.String(), ReaderOptions{MultiAppend: true, SpoolThreshold: 100, SpoolDir: t.TempDir()}).ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	a := cmd.Args.(*AppendArgs)
	var mem, spooled int
	lits := []*Literal{}
	for _, m := range a.Messages {
		if m.Literal != nil {
			lits = append(lits, m.Literal)
		}
		for _, p := range m.Catenate {
			lits = append(lits, p.Text)
		}
	}
	for _, l := range lits {
		if l.file != nil {
			spooled++
		} else {
			mem++
		}
		if data, err := l.Bytes(); err != nil || len(data) != 100 {
			t.Fatalf("literal read back: %d octets, %v", len(data), err)
		}
	}
	if mem != 4 || spooled != n+1-4 {
		t.Errorf("%d literals in memory, %d spooled; want 4 and %d", mem, spooled, n+1-4)
	}
}
