package thread

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Message is what threading needs of one message. Messages are given in
// UID order.
type Message struct {
	// Num is what the answer names the message by: its sequence number,
	// or its UID for UID THREAD.
	Num uint32
	// UID orders messages of the same date (as Dovecot does).
	UID uint32
	// Date is the sent date (Date header) in Unix seconds, or the internal
	// date when the header is missing or does not parse (RFC 5256 §2.2).
	Date int64
	// Subject is the raw Subject value; HasSubject says the field exists.
	Subject    string
	HasSubject bool
	// MessageID is the message's first valid message ID (MessageIDs), ""
	// when it has none.
	MessageID string
	// Refs are the message IDs of the References field, or when it has
	// none, the first of In-Reply-To (RFC 5256 §3 REFERENCES step 1).
	Refs []string
}

// Node is one node of a thread tree: a message (Num) or, with Num 0, a
// dummy standing for a message that is not in the set, with at least
// two children.
type Node struct {
	Num      uint32
	Children []*Node
}

// Format writes the threads as the THREAD response's data (RFC 5256 §4):
// "(1 2 (3)(4 5))" — a chain is a list of numbers, siblings are each
// parenthesised, a dummy parent is written as its children only.
func Format(threads []*Node) string {
	var b strings.Builder
	for _, t := range threads {
		b.WriteByte('(')
		if t.Num != 0 {
			b.WriteString(strconv.FormatUint(uint64(t.Num), 10))
			if len(t.Children) > 0 {
				b.WriteByte(' ')
			}
		}
		formatChildren(&b, t.Children)
		b.WriteByte(')')
	}
	return b.String()
}

func formatChildren(b *strings.Builder, children []*Node) {
	if len(children) == 1 {
		c := children[0]
		b.WriteString(strconv.FormatUint(uint64(c.Num), 10))
		if len(c.Children) > 0 {
			b.WriteByte(' ')
			formatChildren(b, c.Children)
		}
		return
	}
	for _, c := range children {
		b.WriteByte('(')
		b.WriteString(strconv.FormatUint(uint64(c.Num), 10))
		if len(c.Children) > 0 {
			b.WriteByte(' ')
			formatChildren(b, c.Children)
		}
		b.WriteByte(')')
	}
}

// OrderedSubject threads by base subject (RFC 5256 §3 ORDEREDSUBJECT):
// messages sorted by (base subject, sent date, UID), each run of one base
// subject a thread whose first message is the parent of the others, the
// threads ordered by the date of their first message.
func OrderedSubject(msgs []Message) []*Node {
	type keyed struct {
		m    *Message
		base string
	}
	ks := make([]keyed, len(msgs))
	for i := range msgs {
		base := ""
		if msgs[i].HasSubject {
			base, _ = BaseSubject(msgs[i].Subject)
		}
		ks[i] = keyed{&msgs[i], base}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := strings.Compare(a.base, b.base); c != 0 {
			return c
		}
		if c := cmp.Compare(a.m.Date, b.m.Date); c != 0 {
			return c
		}
		return cmp.Compare(a.m.UID, b.m.UID)
	})
	type run struct {
		date  int64
		first uint32
		node  *Node
	}
	var runs []run
	for i, k := range ks {
		if i > 0 && k.base == ks[i-1].base {
			r := &runs[len(runs)-1]
			r.node.Children = append(r.node.Children, &Node{Num: k.m.Num})
			continue
		}
		runs = append(runs, run{date: k.m.Date, first: k.m.Num, node: &Node{Num: k.m.Num}})
	}
	slices.SortFunc(runs, func(a, b run) int {
		if c := cmp.Compare(a.date, b.date); c != 0 {
			return c
		}
		return cmp.Compare(a.first, b.first)
	})
	out := make([]*Node, len(runs))
	for i, r := range runs {
		out[i] = r.node // two messages come out as "(1 2)", more as "(1 (2)(3))"
	}
	return out
}
