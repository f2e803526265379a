package thread

import "testing"

// msg builds a Message numbered n (UID n) with a date, subject, ID and
// references.
func msg(n uint32, date int64, subject, id string, refs ...string) Message {
	return Message{Num: n, UID: n, Date: date, Subject: subject, HasSubject: subject != "", MessageID: id, Refs: refs}
}

func TestFormat(t *testing.T) {
	// RFC 5256 §4's example: (2)(3 6 (4 23)(44 7 96))
	threads := []*Node{
		{Num: 2},
		{Num: 3, Children: []*Node{{Num: 6, Children: []*Node{
			{Num: 4, Children: []*Node{{Num: 23}}},
			{Num: 44, Children: []*Node{{Num: 7, Children: []*Node{{Num: 96}}}}},
		}}}},
		{Children: []*Node{{Num: 8}, {Num: 9, Children: []*Node{{Num: 10}}}}}, // a dummy root
	}
	if got, want := Format(threads), "(2)(3 6 (4 23)(44 7 96))((8)(9 10))"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if Format(nil) != "" {
		t.Error("Format(nil) not empty")
	}
}

func TestReferences(t *testing.T) {
	tests := []struct {
		name string
		msgs []Message
		want string
	}{
		{"chain", []Message{
			msg(1, 10, "a", "a@x"),
			msg(2, 20, "Re: a", "b@x", "a@x"),
			msg(3, 30, "Re: a", "c@x", "a@x", "b@x"),
		}, "(1 2 3)"},
		{"siblings by date then UID", []Message{
			msg(1, 10, "a", "a@x"),
			msg(2, 30, "Re: a", "b@x", "a@x"),
			msg(3, 20, "Re: a", "c@x", "a@x"),
			msg(4, 20, "Re: a", "d@x", "a@x"),
		}, "(1 (3)(4)(2))"},
		{"roots by date", []Message{
			msg(1, 30, "x", "a@x"),
			msg(2, 10, "y", "b@x"),
			msg(3, 20, "z", "c@x"),
		}, "(2)(3)(1)"},
		{"dummy root keeps two children, promotes one", []Message{
			msg(1, 10, "p", "a@x", "gone@x"),
			msg(2, 20, "q", "b@x", "gone@x"),
			msg(3, 30, "r", "c@x", "gone2@x"),
		}, "((1)(2))(3)"},
		{"nested dummies flatten to the root dummy", []Message{
			msg(1, 20, "p", "a@x", "n1@x", "n2@x"),
			msg(2, 10, "q", "b@x", "n1@x", "n3@x"),
		}, "((2)(1))"},
		{"dummy in the middle goes, its child moves up", []Message{
			msg(1, 10, "a", "a@x"),
			msg(2, 20, "b", "b@x", "a@x", "gone@x"),
		}, "(1 2)"},
		{"loop is not linked", []Message{
			msg(1, 10, "A", "la@x", "lb@x"),
			msg(2, 10, "B", "lb@x", "la@x"),
		}, "(2 1)"},
		{"self reference", []Message{
			msg(1, 10, "s", "s@x", "s@x"),
		}, "(1)"},
		{"duplicate Message-ID: the later is a message without one", []Message{
			msg(1, 10, "a", "d@x"),
			msg(2, 20, "b", "d@x"),
			msg(3, 30, "c", "e@x", "d@x"),
		}, "(1 3)(2)"},
		{"own parent replaces one set by others (1.C)", []Message{
			msg(1, 10, "x", "c@x", "a@x", "b@x"), // says b's parent is a
			msg(2, 20, "y", "b@x", "z@x"),        // b says its parent is z
			msg(3, 5, "w", "a@x"),
		}, "(3)(2 1)"},
		{"first parent link wins for referenced IDs", []Message{
			msg(1, 10, "p", "p@x"),
			msg(2, 20, "q", "q@x"),
			msg(3, 30, "r", "r@x", "p@x", "m@x"),
			msg(4, 40, "s", "s@x", "q@x", "m@x"), // m already has parent p
			msg(5, 50, "t", "t@x"),
		}, "(1 (3)(4))(2)(5)"},
		{"a message without references is a root even if others named a parent for it", []Message{
			msg(1, 10, "p", "p@x"),
			msg(2, 20, "q", "q@x"),
			msg(3, 30, "r", "r@x", "p@x", "m@x"),
			msg(4, 40, "s", "s@x", "q@x", "m@x"),
			msg(5, 50, "t", "m@x"),
		}, "(1)(2)(5 (3)(4))"},
		{"same subject: two originals under a dummy", []Message{
			msg(1, 20, "Status", "a@x"),
			msg(2, 10, "status", "b@x"),
		}, "((2)(1))"},
		{"same subject: a reply goes under the original", []Message{
			msg(1, 10, "Re: hello", "a@x"),
			msg(2, 20, "hello", "b@x"),
		}, "(2 1)"},
		{"same subject: replies under a dummy join it", []Message{
			msg(1, 30, "Re: topic", "a@x", "gone@x"),
			msg(2, 20, "Re: topic", "b@x", "gone@x"),
			msg(3, 40, "topic", "c@x"),
			msg(4, 50, "Fwd: topic", "d@x"),
		}, "((2)(1)(3)(4))"},
		{"empty base subjects are not gathered", []Message{
			msg(1, 10, "Re:", "a@x"),
			msg(2, 20, "Re: ", "b@x"),
			msg(3, 30, "", "c@x"),
		}, "(1)(2)(3)"},
		{"no messages", nil, ""},
	}
	for _, tc := range tests {
		if got := Format(References(tc.msgs)); got != tc.want {
			t.Errorf("%s: References = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOrderedSubject(t *testing.T) {
	msgs := []Message{
		msg(1, 30, "Re: hello", ""),
		msg(2, 10, "hello", ""),
		msg(3, 20, "other", ""),
		msg(4, 40, "HELLO (fwd)", ""),
		msg(5, 5, "", ""),
		msg(6, 15, "[x] other", ""),
		msg(7, 10, "solo", ""),
	}
	// Runs: "" (5); HELLO (2, 1, 4); OTHER (6, 3); SOLO (7). Ordered by the
	// first message's date, ties by number: 5@5, 2@10, 7@10, 6@15.
	if got, want := Format(OrderedSubject(msgs)), "(5)(2 (1)(4))(7)(6 3)"; got != want {
		t.Errorf("OrderedSubject = %q, want %q", got, want)
	}
}
