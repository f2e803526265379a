package imap

import "testing"

// A mailbox argument that is a well-formed astring but not a name a mailbox
// can have parses (BAD is for syntax errors, RFC 3501 §7.1.3) and comes back
// as an invalid name, as sent.
func TestInvalidMailboxNames(t *testing.T) {
	tests := []struct {
		line string
		utf8 bool
		sent string
	}{
		{`a SELECT "!#$&'+,-."`, false, `!#$&'+,-.`}, // "&'+," is no modified BASE64
		{"a SELECT &Jjo", false, "&Jjo"},             // shift never closed
		{"a SELECT &AGE-", false, "&AGE-"},           // encoded printable ASCII
		{"a SELECT caf\xc3", false, "caf\xc3"},       // 8-bit but not UTF-8
		{"a SELECT tab&AAk-", false, "tab&AAk-"},     // control character, encoded
		{"a SELECT \"x\x01\"", false, "x\x01"},       // control character, raw
		{"a SELECT {2}\r\n\xc3x", true, "\xc3x"},     // not UTF-8 in UTF-8 mode
	}
	for _, tc := range tests {
		r := newTestReader(tc.line+"\r\nnext NOOP\r\n", ReaderOptions{UTF8: tc.utf8})
		c := mustRead(t, r)
		got := c.Args.(*SelectArgs).Mailbox
		if !IsInvalidName(got) || InvalidNameText(got) != tc.sent {
			t.Errorf("%q: Mailbox = %q, want the invalid name %q", tc.line, got, tc.sent)
		}
		if c := mustRead(t, r); c.Tag != "next" {
			t.Errorf("%q: next command = %+v", tc.line, c)
		}
	}
}

// Every command with a mailbox argument takes an invalid name; LIST and
// LSUB take one as reference or pattern.
func TestInvalidMailboxNameEverywhere(t *testing.T) {
	const bad = `"&Jjo"`
	lines := []string{
		"a SELECT " + bad, "a EXAMINE " + bad + " (CONDSTORE)", "a CREATE " + bad,
		"a DELETE " + bad, "a SUBSCRIBE " + bad, "a UNSUBSCRIBE " + bad,
		"a RENAME " + bad + " x", "a RENAME x " + bad,
		"a LIST " + bad + " *", "a LIST \"\" " + bad, "a LIST (SUBSCRIBED) \"\" (x " + bad + ")",
		"a LSUB " + bad + " *", "a LSUB \"\" " + bad,
		"a STATUS " + bad + " (MESSAGES)", "a APPEND " + bad + " {1+}\r\nx",
		"a COPY 1 " + bad, "a UID MOVE 1 " + bad,
	}
	for _, l := range lines {
		r := newTestReader(l+"\r\n", ReaderOptions{})
		c := mustRead(t, r)
		var names []string
		switch a := c.Args.(type) {
		case *SelectArgs:
			names = []string{a.Mailbox}
		case *CreateArgs:
			names = []string{a.Mailbox}
		case *MailboxArgs:
			names = []string{a.Mailbox}
		case *RenameArgs:
			names = []string{a.From, a.To}
		case *ListArgs:
			names = append([]string{a.Reference}, a.Patterns...)
		case *StatusArgs:
			names = []string{a.Mailbox}
		case *AppendArgs:
			names = []string{a.Mailbox}
			c.Close()
		case *CopyArgs:
			names = []string{a.Mailbox}
		}
		found := false
		for _, n := range names {
			found = found || IsInvalidName(n) && InvalidNameText(n) == "&Jjo"
		}
		if !found {
			t.Errorf("%q: no invalid name in %q", l, names)
		}
	}
}

func TestValidMailboxNamesStayValid(t *testing.T) {
	for _, tc := range []struct{ sent, want string }{
		{"inbox", "INBOX"}, {"&AOk-t&AOk-", "été"}, {"a&-b", "a&b"}, {"café", "café"},
	} {
		r := newTestReader("a SELECT "+tc.sent+"\r\n", ReaderOptions{})
		if got := mustRead(t, r).Args.(*SelectArgs).Mailbox; got != tc.want || IsInvalidName(got) {
			t.Errorf("%q: %q, want %q", tc.sent, got, tc.want)
		}
	}
}
