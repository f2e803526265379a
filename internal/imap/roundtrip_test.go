package imap

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Round trips: what the Writer produces, the Reader reads back unchanged.

func stringRoundTrip(t *testing.T, s string, utf8Mode bool) {
	t.Helper()
	line := render(utf8Mode, func(w *Writer) {
		w.Raw("a LOGIN ")
		w.String(s)
		w.SP()
		w.AString(s)
		w.CRLF()
	})
	r := newTestReader(line, ReaderOptions{UTF8: utf8Mode, LiteralLimit: func(string) int64 { return 1 << 20 }})
	c, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("%q rendered as %q: %v", s, line, err)
	}
	a := c.Args.(*LoginArgs)
	if a.Username != s || a.Password != s {
		t.Fatalf("%q came back as %q / %q (wire %q)", s, a.Username, a.Password, line)
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "x", `"`, `\`, "a b", "NIL", "{3}", "x]", "line\r\nbreak", "café", "\x01", strings.Repeat("z", 5000)} {
		stringRoundTrip(t, s, false)
		stringRoundTrip(t, s, true)
	}
}

func FuzzStringRoundTrip(f *testing.F) {
	f.Add("hello world", false)
	f.Add("caf\xc3\xa9\r\n", true)
	f.Fuzz(func(t *testing.T, s string, utf8Mode bool) {
		if strings.IndexByte(s, 0) >= 0 {
			return // NUL cannot travel in a string (RFC 3501 CHAR8 excludes it)
		}
		stringRoundTrip(t, s, utf8Mode)
	})
}

func mailboxRoundTrip(t *testing.T, name string, utf8Mode bool) {
	t.Helper()
	line := render(utf8Mode, func(w *Writer) {
		w.Raw("a SELECT ")
		w.Mailbox(name)
		w.CRLF()
	})
	c, err := newTestReader(line, ReaderOptions{UTF8: utf8Mode}).ReadCommand()
	if err != nil {
		t.Fatalf("%q rendered as %q: %v", name, line, err)
	}
	want := name
	if isInbox(name) {
		want = "INBOX"
	}
	if got := c.Args.(*SelectArgs).Mailbox; got != want {
		t.Fatalf("%q came back as %q (wire %q)", name, got, line)
	}
}

func TestMailboxRoundTrip(t *testing.T) {
	for _, name := range []string{"INBOX", "inbox", "Archive/2024", "Entwürfe", "~peter/mail/台北/日本語", "a&b", `we"ird\`, "😀"} {
		mailboxRoundTrip(t, name, false)
		mailboxRoundTrip(t, name, true)
	}
}

func FuzzMailboxRoundTrip(f *testing.F) {
	f.Add("Entwürfe/a&b")
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) {
			return
		}
		for _, c := range name {
			if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 {
				return // refused by design (control characters)
			}
		}
		mailboxRoundTrip(t, name, false)
		mailboxRoundTrip(t, name, true)
	})
}

func TestSeqSetRoundTrip(t *testing.T) {
	for _, nums := range [][]uint32{{1}, {1, 2, 3}, {4294967295, 1}, {5, 7, 9, 10, 11}} {
		set := SeqSetFromNumbers(nums)
		back, err := ParseSeqSet(set.String())
		if err != nil || back.String() != set.String() {
			t.Errorf("%v: %q -> %v %v", nums, set.String(), back, err)
		}
	}
}
