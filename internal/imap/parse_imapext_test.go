package imap

import (
	"reflect"
	"testing"
	"time"
)

// TestParseReplace: REPLACE and UID REPLACE (RFC 8508 §5) take one message
// number and an append-message (flags, date, literal, literal8, CATENATE);
// a set, a range, "$", a UID "*" or a missing message are errors.
func TestParseReplace(t *testing.T) {
	in := "a REPLACE 3 Drafts (\\Seen \\Draft) \"05-Mar-2021 10:00:00 +0000\" {5}\r\nhello\r\n" +
		"b UID REPLACE 42 INBOX ~{3+}\r\na\x00b\r\n" +
		"c REPLACE * Drafts CATENATE (TEXT {2+}\r\nhi URL \"/INBOX/;UID=1\")\r\n"
	conts := 0
	r := newTestReader(in, ReaderOptions{Continue: func() error { conts++; return nil }})
	c := mustRead(t, r)
	a := c.Args.(*ReplaceArgs)
	if c.Name != "REPLACE" || c.UID || !reflect.DeepEqual(a.Seq, seq("3")) || a.Mailbox != "Drafts" ||
		!reflect.DeepEqual(a.Message.Flags, []string{`\Seen`, `\Draft`}) || !a.Message.Date.Equal(time.Date(2021, 3, 5, 10, 0, 0, 0, time.UTC)) ||
		string(a.Message.Literal.data) != "hello" {
		t.Errorf("REPLACE: %+v %+v", c, a)
	}
	c.Close()
	c = mustRead(t, r)
	b := c.Args.(*ReplaceArgs)
	if !c.UID || !reflect.DeepEqual(b.Seq, seq("42")) || b.Mailbox != "INBOX" || !b.Message.Literal.Binary {
		t.Errorf("UID REPLACE: %+v %+v", c, b)
	}
	c = mustRead(t, r)
	d := c.Args.(*ReplaceArgs)
	if !reflect.DeepEqual(d.Seq, seq("*")) || len(d.Message.Catenate) != 2 || d.Message.Literal != nil {
		t.Errorf("REPLACE CATENATE: %+v", d)
	}
	if conts != 1 {
		t.Errorf("continuations = %d, want 1", conts)
	}
	for _, line := range []string{
		"a REPLACE 1:2 INBOX {1+}\r\nx", "a REPLACE 1,3 INBOX {1+}\r\nx", "a REPLACE $ INBOX {1+}\r\nx",
		"a UID REPLACE * INBOX {1+}\r\nx", "a REPLACE 1 INBOX", "a REPLACE 1 {1+}\r\nx", "a REPLACE INBOX {1+}\r\nx",
		"a REPLACE 0 INBOX {1+}\r\nx", "a REPLACE 1 INBOX {1+}\r\nx {1+}\r\ny",
	} {
		_, err := newTestReader(line+"\r\n", ReaderOptions{MultiAppend: true}).ReadCommand()
		checkParseError(t, err, "a")
	}
}

// TestParseWithin: OLDER and YOUNGER take an nz-number of seconds
// (RFC 5032 §4).
func TestParseWithin(t *testing.T) {
	c, err := parseOne(t, "a SEARCH OLDER 3600 NOT YOUNGER 60")
	if err != nil {
		t.Fatal(err)
	}
	k := c.Args.(*SearchArgs).Key
	if k.Children[0].Name != "OLDER" || k.Children[0].Size != 3600 || k.Children[1].Children[0].Name != "YOUNGER" || k.Children[1].Children[0].Size != 60 {
		t.Errorf("got %+v", k)
	}
	for _, line := range []string{"a SEARCH OLDER 0", "a SEARCH YOUNGER", "a SEARCH OLDER -1", "a SEARCH YOUNGER 4294967296"} {
		_, err := parseOne(t, line)
		checkParseError(t, err, "a")
	}
}
