package imap

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		in   string
		want Args
	}{
		{`a GETMETADATA "" /shared/comment`, &GetMetadataArgs{Mailbox: "", MaxSize: -1, Entries: []string{"/shared/comment"}}},
		{`a GETMETADATA INBOX (/private/comment "/shared/a b")`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: -1, Entries: []string{"/private/comment", "/shared/a b"}}},
		{`a getmetadata (MAXSIZE 1024 DEPTH infinity) inbox /PRIVATE/x`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: 1024, Depth: MetadataDepthInfinity, Entries: []string{"/PRIVATE/x"}}},
		{`a GETMETADATA (depth 1) Work /private`, &GetMetadataArgs{Mailbox: "Work", MaxSize: -1, Depth: 1, Entries: []string{"/private"}}},
		{`a GETMETADATA (DEPTH 1 DEPTH 0 MAXSIZE 0) Work /private`, &GetMetadataArgs{Mailbox: "Work", MaxSize: 0, Depth: 0, Entries: []string{"/private"}}},
		{`a GETMETADATA () Work /shared`, &GetMetadataArgs{Mailbox: "Work", MaxSize: -1, Entries: []string{"/shared"}}},
		// Options after the mailbox, as RFC 5464's examples put them.
		{`a GETMETADATA INBOX (MAXSIZE 5) (/private/a /shared/b)`, &GetMetadataArgs{Mailbox: "INBOX", MaxSize: 5, Entries: []string{"/private/a", "/shared/b"}}},
		{"a GETMETADATA INBOX {14}\r\n/private/a/b/c", &GetMetadataArgs{Mailbox: "INBOX", MaxSize: -1, Entries: []string{"/private/a/b/c"}}},
		{`a SETMETADATA INBOX (/private/comment "hi" /shared/comment NIL)`, &SetMetadataArgs{Mailbox: "INBOX", Entries: []MetadataValue{
			{Name: "/private/comment", Value: []byte("hi")}, {Name: "/shared/comment"}}}},
		{`a SETMETADATA "" (/shared/x "")`, &SetMetadataArgs{Mailbox: "", Entries: []MetadataValue{{Name: "/shared/x", Value: []byte{}}}}},
		{"a SETMETADATA INBOX (/private/a {4}\r\nx\r\ny /private/b ~{3}\r\na\x00b)", &SetMetadataArgs{Mailbox: "INBOX", Entries: []MetadataValue{
			{Name: "/private/a", Value: []byte("x\r\ny")}, {Name: "/private/b", Value: []byte("a\x00b"), Binary: true}}}},
		{"a SETMETADATA INBOX (/private/a {2+}\r\nxy)", &SetMetadataArgs{Mailbox: "INBOX", Entries: []MetadataValue{{Name: "/private/a", Value: []byte("xy")}}}},
	}
	for _, tc := range tests {
		cmd, err := newTestReader(tc.in+"\r\n", ReaderOptions{}).ReadCommand()
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(cmd.Args, tc.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", tc.in, cmd.Args, tc.want)
		}
	}
}

func TestParseMetadataErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{`a GETMETADATA INBOX /private/a*b`, "can't contain '*'"},
		{`a GETMETADATA INBOX /private/a%`, "can't contain '%'"},
		{`a GETMETADATA INBOX /private//x`, "consecutive '/'"},
		{`a GETMETADATA INBOX /private/x/`, "can't end with '/'"},
		{`a GETMETADATA INBOX /`, "can't end with '/'"},
		{`a GETMETADATA INBOX private/x`, "must begin with '/'"},
		{`a GETMETADATA INBOX /foo/bar`, "must begin with /private or /shared"},
		{`a GETMETADATA INBOX /privatex/a`, "must begin with /private or /shared"},
		{`a GETMETADATA INBOX "/private/a` + "\x01" + `"`, "control characters"},
		{"a GETMETADATA INBOX \"/private/\xff\"", "UTF-8"},
		{`a GETMETADATA INBOX ()`, "expected entry name"},
		{`a GETMETADATA (DEPTH 2) INBOX /private`, "Invalid value for DEPTH"},
		{`a GETMETADATA (MAXSIZE -1) INBOX /private`, "Invalid value for MAXSIZE"},
		{`a GETMETADATA (FOO 1) INBOX /private`, "Unknown GETMETADATA option FOO"},
		{`a GETMETADATA INBOX (/private/a`, "expected space"},
		{`a GETMETADATA INBOX`, "expected space"},
		{`a SETMETADATA INBOX ()`, "expected entry name"},
		{`a SETMETADATA INBOX /private/a "x"`, "expected ("},
		{`a SETMETADATA INBOX (/private/a)`, "expected space"},
		{`a SETMETADATA INBOX (/private/a x)`, "expected metadata value"},
		{`a SETMETADATA INBOX (/bad "x")`, "must begin with /private or /shared"},
		{"a SETMETADATA INBOX (/private/a {3}\r\na\x00b)", "NUL in a literal"},
	}
	for _, tc := range tests {
		_, err := newTestReader(tc.in+"\r\n", ReaderOptions{}).ReadCommand()
		var pe *ParseError
		if !errors.As(err, &pe) || pe.NO || pe.Fatal || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%q: got %v, want BAD containing %q", tc.in, err, tc.msg)
		}
	}
}

// TestParseMetadataValueTooLarge: a value literal over the limit is
// refused with NO [METADATA MAXSIZE n] before it is sent (synchronizing)
// or after it was skipped (LITERAL+), and the next command parses.
func TestParseMetadataValueTooLarge(t *testing.T) {
	opts := ReaderOptions{LiteralLimit: func(cmd string) int64 {
		if cmd == "SETMETADATA" {
			return 10
		}
		return 1000
	}}
	in := "a SETMETADATA INBOX (/private/a {11}\r\n" +
		"b SETMETADATA INBOX (/private/a {11+}\r\n01234567890)\r\n" +
		"c SETMETADATA INBOX (/private/a {10}\r\n0123456789)\r\n"
	r := newTestReader(in, opts)
	for _, tag := range []string{"a", "b"} {
		_, err := r.ReadCommand()
		var pe *ParseError
		if !errors.As(err, &pe) || !pe.NO || pe.Fatal || pe.Code != "METADATA MAXSIZE 10" || pe.Tag != tag {
			t.Fatalf("%s: got %#v, want NO [METADATA MAXSIZE 10]", tag, err)
		}
	}
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Tag != "c" || string(cmd.Args.(*SetMetadataArgs).Entries[0].Value) != "0123456789" {
		t.Fatalf("c: %v %+v", err, cmd)
	}
}
