package thread

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzThread feeds arbitrary header values to BaseSubject, MessageIDs and
// the threading algorithms. Properties: no panic; the base subject is
// valid UTF-8, has no tabs, line breaks or doubled spaces and no leading
// or trailing space; every message appears exactly once in each
// algorithm's answer.
func FuzzThread(f *testing.F) {
	f.Add("Re: [list] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= (fwd)", "<a@b> <c@d>", "<c@d>")
	f.Add("[fwd: [x] Fw: y]", "<\"q x\"@b> (c) <e@f", "<a@b>")
	f.Fuzz(func(t *testing.T, subject, refs, id string) {
		base, _ := BaseSubject(subject)
		if !utf8.ValidString(base) || strings.ContainsAny(base, "\t\r\n") || strings.Contains(base, "  ") ||
			strings.HasPrefix(base, " ") || strings.HasSuffix(base, " ") {
			t.Fatalf("BaseSubject(%q) = %q", subject, base)
		}
		ids := MessageIDs(refs)
		msgs := []Message{
			{Num: 1, UID: 1, Date: 3, Subject: subject, HasSubject: true, MessageID: FirstMessageID(id), Refs: ids},
			{Num: 2, UID: 2, Date: 1, Subject: base, HasSubject: true, MessageID: FirstMessageID(refs), Refs: MessageIDs(id)},
			{Num: 3, UID: 3, Date: 2, Subject: "Re: " + subject, HasSubject: true, MessageID: FirstMessageID(id), Refs: ids},
		}
		for name, threads := range map[string][]*Node{"REFERENCES": References(msgs), "ORDEREDSUBJECT": OrderedSubject(msgs)} {
			seen := map[uint32]int{}
			var walk func(n *Node)
			walk = func(n *Node) {
				if n.Num != 0 {
					seen[n.Num]++
				}
				for _, c := range n.Children {
					walk(c)
				}
			}
			for _, n := range threads {
				walk(n)
			}
			if len(seen) != 3 || seen[1] != 1 || seen[2] != 1 || seen[3] != 1 {
				t.Fatalf("%s: %v in %s", name, seen, Format(threads))
			}
		}
	})
}
