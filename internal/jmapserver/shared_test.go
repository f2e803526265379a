package jmapserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// sharedFixture: bob shares mailboxes with alice (the harness user) with
// different rights, one message in each, and one in bob's own INBOX.
type sharedFixture struct {
	h     *harness
	bob   string // bob's JMAP account id, as alice sees it
	acls  store.ACLs
	email map[string]string // mailbox name → the Email id of its message
	mbox  map[string]string // mailbox name → its Mailbox id
}

// The mailboxes of bob and alice's rights on them.
var sharedRights = map[string]string{
	"Team":   "lrswitex", // everything a message needs, rename and delete (no k)
	"Ro":     "lr",
	"Seen":   "lrs",
	"Listed": "l",
	"Insert": "lri",
	"Hidden": "",
}

func newSharedFixture(t *testing.T) *sharedFixture {
	h := newHarness(t)
	acls, ok := h.st.(store.ACLs)
	if !ok {
		t.Skip("store keeps no ACLs")
	}
	ctx := context.Background()
	const owner = "bob@example.com"
	bobAcct, _ := h.st.Account(ctx, owner)
	f := &sharedFixture{h: h, bob: accountID(bobAcct), acls: acls, email: map[string]string{}, mbox: map[string]string{}}
	mbs, _ := h.st.Mailboxes(ctx, owner)
	for _, name := range slices.Sorted(mapsKeys(sharedRights)) {
		info, err := mbs.Create(ctx, name, "")
		if err != nil {
			t.Fatal(err)
		}
		f.mbox[name] = mailboxID(info)
		if r := sharedRights[name]; r != "" {
			rights, _ := store.ParseRights(r)
			if err := acls.SetACL(ctx, owner, name, h.user, rights); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range append(slices.Sorted(mapsKeys(sharedRights)), "INBOX") {
		f.email[name] = f.deliver(name, "in "+name)
	}
	return f
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// deliver stores a message in bob's mailbox (as SMTP or bob's IMAP
// session would) and returns its Email id.
func (f *sharedFixture) deliver(mailbox, subject string) string {
	f.h.t.Helper()
	ctx := context.Background()
	res, err := f.h.st.Deliver(ctx, strings.NewReader("From: carol@example.com\r\nTo: bob@example.com\r\nSubject: "+subject+"\r\n\r\nhello\r\n"),
		[]store.Target{{Account: "bob@example.com", Mailbox: mailbox}})
	if err != nil || res[0].Err != nil {
		f.h.t.Fatalf("deliver: %v %v", err, res)
	}
	mbs, _ := f.h.st.Mailboxes(ctx, "bob@example.com")
	mb, _ := mbs.Open(ctx, mailbox)
	ds, err := mb.Details(ctx, []store.UID{res[0].UID})
	if err != nil || len(ds) != 1 {
		f.h.t.Fatalf("details: %v", err)
	}
	return ds[0].EmailID
}

// in calls a method in bob's account as alice.
func (f *sharedFixture) in(name string, args map[string]any) map[string]any {
	f.h.t.Helper()
	args["accountId"] = f.bob
	return f.h.one(name, args)
}

// setErr returns the SetError type for id in a /set response's notX.
func setErr(res map[string]any, kind, id string) string {
	m, _ := res[kind].(map[string]any)
	if e, ok := m[id].(map[string]any); ok {
		return e["type"].(string)
	}
	return ""
}

// TestSharedAccountView: bob's shared mailboxes are a second account in
// alice's session (not personal, mail only), listing only those with l,
// with myRights from the ACL; Emails only of those with r; a change of
// the ACL counts from the next call.
func TestSharedAccountView(t *testing.T) {
	f := newSharedFixture(t)
	h := f.h
	resp, body := h.do("GET", "/.well-known/jmap", "", nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	var sess struct {
		Accounts map[string]struct {
			Name                string
			IsPersonal          bool
			IsReadOnly          bool
			AccountCapabilities map[string]any
		}
		PrimaryAccounts map[string]string
		State           string
	}
	json.Unmarshal(body, &sess)
	sa, ok := sess.Accounts[f.bob]
	if !ok || sa.Name != "bob@example.com" || sa.IsPersonal || sa.IsReadOnly || len(sa.AccountCapabilities) != 1 || sa.AccountCapabilities[capMail] == nil {
		t.Fatalf("shared account in the session: %+v (%s)", sa, body)
	}
	if sess.PrimaryAccounts[capMail] != h.acct || !sess.Accounts[h.acct].IsPersonal {
		t.Fatalf("primary account: %s", body)
	}

	got := f.in("Mailbox/get", map[string]any{"ids": nil})
	names := map[string]map[string]any{}
	for _, o := range got["list"].([]any) {
		m := o.(map[string]any)
		names[m["name"].(string)] = m
	}
	if len(names) != 5 || names["Hidden"] != nil || names["Inbox"] != nil || names["Listed"] == nil {
		t.Fatalf("shared mailboxes listed: %v", slices.Sorted(func(y func(string) bool) {
			for k := range names {
				y(k)
			}
		}))
	}
	rights := func(name string) map[string]any { return names[name]["myRights"].(map[string]any) }
	if r := rights("Ro"); r["mayReadItems"] != true || r["maySetSeen"] != false || r["mayAddItems"] != false || r["mayRemoveItems"] != false || r["mayRename"] != false {
		t.Fatalf("Ro myRights %v", r)
	}
	if r := rights("Team"); r["mayReadItems"] != true || r["maySetSeen"] != true || r["maySetKeywords"] != true || r["mayAddItems"] != true ||
		r["mayRemoveItems"] != true || r["mayRename"] != true || r["mayDelete"] != true || r["mayCreateChild"] != false || r["maySubmit"] != false {
		t.Fatalf("Team myRights %v", r)
	}
	if r := rights("Listed"); r["mayReadItems"] != false || names["Listed"]["totalEmails"] != 0.0 {
		t.Fatalf("Listed: %v", names["Listed"])
	}
	if names["Ro"]["totalEmails"] != 1.0 {
		t.Fatalf("Ro counts %v", names["Ro"])
	}

	ids := strs(f.in("Email/query", map[string]any{})["ids"])
	slices.Sort(ids)
	want := []string{f.email["Team"], f.email["Ro"], f.email["Seen"], f.email["Insert"]}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("Email/query in the shared account: %v, want %v", ids, want)
	}
	g := f.in("Email/get", map[string]any{"ids": []string{f.email["Ro"], f.email["Hidden"], f.email["Listed"], f.email["INBOX"]}, "properties": []string{"mailboxIds", "subject"}})
	if len(g["list"].([]any)) != 1 || len(strs(g["notFound"])) != 3 {
		t.Fatalf("Email/get: %v", g)
	}
	for name, code := range map[string]int{"Ro": 200, "Hidden": 404, "Listed": 404} {
		if resp, _ := h.do("GET", "/jmap/download/"+f.bob+"/"+blobID(f.email[name])+"/m.eml", "", nil); resp.StatusCode != code {
			t.Errorf("download of the message in %s: %d, want %d", name, resp.StatusCode, code)
		}
	}
	if ids := strs(f.in("Email/query", map[string]any{"filter": map[string]any{"inMailbox": f.mbox["Listed"]}})["ids"]); len(ids) != 0 {
		t.Fatalf("inMailbox of a mailbox without r: %v", ids)
	}
	// Alice's own account is unchanged.
	if own := strs(h.one("Email/query", map[string]any{})["ids"]); len(own) != 0 {
		t.Fatalf("alice's own account shows %v", own)
	}
	// Not shared, or not a mail method: no such account.
	for _, m := range []string{"EmailSubmission/get", "Identity/get"} {
		r := h.api([]any{m, map[string]any{"accountId": f.bob}, "0"})
		if r[0][0] != "error" || r[0][1].(map[string]any)["type"] != "accountNotFound" {
			t.Fatalf("%s in a shared account: %v", m, r[0])
		}
	}

	// Bob takes r away from Ro: from the next call on, its Email is gone
	// and myRights say so; the Mailbox state moved.
	mst := f.in("Mailbox/get", map[string]any{"ids": []string{}})["state"].(string)
	if err := f.acls.SetACL(context.Background(), "bob@example.com", "Ro", h.user, store.RightLookup); err != nil {
		t.Fatal(err)
	}
	if ids := strs(f.in("Email/query", map[string]any{})["ids"]); slices.Contains(ids, f.email["Ro"]) {
		t.Fatal("an Email stays visible after r was taken away")
	}
	ch := f.in("Mailbox/changes", map[string]any{"sinceState": mst})
	if !slices.Contains(strs(ch["updated"]), f.mbox["Ro"]) {
		t.Fatalf("Mailbox/changes after SETACL: %v", ch)
	}
	// Bob takes everything away: the account leaves the session.
	for name, r := range sharedRights {
		if r != "" {
			f.acls.DeleteACL(context.Background(), "bob@example.com", name, h.user)
		}
	}
	_, body = h.do("GET", "/.well-known/jmap", "", nil)
	var after struct{ Accounts map[string]any }
	json.Unmarshal(body, &after)
	if _, ok := after.Accounts[f.bob]; ok || len(after.Accounts) != 1 {
		t.Fatalf("accounts after the ACLs went: %s", body)
	}
	if typ := h.oneErr("Mailbox/get", map[string]any{"accountId": f.bob}); typ != "accountNotFound" {
		t.Fatalf("Mailbox/get in an account no longer shared: %s", typ)
	}
}

// TestSharedAccountRights: Email/set, import, copy and Mailbox/set in a
// shared account answer forbidden where the ACL does not allow the change
// (as IMAP's STORE, APPEND, COPY, MOVE, EXPUNGE, RENAME and DELETE check),
// and change nothing; with the right they work.
func TestSharedAccountRights(t *testing.T) {
	f := newSharedFixture(t)
	h := f.h
	set := func(args map[string]any) map[string]any { return f.in("Email/set", args) }
	upd := func(name string, patch map[string]any) string {
		t.Helper()
		return setErr(set(map[string]any{"update": map[string]any{f.email[name]: patch}}), "notUpdated", f.email[name])
	}
	keywords := func(name string) map[string]any {
		t.Helper()
		g := f.in("Email/get", map[string]any{"ids": []string{f.email[name]}, "properties": []string{"keywords", "mailboxIds"}})
		return g["list"].([]any)[0].(map[string]any)
	}
	cases := []struct {
		mailbox string
		patch   map[string]any
		want    string // "" = allowed
	}{
		{"Ro", map[string]any{"keywords/$seen": true}, "forbidden"},      // no s
		{"Ro", map[string]any{"keywords/$flagged": true}, "forbidden"},   // no w
		{"Seen", map[string]any{"keywords/$flagged": true}, "forbidden"}, // s but no w
		{"Seen", map[string]any{"keywords": map[string]any{"$flagged": true}}, "forbidden"},
		{"Seen", map[string]any{"keywords/$seen": true}, ""}, // s
		{"Team", map[string]any{"keywords/$flagged": true, "keywords/$seen": true}, ""},
		{"Ro", map[string]any{"mailboxIds/" + f.mbox["Team"]: true}, ""},                            // a copy into Team: i there is enough, Ro keeps its copy
		{"Team", map[string]any{"mailboxIds": map[string]any{f.mbox["Ro"]: true}}, "forbidden"},     // no i on Ro
		{"Insert", map[string]any{"mailboxIds": map[string]any{f.mbox["Team"]: true}}, "forbidden"}, // no t/e on Insert
	}
	for i, c := range cases {
		if got := upd(c.mailbox, c.patch); got != c.want {
			t.Errorf("case %d: update of the Email in %s with %v: %q, want %q", i, c.mailbox, c.patch, got, c.want)
		}
	}
	if kw := keywords("Ro")["keywords"].(map[string]any); len(kw) != 0 {
		t.Errorf("a refused update changed keywords: %v", kw)
	}
	if kw := keywords("Seen")["keywords"].(map[string]any); kw["$seen"] != true || kw["$flagged"] != nil {
		t.Errorf("Seen keywords %v", kw)
	}
	if mb := keywords("Ro")["mailboxIds"].(map[string]any); len(mb) != 2 || mb[f.mbox["Team"]] != true {
		t.Errorf("copy into Team: %v", mb)
	}
	// Destroy: needs t and e on every mailbox the Email is in.
	res := set(map[string]any{"destroy": []string{f.email["Seen"], f.email["Team"], f.email["Ro"]}})
	if setErr(res, "notDestroyed", f.email["Seen"]) != "forbidden" || setErr(res, "notDestroyed", f.email["Ro"]) != "forbidden" ||
		!slices.Contains(strs(res["destroyed"]), f.email["Team"]) {
		t.Errorf("destroy: %v", res)
	}
	// Move out of Team (t, e) into Insert (i).
	// The flags alice may not set in Insert (no s, no w) do not go with
	// it, as IMAP MOVE into a shared mailbox leaves them behind.
	f.email["Team"] = f.deliver("Team", "again")
	if got := upd("Team", map[string]any{"keywords": map[string]any{"$seen": true, "$flagged": true}}); got != "" {
		t.Errorf("keywords in Team: %q", got)
	}
	if got := upd("Team", map[string]any{"mailboxIds": map[string]any{f.mbox["Insert"]: true}}); got != "" {
		t.Errorf("move Team → Insert: %q", got)
	}
	if g := keywords("Team"); len(g["keywords"].(map[string]any)) != 0 || g["mailboxIds"].(map[string]any)[f.mbox["Insert"]] != true {
		t.Errorf("after the move into Insert: %v", g)
	}
	// Create (APPEND): i, and the keywords' rights.
	create := func(mbox string, kw map[string]any) string {
		t.Helper()
		obj := map[string]any{"mailboxIds": map[string]any{f.mbox[mbox]: true}, "subject": "new", "from": []any{map[string]any{"email": "alice@example.com"}},
			"textBody": []any{map[string]any{"partId": "1", "type": "text/plain"}}, "bodyValues": map[string]any{"1": map[string]any{"value": "hi"}}}
		if kw != nil {
			obj["keywords"] = kw
		}
		return setErr(set(map[string]any{"create": map[string]any{"n": obj}}), "notCreated", "n")
	}
	if got := create("Ro", nil); got != "forbidden" {
		t.Errorf("create in Ro: %q", got)
	}
	if got := create("Insert", map[string]any{"$flagged": true}); got != "forbidden" {
		t.Errorf("create in Insert with $flagged (no w): %q", got)
	}
	if got := create("Insert", nil); got != "" {
		t.Errorf("create in Insert: %q", got)
	}
	bobInsert := func() int {
		mbs, _ := h.st.Mailboxes(context.Background(), "bob@example.com")
		st, _ := mbs.Status(context.Background(), "Insert")
		return st.Messages
	}
	if n := bobInsert(); n != 3 { // its own, the one moved in, the one created
		t.Errorf("bob's Insert holds %d messages, want 3", n)
	}
	// Email/copy across accounts: out of bob's Seen into alice's INBOX
	// (a new Email in alice's account), and from alice's into bob's Ro
	// (no i) and Insert.
	inbox := ""
	for _, o := range h.one("Mailbox/get", map[string]any{"ids": nil})["list"].([]any) {
		if m := o.(map[string]any); m["role"] == "inbox" {
			inbox = m["id"].(string)
		}
	}
	cp := h.one("Email/copy", map[string]any{"fromAccountId": f.bob, "accountId": h.acct,
		"create": map[string]any{"c": map[string]any{"id": f.email["Seen"], "mailboxIds": map[string]any{inbox: true}}}})
	created, _ := cp["created"].(map[string]any)
	if created["c"] == nil {
		t.Fatalf("Email/copy from the shared account: %v", cp)
	}
	mine := created["c"].(map[string]any)["id"].(string)
	if mine == f.email["Seen"] {
		t.Error("a copy into another account kept the Email id")
	}
	if kw := h.one("Email/get", map[string]any{"ids": []string{mine}, "properties": []string{"keywords"}})["list"].([]any)[0].(map[string]any)["keywords"].(map[string]any); kw["$seen"] != true {
		t.Errorf("copied keywords %v", kw)
	}
	back := h.one("Email/copy", map[string]any{"fromAccountId": h.acct, "accountId": f.bob, "create": map[string]any{
		"no": map[string]any{"id": mine, "mailboxIds": map[string]any{f.mbox["Ro"]: true}},
		"ok": map[string]any{"id": mine, "mailboxIds": map[string]any{f.mbox["Insert"]: true}, "keywords": map[string]any{}}}})
	if setErr(back, "notCreated", "no") != "forbidden" || back["created"].(map[string]any)["ok"] == nil {
		t.Errorf("Email/copy into the shared account: %v", back)
	}
	if n := bobInsert(); n != 4 {
		t.Errorf("bob's Insert holds %d messages after the copy, want 4", n)
	}
	// Mailbox/set: rename and destroy need x; a child needs k.
	ms := f.in("Mailbox/set", map[string]any{"update": map[string]any{f.mbox["Ro"]: map[string]any{"name": "Renamed"}},
		"destroy": []string{f.mbox["Seen"]}, "create": map[string]any{"k": map[string]any{"name": "Sub", "parentId": f.mbox["Team"]}}})
	if setErr(ms, "notUpdated", f.mbox["Ro"]) != "forbidden" || setErr(ms, "notDestroyed", f.mbox["Seen"]) != "forbidden" ||
		setErr(ms, "notCreated", "k") != "forbidden" {
		t.Errorf("Mailbox/set without x, k: %v", ms)
	}
	ms = f.in("Mailbox/set", map[string]any{"update": map[string]any{f.mbox["Team"]: map[string]any{"name": "Crew", "isSubscribed": true}}})
	if _, ok := ms["updated"].(map[string]any)[f.mbox["Team"]]; !ok {
		t.Fatalf("rename with x: %v", ms)
	}
	bobMbs, _ := h.st.Mailboxes(context.Background(), "bob@example.com")
	if _, err := bobMbs.Get(context.Background(), "Crew"); err != nil {
		t.Errorf("bob's Team was not renamed: %v", err)
	}
	aliceMbs, _ := h.st.Mailboxes(context.Background(), h.user)
	if subs, _ := aliceMbs.Subscriptions(context.Background()); !slices.Contains(subs, "shared/bob@example.com/Crew") {
		t.Errorf("alice's subscriptions %v", subs)
	}
	if bobSubs, _ := bobMbs.Subscriptions(context.Background()); slices.Contains(bobSubs, "Crew") {
		t.Error("alice's subscribe changed bob's subscriptions")
	}
	// With k on Crew, a child can be made; it takes Crew's ACL, so alice
	// sees it with the same rights.
	crewRights, _ := store.ParseRights("lrswitexk")
	if err := f.acls.SetACL(context.Background(), "bob@example.com", "Crew", h.user, crewRights); err != nil {
		t.Fatal(err)
	}
	ms = f.in("Mailbox/set", map[string]any{"create": map[string]any{"k": map[string]any{"name": "Sub", "parentId": f.mbox["Team"]}},
		"update": map[string]any{f.mbox["Insert"]: map[string]any{"parentId": f.mbox["Team"]}}})
	c, _ := ms["created"].(map[string]any)["k"].(map[string]any)
	if c == nil || c["myRights"].(map[string]any)["mayCreateChild"] != true {
		t.Fatalf("create below a mailbox with k: %v", ms)
	}
	if setErr(ms, "notUpdated", f.mbox["Insert"]) != "forbidden" {
		t.Errorf("moving Insert (no x) below Crew: %v", ms)
	}
	if g := f.in("Mailbox/get", map[string]any{"ids": []string{c["id"].(string)}}); len(g["list"].([]any)) != 1 {
		t.Errorf("the new mailbox is not visible: %v", g)
	}
	if _, err := bobMbs.Get(context.Background(), "Crew/Sub"); err != nil {
		t.Errorf("bob has no Crew/Sub: %v", err)
	}
}

// TestSharedAccountChangesAndPush: a change bob's side makes over the
// store (a delivery, a flag) is in alice's Email/changes of the shared
// account and reaches her EventSource as a StateChange for that account;
// a change in a mailbox she cannot read moves nothing.
func TestSharedAccountChangesAndPush(t *testing.T) {
	f := newSharedFixture(t)
	h := f.h
	since := f.in("Email/get", map[string]any{"ids": []string{}})["state"].(string)

	req, _ := http.NewRequest("GET", h.http.URL+"/jmap/eventsource/?types=Email,Mailbox&closeafter=no&ping=0", nil)
	req.SetBasicAuth(h.user, testPassword)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("eventsource: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	// Nothing alice can see: no event.
	f.deliver("Hidden", "secret")
	f.deliver("Listed", "secret too")
	select {
	case ev := <-events:
		t.Fatalf("event for a change alice cannot see: %s", ev)
	case <-time.After(300 * time.Millisecond):
	}
	// Bob's side: a delivery into Team and \Flagged on the Ro message.
	newID := f.deliver("Team", "news")
	mbs, _ := h.st.Mailboxes(context.Background(), "bob@example.com")
	ro, _ := mbs.Open(context.Background(), "Ro")
	msgs, _ := ro.Messages(context.Background())
	if _, err := ro.StoreFlags(context.Background(), []store.UID{msgs[0].UID}, store.FlagsAdd, []string{store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	cur := f.in("Email/get", map[string]any{"ids": []string{}})["state"].(string)
	for seen := false; !seen; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			var sc struct {
				Type    string                       `json:"@type"`
				Changed map[string]map[string]string `json:"changed"`
			}
			json.Unmarshal([]byte(ev), &sc)
			if sc.Type != "StateChange" || sc.Changed[f.bob] == nil {
				t.Fatalf("event %s", ev)
			}
			if _, own := sc.Changed[h.acct]; own {
				t.Fatalf("alice's own account reported changed: %s", ev)
			}
			seen = sc.Changed[f.bob]["Email"] == cur
		case <-deadline:
			t.Fatal("no StateChange reached the final Email state of the shared account")
		}
	}
	ch := f.in("Email/changes", map[string]any{"sinceState": since})
	if c, u := strs(ch["created"]), strs(ch["updated"]); !slices.Equal(c, []string{newID}) || !slices.Equal(u, []string{f.email["Ro"]}) || len(strs(ch["destroyed"])) != 0 {
		t.Fatalf("Email/changes in the shared account: %v", ch)
	}
	// An expunge on bob's side is a destroy for alice.
	team, _ := mbs.Open(context.Background(), "Team")
	tm, _ := team.Messages(context.Background())
	if _, err := team.Expunge(context.Background(), []store.UID{tm[len(tm)-1].UID}); err != nil {
		t.Fatal(err)
	}
	ch = f.in("Email/changes", map[string]any{"sinceState": ch["newState"]})
	if d := strs(ch["destroyed"]); !slices.Equal(d, []string{newID}) {
		t.Fatalf("Email/changes after bob's expunge: %v", ch)
	}
}
