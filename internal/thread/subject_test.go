package thread

import "testing"

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in   string
		base string
		rf   bool
	}{
		{"", "", false},
		{"hello", "HELLO", false},
		{"Re: hello", "HELLO", true},
		{"RE:hello", "HELLO", true},
		{"re : hello", "HELLO", true}, // *WSP before ":"
		{"Fwd: hello", "HELLO", true},
		{"Fw: hello", "HELLO", true},
		{"FWD:FW:Re: hello", "HELLO", true},
		{"Re: Re: Re:   hello  ", "HELLO", true},
		{"Re[2]: hello", "HELLO", true},           // subj-refwd with a blob before ":"
		{"[list] Re: hello", "HELLO", true},       // blob before re
		{"[list] hello", "HELLO", false},          // (4): blob removed, text remains
		{"[list]", "[LIST]", false},               // (4): would leave nothing
		{"[a][b] Re: [c] hello", "HELLO", true},   // blobs, refwd, then (4)
		{"hello (fwd)", "HELLO", true},            // trailer
		{"hello (fwd) (FWD)  ", "HELLO", true},    // repeated trailers
		{"hello(fwd)", "HELLO", true},             // no space needed
		{"[fwd: hello]", "HELLO", true},           // (6)
		{"[Fwd: Re: hello (fwd)]", "HELLO", true}, // (6) then again (2)-(5)
		{"Re: [fwd: Re: hello]", "HELLO", true},
		{"hello\t\tworld", "HELLO WORLD", false}, // white space packed
		{"hello\r\n world", "HELLO WORLD", false},
		{"Ref: hello", "REF: HELLO", false}, // "re" must be followed by ":" (after WSP/blob)
		{"Reply", "REPLY", false},
		{"Re:", "", true},
		{"Re: Re:", "", true},
		{"=?UTF-8?Q?Re=3A_gr=C3=BC=C3=9Fe?=", "GRU\u0308\u00dfE", true}, // decoded first, titlecased (ß has no one-letter titlecase), decomposed
		{"=?ISO-8859-1?Q?=FCber?=", "U\u0308BER", false},
		{"Re: =?UTF-8?B?w6Rw?= x", "A\u0308P X", true},
		{"[] hello", "HELLO", false},                   // an empty blob is a blob
		{"Re: caf\xe9 \xe8", "CAF\uFFFD \uFFFD", true}, // invalid UTF-8 is U+FFFD, as Dovecot sorts it
		{"=?UTF-8?Q?caf=E9?=", "CAF\uFFFD", false},
		{"[a[b] hello", "[A[B] HELLO", false}, // "[" inside a blob is not BLOBCHAR
		{" Re: x", "X", true},
		{"Fwd hello", "FWD HELLO", false},
		{"_x", "_X", false},
	}
	for _, tc := range tests {
		base, rf := BaseSubject(tc.in)
		if base != tc.base || rf != tc.rf {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, base, rf, tc.base, tc.rf)
		}
	}
}

func TestCasemap(t *testing.T) {
	for in, want := range map[string]string{
		"abc_[z]":  "ABC_[Z]",
		"grüße":    "GRU\u0308\u00dfE",
		"ǆemal":    "Dz\u030cEMAL", // titlecase (U+01C5), not uppercase, then decomposed
		"\xffab":   "\uFFFDAB",
		"ﬁle":      "fiLE", // compatibility decomposition after titlecasing
		"":         "",
		"ÅNGSTRÖM": "A\u030aNGSTRO\u0308M",
	} {
		if got := Casemap(in); got != want {
			t.Errorf("Casemap(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"a@b"}},
		{"  <a@b> <c@d>\r\n\t<e@f>", []string{"a@b", "c@d", "e@f"}},
		{"<nope> <a@b>", []string{"a@b"}},          // no "@": not an ID
		{"<a @ b>", []string{"a@b"}},               // white space removed
		{`<"x y"@b>`, []string{"x y@b"}},           // quoted local part
		{"<a(comment)@b>", []string{"a@b"}},        // comment inside
		{"<a@[1.2.3.4]>", []string{"a@[1.2.3.4]"}}, // "[" is taken as written
		{"foo <a@b> (bar) <c@d", []string{"a@b"}},  // unterminated
		{"", nil},
		{"no ids here", nil},
		{`<"unterminated@b> <c@d>`, []string{"c@d"}},
	}
	for _, tc := range tests {
		got := MessageIDs(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("MessageIDs(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("MessageIDs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
	if FirstMessageID("x <a@b> <c@d>") != "a@b" || FirstMessageID("x") != "" {
		t.Error("FirstMessageID")
	}
}
