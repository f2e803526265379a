package jmapserver

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// TestEmailIDsAreObjectIDs: Email, Thread and Mailbox ids are the store's
// RFC 8474 object ids, one Email spans its copies, and moves, copies and
// expunges made outside JMAP show in Email/changes under that one id.
func TestEmailIDsAreObjectIDs(t *testing.T) {
	h := newHarness(t)
	res := h.deliver("", "Message-ID: <root@x>\r\nSubject: root\r\n\r\nx\r\n")
	h.deliver("", "Message-ID: <reply@x>\r\nIn-Reply-To: <root@x>\r\nSubject: Re: root\r\n\r\ny\r\n")
	ctx := context.Background()
	mbs, _ := h.st.Mailboxes(ctx, h.user)
	inbox, _ := mbs.Open(ctx, "INBOX")
	ds, err := inbox.Details(ctx, []store.UID{res.UID})
	if err != nil || len(ds) != 1 {
		t.Fatal(err)
	}
	want := ds[0]
	g := h.one("Email/get", map[string]any{"ids": []string{want.EmailID}, "properties": []string{"threadId", "mailboxIds"}})
	e := g["list"].([]any)[0].(map[string]any)
	info, _ := inbox.Info(ctx)
	if e["id"] != want.EmailID || e["threadId"] != want.ThreadID || e["mailboxIds"].(map[string]any)[info.ObjectID()] != true {
		t.Fatalf("Email/get %v; want id %s thread %s mailbox %s", e, want.EmailID, want.ThreadID, info.ObjectID())
	}
	if !regexp.MustCompile(`^M[0-9a-f]{16}$`).MatchString(want.EmailID) {
		t.Fatalf("email id %q", want.EmailID)
	}
	th := h.one("Thread/get", map[string]any{"ids": []string{want.ThreadID}})
	if ids := strs(th["list"].([]any)[0].(map[string]any)["emailIds"]); len(ids) != 2 || !slices.Contains(ids, want.EmailID) {
		t.Fatalf("Thread/get %v", th)
	}
	// Thread counts and thread keyword filters see both messages.
	mg := h.one("Mailbox/get", map[string]any{"ids": []string{info.ObjectID()}, "properties": []string{"totalEmails", "totalThreads", "unreadThreads"}})
	if m := mg["list"].([]any)[0].(map[string]any); m["totalEmails"] != 2.0 || m["totalThreads"] != 1.0 || m["unreadThreads"] != 1.0 {
		t.Fatalf("INBOX counts %v", m)
	}
	h.one("Email/set", map[string]any{"update": map[string]any{want.EmailID: map[string]any{"keywords/$seen": true}}})
	for filter, n := range map[string]int{"allInThreadHaveKeyword": 0, "someInThreadHaveKeyword": 2} {
		q := h.one("Email/query", map[string]any{"filter": map[string]any{filter: "$seen"}})
		if got := len(strs(q["ids"])); got != n {
			t.Errorf("%s $seen: %d Emails, want %d", filter, got, n)
		}
	}
	q0 := h.one("Email/query", map[string]any{"filter": map[string]any{"noneInThreadHaveKeyword": "$flagged"}, "collapseThreads": true})
	if got := len(strs(q0["ids"])); got != 1 {
		t.Errorf("noneInThreadHaveKeyword with collapseThreads: %d, want 1", got)
	}
	g = h.one("Email/get", map[string]any{"ids": []string{}})
	state := g["state"].(string)
	// IMAP COPY to Archive: the same Email, now in two mailboxes.
	if _, err := inbox.CopyTo(ctx, []store.UID{res.UID}, "Archive"); err != nil {
		t.Fatal(err)
	}
	ch := h.one("Email/changes", map[string]any{"sinceState": state})
	if u := strs(ch["updated"]); len(u) != 1 || u[0] != want.EmailID || len(strs(ch["created"])) != 0 {
		t.Fatalf("changes after COPY %v", ch)
	}
	g = h.one("Email/get", map[string]any{"ids": []string{want.EmailID}, "properties": []string{"mailboxIds"}})
	if n := len(g["list"].([]any)[0].(map[string]any)["mailboxIds"].(map[string]any)); n != 2 {
		t.Fatalf("mailboxIds after COPY: %v", g)
	}
	q := h.one("Email/query", map[string]any{"calculateTotal": true})
	if q["total"] != 2.0 {
		t.Fatalf("Email/query must count an Email with two copies once: %v", q)
	}
	// IMAP EXPUNGE of the INBOX copy: updated (still in Archive); then of
	// the last copy: destroyed, long after the content is gone.
	state = ch["newState"].(string)
	if _, err := inbox.Expunge(ctx, []store.UID{res.UID}); err != nil {
		t.Fatal(err)
	}
	ch = h.one("Email/changes", map[string]any{"sinceState": state})
	if u := strs(ch["updated"]); len(u) != 1 || u[0] != want.EmailID || len(strs(ch["destroyed"])) != 0 {
		t.Fatalf("changes after expunging one copy %v", ch)
	}
	state = ch["newState"].(string)
	s := h.one("Email/set", map[string]any{"destroy": []string{want.EmailID}})
	if d := strs(s["destroyed"]); len(d) != 1 {
		t.Fatalf("destroy %v", s)
	}
	ch = h.one("Email/changes", map[string]any{"sinceState": state})
	if d := strs(ch["destroyed"]); len(d) != 1 || d[0] != want.EmailID {
		t.Fatalf("changes after destroying the last copy %v", ch)
	}
	tc := h.one("Thread/changes", map[string]any{"sinceState": "t" + state[1:]})
	if u := strs(tc["updated"]); len(u) != 1 || u[0] != want.ThreadID {
		t.Fatalf("Thread/changes %v", tc)
	}
}
