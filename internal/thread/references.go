package thread

import (
	"cmp"
	"slices"
)

// refNode is a node of the REFERENCES id table: a message, or a dummy
// for an ID only referenced.
type refNode struct {
	msg      *Message // nil for a dummy
	parent   *refNode
	children []*refNode // filled after linking (step 2/3)
	// For the root set:
	date   int64
	uid    uint32
	ignore bool
	// Subject gathering (step 5): the root this one is merged into, and
	// whether its subject was a reply or forward.
	mergeInto *refNode
	replyFwd  bool
	promoted  *refNode // a dummy root with one child stands for that child
	listed    bool     // in References' node list
}

// References threads by the References and In-Reply-To headers (RFC 5256
// §3 REFERENCES), then merges root threads with the same base subject.
// Where the RFC leaves choices, Dovecot's are made: a message whose
// Message-ID was already seen is treated as one without an ID; a link
// that would make a loop is dropped; a node that already has a parent
// keeps it when a later References chain names another (except the
// message's own parent, step 1.C); siblings and roots are ordered by
// (date, UID), a dummy root by its oldest child.
func References(msgs []Message) []*Node {
	ids := make(map[string]*refNode, len(msgs))
	node := func(id string) *refNode {
		n := ids[id]
		if n == nil {
			n = &refNode{}
			ids[id] = n
		}
		return n
	}
	var order []*refNode // every node, in creation order
	seen := func(n *refNode) {
		if !n.listed {
			n.listed = true
			order = append(order, n)
		}
	}
	for i := range msgs {
		m := &msgs[i]
		var self *refNode
		if m.MessageID != "" {
			self = node(m.MessageID)
			if self.msg != nil {
				self = &refNode{} // duplicate Message-ID: keep the first
			}
		} else {
			self = &refNode{}
		}
		self.msg = m
		seen(self)
		// (1.A) Link the References in order, parent before child.
		var parent *refNode
		for j, id := range m.Refs {
			n := node(id)
			seen(n)
			if j > 0 {
				link(parent, n)
			}
			parent = n
		}
		// (1.C) The last reference is the message's parent; a parent
		// set by another message's References is dropped.
		if self.parent != nil && self.parent != parent {
			self.parent = nil
		}
		if parent != nil {
			link(parent, self)
		}
	}
	// (2) The root set; (3) dummies that are not roots vanish, their
	// messages going to the nearest message above them (or the dummy
	// root).
	var roots []*refNode
	for _, n := range order {
		if n.parent == nil {
			roots = append(roots, n)
			continue
		}
		if n.msg == nil {
			continue
		}
		p := n.parent
		for p.msg == nil && p.parent != nil {
			p = p.parent
		}
		p.children = append(p.children, n)
	}
	for _, n := range order {
		if n.msg != nil {
			n.date, n.uid = n.msg.Date, n.msg.UID
		}
	}
	// (4) Sort the roots; a dummy root with one child is that child.
	sortRoots(roots)
	// (5) Gather roots by base subject, then merge them.
	if gatherSubjects(roots) {
		roots = mergeSubjects(roots)
		sortRoots(roots)
	}
	var out []*Node
	for _, r := range roots {
		if r.ignore {
			continue
		}
		if r.promoted != nil {
			r = r.promoted
		}
		out = append(out, tree(r))
	}
	return out
}

// link makes parent the parent of child unless that makes a loop or the
// child already has a parent (RFC 5256 §3 step 1.A).
func link(parent, child *refNode) {
	for n := parent; n != nil; n = n.parent {
		if n == child {
			return // child is parent or one of its ancestors
		}
	}
	if child.parent == nil {
		child.parent = parent
	}
}

// sortChildren orders siblings by (date, UID).
func sortChildren(ns []*refNode) {
	slices.SortFunc(ns, func(a, b *refNode) int {
		if c := cmp.Compare(a.date, b.date); c != 0 {
			return c
		}
		return cmp.Compare(a.uid, b.uid)
	})
}

// sortRoots gives each root its sort key (a dummy root its oldest
// child's; one with one child becomes that child) and sorts them.
func sortRoots(roots []*refNode) {
	for _, r := range roots {
		if r.ignore || r.msg != nil || r.promoted != nil {
			continue
		}
		if len(r.children) == 0 {
			r.ignore = true
			continue
		}
		sortChildren(r.children)
		if len(r.children) == 1 {
			r.promoted = r.children[0]
		}
		r.date, r.uid = r.children[0].date, r.children[0].uid
	}
	slices.SortStableFunc(roots, func(a, b *refNode) int {
		if c := cmp.Compare(a.date, b.date); c != 0 {
			return c
		}
		return cmp.Compare(a.uid, b.uid)
	})
}

// self is what a root stands for: itself, or the child it was promoted
// to.
func (r *refNode) self() *refNode {
	if r.promoted != nil {
		return r.promoted
	}
	return r
}

// gatherSubjects is step 5.B: it points each root whose base subject an
// earlier (better) root has at that root (mergeInto), and reports whether
// any merging is to be done.
func gatherSubjects(roots []*refNode) bool {
	table := map[string]*refNode{}
	any := false
	for _, r := range roots {
		if r.ignore {
			continue
		}
		s := r.self()
		m := s.msg
		if m == nil {
			m = s.children[0].msg // (the children are sorted)
		}
		if !m.HasSubject {
			continue
		}
		base, rf := BaseSubject(m.Subject)
		if base == "" {
			continue
		}
		if old, ok := table[base]; !ok {
			table[base] = r
		} else {
			any = true
			// The table keeps a dummy over a message, and a message that
			// is not a reply over one that is.
			if !old.isDummy() && (r.isDummy() || old.replyFwd && !rf) {
				old.mergeInto = r
				table[base] = r
			} else {
				r.mergeInto = old
			}
		}
		r.replyFwd = rf
	}
	return any
}

func (r *refNode) isDummy() bool { return r.self().msg == nil }

// mergeSubjects is step 5.C: each root pointed at another is merged into
// the top of its chain. It returns the roots with any new dummies.
func mergeSubjects(roots []*refNode) []*refNode {
	n := len(roots)
	for i := 0; i < n; i++ {
		cur := roots[i]
		if cur.mergeInto == nil || cur.ignore {
			continue
		}
		top := cur.mergeInto
		for top.mergeInto != nil {
			top = top.mergeInto
		}
		ts, cs := top.self(), cur.self()
		switch {
		case cur.isDummy():
			// Both dummies: the children of both become siblings.
			ts.children = append(ts.children, cs.children...)
			cs.children = nil
			cur.ignore = true
		case top.isDummy() || cur.replyFwd && !top.replyFwd:
			// The current message becomes a child of the one in the
			// table (a sibling of its children).
			ts.children = append(ts.children, cs)
			cur.ignore = true
		default:
			// A new dummy holds both.
			d := &refNode{children: []*refNode{ts, cs}}
			top.mergeInto = d
			top.ignore, cur.ignore = true, true
			roots = append(roots, d)
		}
	}
	return roots
}

// tree turns a node and its descendants into Nodes, siblings sorted.
func tree(n *refNode) *Node {
	out := &Node{}
	if n.msg != nil {
		out.Num = n.msg.Num
	}
	if len(n.children) > 1 {
		sortChildren(n.children)
	}
	for _, c := range n.children {
		out.Children = append(out.Children, tree(c))
	}
	return out
}
