package jmapserver

import (
	"context"
	"testing"
)

func TestMailboxGetSetChanges(t *testing.T) {
	h := newHarness(t)
	h.deliver("", "Subject: a\r\n\r\nx\r\n")
	h.deliver("", "Subject: b\r\n\r\ny\r\n", `\Seen`)
	g := h.one("Mailbox/get", map[string]any{"ids": nil})
	state := g["state"].(string)
	var inbox map[string]any
	for _, m := range g["list"].([]any) {
		if m.(map[string]any)["role"] == "inbox" {
			inbox = m.(map[string]any)
		}
	}
	if inbox == nil || inbox["totalEmails"] != 2.0 || inbox["unreadEmails"] != 1.0 || inbox["myRights"].(map[string]any)["mayDelete"] != true {
		t.Fatalf("inbox %v", inbox)
	}
	// Create a parent and a child in one call; the child names "#p".
	s := h.one("Mailbox/set", map[string]any{"create": map[string]any{
		"c": map[string]any{"name": "Child", "parentId": "#p"},
		"p": map[string]any{"name": "Projects", "isSubscribed": true, "sortOrder": 3},
	}})
	created := s["created"].(map[string]any)
	if len(created) != 2 {
		t.Fatalf("set %v", s)
	}
	pid := created["p"].(map[string]any)["id"].(string)
	cid := created["c"].(map[string]any)["id"].(string)
	ch := h.one("Mailbox/changes", map[string]any{"sinceState": state})
	if got := strs(ch["created"]); len(got) != 2 || ch["newState"] != s["newState"] {
		t.Fatalf("changes %v (set newState %v)", ch, s["newState"])
	}
	g2 := h.one("Mailbox/get", map[string]any{"ids": []string{cid, pid}})
	child := g2["list"].([]any)[0].(map[string]any)
	parent := g2["list"].([]any)[1].(map[string]any)
	if child["parentId"] != pid || child["name"] != "Child" || parent["sortOrder"] != 3.0 || parent["isSubscribed"] != true {
		t.Fatalf("get %v", g2)
	}
	// A new message changes only the counts.
	st2 := g2["state"].(string)
	h.deliver("Projects", "Subject: c\r\n\r\nz\r\n")
	ch = h.one("Mailbox/changes", map[string]any{"sinceState": st2})
	if got := strs(ch["updated"]); len(got) != 1 || got[0] != pid || ch["updatedProperties"] == nil {
		t.Fatalf("changes after delivery %v", ch)
	}
	// Rename, move, destroy rules.
	s = h.one("Mailbox/set", map[string]any{
		"update":  map[string]any{cid: map[string]any{"name": "Renamed", "parentId": nil}},
		"destroy": []string{pid},
	})
	if s["notDestroyed"].(map[string]any)[pid].(map[string]any)["type"] != "mailboxHasEmail" {
		t.Fatalf("destroy of a mailbox with mail: %v", s)
	}
	if _, ok := s["updated"].(map[string]any)[cid]; !ok {
		t.Fatalf("rename: %v", s)
	}
	mbs, _ := h.st.Mailboxes(context.Background(), h.user)
	if _, err := mbs.Get(context.Background(), "Renamed"); err != nil {
		t.Fatalf("renamed mailbox not in the store: %v", err)
	}
	s = h.one("Mailbox/set", map[string]any{"destroy": []string{pid}, "onDestroyRemoveEmails": true,
		"create": map[string]any{"bad": map[string]any{"name": "a/b"}, "dup": map[string]any{"name": "Renamed"}}})
	if strs(s["destroyed"])[0] != pid || s["notCreated"].(map[string]any)["bad"].(map[string]any)["type"] != "invalidProperties" ||
		s["notCreated"].(map[string]any)["dup"].(map[string]any)["type"] != "alreadyExists" {
		t.Fatalf("destroy/create: %v", s)
	}
	ch = h.one("Mailbox/changes", map[string]any{"sinceState": st2, "maxChanges": 1})
	if ch["hasMoreChanges"] != true {
		t.Fatalf("maxChanges 1: %v", ch)
	}
	ch2 := h.one("Mailbox/changes", map[string]any{"sinceState": ch["newState"]})
	if len(strs(ch["updated"]))+len(strs(ch2["updated"]))+len(strs(ch["destroyed"]))+len(strs(ch2["destroyed"])) != 2 {
		t.Fatalf("paged changes %v then %v", ch, ch2)
	}
}

func TestMailboxQuery(t *testing.T) {
	h := newHarness(t)
	h.one("Mailbox/set", map[string]any{"create": map[string]any{
		"a": map[string]any{"name": "Alpha"}, "b": map[string]any{"name": "Beta", "parentId": "#a"}}})
	q := h.one("Mailbox/query", map[string]any{"filter": map[string]any{"hasAnyRole": false},
		"sort": []any{map[string]any{"property": "name"}}, "sortAsTree": true, "calculateTotal": true})
	ids := strs(q["ids"])
	if len(ids) != 2 || q["total"] != 2.0 {
		t.Fatalf("query %v", q)
	}
	q2 := h.one("Mailbox/query", map[string]any{"filter": map[string]any{"operator": "OR", "conditions": []any{
		map[string]any{"role": "inbox"}, map[string]any{"name": "bet"}}}, "position": 1, "limit": 1})
	if len(strs(q2["ids"])) != 1 || q2["position"] != 1.0 {
		t.Fatalf("OR query %v", q2)
	}
	st := q["queryState"].(string)
	h.one("Mailbox/set", map[string]any{"create": map[string]any{"g": map[string]any{"name": "Gamma"}}})
	qc := h.one("Mailbox/queryChanges", map[string]any{"sinceQueryState": st, "filter": map[string]any{"hasAnyRole": false},
		"sort": []any{map[string]any{"property": "name"}}})
	if added := qc["added"].([]any); len(added) != 1 || added[0].(map[string]any)["index"] != 2.0 {
		t.Fatalf("queryChanges %v", qc)
	}
}
