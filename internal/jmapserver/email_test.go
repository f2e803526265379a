package jmapserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const mixedMsg = "From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.org>\r\n" +
	"To: alice@example.com, Group: bob@example.com;\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and plans\r\n" +
	"Date: Mon, 02 Jan 2023 15:04:05 +0100\r\n" +
	"Message-ID: <m1@example.org>\r\n" +
	"References: <r0@example.org> <r1@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n" +
	"--b2\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHallo J=FCrgen, the zebra plan.\r\n" +
	"--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hallo <b>zebra</b></p>\r\n" +
	"--b2--\r\n" +
	"--b1\r\nContent-Type: application/pdf; name=doc.pdf\r\nContent-Disposition: attachment; filename=doc.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gUERG\r\n" +
	"--b1--\r\n"

func TestEmailGetProperties(t *testing.T) {
	h := newHarness(t)
	h.deliver("", mixedMsg)
	q := h.one("Email/query", map[string]any{"filter": map[string]any{"text": "zebra"}})
	ids := strs(q["ids"])
	if len(ids) != 1 {
		t.Fatalf("query %v", q)
	}
	g := h.one("Email/get", map[string]any{"ids": ids, "fetchAllBodyValues": true, "maxBodyValueBytes": 12,
		"properties": []string{"subject", "from", "to", "sentAt", "messageId", "references", "hasAttachment", "preview",
			"textBody", "htmlBody", "attachments", "bodyValues", "bodyStructure", "keywords", "mailboxIds",
			"header:Subject:asText", "header:To:asGroupedAddresses", "header:Message-ID", "header:X-None:all"}})
	e := g["list"].([]any)[0].(map[string]any)
	b, _ := json.Marshal(e)
	s := string(b)
	for _, want := range []string{`"subject":"Grüße and plans"`, `"name":"Jürgen"`, `"sentAt":"2023-01-02T15:04:05+01:00"`,
		`"messageId":["m1@example.org"]`, `"references":["r0@example.org","r1@example.org"]`, `"hasAttachment":true`,
		`"header:Message-ID":" \u003cm1@example.org\u003e"`, `"header:X-None:all":[]`, `"name":"Group"`,
		`"isTruncated":true`, `"name":"doc.pdf"`, `"type":"application/pdf"`, `"size":9`} {
		if !strings.Contains(s, want) {
			t.Errorf("Email/get lacks %s:\n%s", want, s)
		}
	}
	if tb := e["textBody"].([]any); len(tb) != 1 || tb[0].(map[string]any)["type"] != "text/plain" {
		t.Errorf("textBody %v", tb)
	}
	if !strings.HasPrefix(e["preview"].(string), "Hallo Jürgen") {
		t.Errorf("preview %q", e["preview"])
	}
	if h.oneErr("Email/get", map[string]any{"ids": ids, "properties": []string{"header:From:asDate"}}) != meInvalidArguments {
		t.Error("header:From:asDate accepted")
	}
	// Download the attachment's blob: decoded.
	att := e["attachments"].([]any)[0].(map[string]any)
	resp, body := h.do("GET", "/jmap/download/"+h.acct+"/"+att["blobId"].(string)+"/doc.pdf?accept=application/pdf", "", nil)
	if resp.StatusCode != 200 || string(body) != "Hello PDF" {
		t.Errorf("download %d %q", resp.StatusCode, body)
	}
}

func TestEmailQuerySetChanges(t *testing.T) {
	h := newHarness(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		res, err := h.st.Deliver(context.Background(), strings.NewReader("From: s"+string(rune('a'+i))+"@x.org\r\nSubject: m"+string(rune('0'+i))+"\r\n\r\nbody\r\n"),
			[]storeTarget{{Account: h.user, InternalDate: base.Add(time.Duration(i) * time.Hour)}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	g := h.one("Mailbox/get", map[string]any{})
	inbox := ""
	for _, m := range g["list"].([]any) {
		if m.(map[string]any)["role"] == "inbox" {
			inbox = m.(map[string]any)["id"].(string)
		}
	}
	q := h.one("Email/query", map[string]any{"filter": map[string]any{"inMailbox": inbox},
		"sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}, "limit": 2, "calculateTotal": true})
	ids := strs(q["ids"])
	if len(ids) != 2 || q["total"] != 5.0 {
		t.Fatalf("query %v", q)
	}
	state := q["queryState"].(string)
	q2 := h.one("Email/query", map[string]any{"filter": map[string]any{"operator": "AND", "conditions": []any{
		map[string]any{"after": "2024-01-01T02:00:00Z"}, map[string]any{"from": "sd@"}}}})
	if got := strs(q2["ids"]); len(got) != 1 {
		t.Fatalf("AND query %v", q2)
	}
	// Flag through Email/set; the change shows in Email/changes as updated.
	s := h.one("Email/set", map[string]any{"update": map[string]any{ids[0]: map[string]any{"keywords/$seen": true, "keywords/$flagged": true}}})
	if _, ok := s["updated"].(map[string]any)[ids[0]]; !ok {
		t.Fatalf("set %v", s)
	}
	ch := h.one("Email/changes", map[string]any{"sinceState": state})
	if got := strs(ch["updated"]); len(got) != 1 || got[0] != ids[0] || ch["newState"] != s["newState"] {
		t.Fatalf("changes %v (set %v)", ch, s)
	}
	kw := h.one("Email/get", map[string]any{"ids": ids[:1], "properties": []string{"keywords"}})
	if k := kw["list"].([]any)[0].(map[string]any)["keywords"].(map[string]any); k["$seen"] != true || k["$flagged"] != true {
		t.Fatalf("keywords %v", k)
	}
	q3 := h.one("Email/query", map[string]any{"filter": map[string]any{"hasKeyword": "$flagged"}})
	if len(strs(q3["ids"])) != 1 {
		t.Fatalf("hasKeyword %v", q3)
	}
	// Destroy one; queryChanges reports it removed.
	st2 := s["newState"].(string)
	s = h.one("Email/set", map[string]any{"destroy": []string{ids[1]}})
	qc := h.one("Email/queryChanges", map[string]any{"sinceQueryState": st2, "filter": map[string]any{"inMailbox": inbox},
		"sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}})
	if r := strs(qc["removed"]); len(r) != 1 || r[0] != ids[1] {
		t.Fatalf("queryChanges %v", qc)
	}
	ch = h.one("Email/changes", map[string]any{"sinceState": st2})
	if d := strs(ch["destroyed"]); len(d) != 1 || d[0] != ids[1] {
		t.Fatalf("changes after destroy %v", ch)
	}
	// New mail: created.
	h.deliver("", "Subject: new\r\n\r\nx\r\n")
	ch = h.one("Email/changes", map[string]any{"sinceState": ch["newState"]})
	if len(strs(ch["created"])) != 1 {
		t.Fatalf("changes after delivery %v", ch)
	}
	// Move to Archive via mailboxIds.
	arch := ""
	for _, m := range g["list"].([]any) {
		if m.(map[string]any)["role"] == "archive" {
			arch = m.(map[string]any)["id"].(string)
		}
	}
	s = h.one("Email/set", map[string]any{"update": map[string]any{ids[0]: map[string]any{"mailboxIds": map[string]bool{arch: true}}}})
	if _, ok := s["updated"].(map[string]any)[ids[0]]; !ok {
		t.Fatalf("move %v", s)
	}
	q4 := h.one("Email/query", map[string]any{"filter": map[string]any{"inMailbox": arch}})
	if len(strs(q4["ids"])) != 1 {
		t.Fatalf("archive query %v", q4)
	}
}

func TestEmailCreateImportParseSubmit(t *testing.T) {
	h := newHarness(t)
	g := h.one("Mailbox/get", map[string]any{})
	roles := map[string]string{}
	for _, m := range g["list"].([]any) {
		if r, ok := m.(map[string]any)["role"].(string); ok {
			roles[r] = m.(map[string]any)["id"].(string)
		}
	}
	// A draft with an attachment uploaded first.
	resp, b := h.do("POST", "/jmap/upload/"+h.acct+"/", "text/csv", []byte("a,b\n1,2\n"))
	if resp.StatusCode != 201 {
		t.Fatalf("upload %d %s", resp.StatusCode, b)
	}
	var up map[string]any
	json.Unmarshal(b, &up)
	r := h.api(
		[]any{"Email/set", map[string]any{"accountId": h.acct, "create": map[string]any{"d": map[string]any{
			"mailboxIds": map[string]bool{roles["drafts"]: true}, "keywords": map[string]bool{"$draft": true},
			"from": []any{map[string]any{"name": "Alice", "email": "alice@example.com"}},
			"to":   []any{map[string]any{"email": "bob@example.com"}}, "subject": "Lunch ☕",
			"textBody":    []any{map[string]any{"partId": "t", "type": "text/plain"}},
			"bodyValues":  map[string]any{"t": map[string]any{"value": "See you at noon.\n"}},
			"attachments": []any{map[string]any{"blobId": up["blobId"], "type": "text/csv", "name": "menu.csv"}},
		}}}, "s"},
		[]any{"EmailSubmission/set", map[string]any{"accountId": h.acct, "create": map[string]any{"sub": map[string]any{
			"identityId": "I1", "emailId": "#d"}},
			"onSuccessUpdateEmail": map[string]any{"#sub": map[string]any{
				"mailboxIds/" + roles["drafts"]: nil, "mailboxIds/" + roles["sent"]: true, "keywords/$draft": nil}}}, "sub"},
	)
	if r[0][0] != "Email/set" || r[1][0] != "EmailSubmission/set" || len(r) != 3 || r[2][0] != "Email/set" {
		t.Fatalf("responses %v", r)
	}
	if nc := r[1][1].(map[string]any)["notCreated"].(map[string]any); len(nc) != 0 {
		t.Fatalf("submission %v", nc)
	}
	// Bob got it, without Bcc; Alice's copy is in Sent without $draft.
	bobMbs, _ := h.st.Mailboxes(context.Background(), "bob@example.com")
	st, _ := bobMbs.Status(context.Background(), "INBOX")
	if st.Messages != 1 {
		t.Fatalf("bob's INBOX has %d", st.Messages)
	}
	q := h.one("Email/query", map[string]any{"filter": map[string]any{"inMailbox": roles["sent"]}})
	ids := strs(q["ids"])
	if len(ids) != 1 {
		t.Fatalf("sent %v", q)
	}
	e := h.one("Email/get", map[string]any{"ids": ids, "properties": []string{"subject", "keywords", "attachments", "bodyValues"}, "fetchTextBodyValues": true})
	b, _ = json.Marshal(e["list"])
	if !strings.Contains(string(b), `"subject":"Lunch ☕"`) || strings.Contains(string(b), "$draft") || !strings.Contains(string(b), "menu.csv") ||
		!strings.Contains(string(b), "See you at noon.") {
		t.Fatalf("sent copy %s", b)
	}
	// A remote recipient is refused clearly.
	r = h.api(
		[]any{"EmailSubmission/set", map[string]any{"accountId": h.acct, "create": map[string]any{"x": map[string]any{
			"identityId": "I1", "emailId": ids[0], "envelope": map[string]any{"mailFrom": map[string]any{"email": "alice@example.com"},
				"rcptTo": []any{map[string]any{"email": "carol@elsewhere.net"}}}}}}, "x"})
	nc := r[0][1].(map[string]any)["notCreated"].(map[string]any)["x"].(map[string]any)
	if nc["type"] != "invalidRecipients" || !strings.Contains(nc["description"].(string), "remote delivery is not configured") {
		t.Fatalf("remote recipient: %v", nc)
	}
	// Import and parse an uploaded message.
	_, b = h.do("POST", "/jmap/upload/"+h.acct+"/", "message/rfc822", []byte(mixedMsg))
	json.Unmarshal(b, &up)
	imp := h.one("Email/import", map[string]any{"emails": map[string]any{"i": map[string]any{
		"blobId": up["blobId"], "mailboxIds": map[string]bool{roles["archive"]: true}, "keywords": map[string]bool{"$seen": true},
		"receivedAt": "2020-02-02T02:02:02Z"}}})
	if imp["created"] == nil {
		t.Fatalf("import %v", imp)
	}
	p := h.one("Email/parse", map[string]any{"blobIds": []string{up["blobId"].(string)}, "properties": []string{"subject", "hasAttachment"}})
	if p["parsed"].(map[string]any)[up["blobId"].(string)].(map[string]any)["subject"] != "Grüße and plans" {
		t.Fatalf("parse %v", p)
	}
	sn := h.one("SearchSnippet/get", map[string]any{"filter": map[string]any{"text": "zebra"},
		"emailIds": []string{imp["created"].(map[string]any)["i"].(map[string]any)["id"].(string)}})
	if pv, _ := sn["list"].([]any)[0].(map[string]any)["preview"].(string); !strings.Contains(pv, "<mark>zebra</mark>") {
		t.Fatalf("snippet %v", sn)
	}
	th := h.one("Thread/get", map[string]any{"ids": []string{imp["created"].(map[string]any)["i"].(map[string]any)["threadId"].(string)}})
	if len(th["list"].([]any)) != 1 {
		t.Fatalf("thread %v", th)
	}
	id := h.one("Identity/get", map[string]any{})
	if id["list"].([]any)[0].(map[string]any)["email"] != "alice@example.com" {
		t.Fatalf("identity %v", id)
	}
}

// TestEmailListViewWithoutOctets: the list-view properties answered from
// the stored structure (no message read) equal those read from the
// message's header.
func TestEmailListViewWithoutOctets(t *testing.T) {
	h := newHarness(t)
	h.deliver("", mixedMsg)
	h.deliver("", "From: plain@example.org\r\nSubject: =?iso-8859-1?q?caf=E9?=\r\nIn-Reply-To: <p@x>\r\n\r\nhi\r\n")
	h.deliver("", "X-Nothing: here\r\n\r\nno header fields at all\r\n")
	ids := strs(h.one("Email/query", map[string]any{})["ids"])
	props := []string{"from", "to", "cc", "bcc", "subject", "sentAt", "messageId", "inReplyTo", "preview", "hasAttachment"}
	fast := h.one("Email/get", map[string]any{"ids": ids, "properties": props})
	slow := h.one("Email/get", map[string]any{"ids": ids, "properties": append(props, "header:X-Force-Read")})
	for i := range ids {
		f := fast["list"].([]any)[i].(map[string]any)
		s := slow["list"].([]any)[i].(map[string]any)
		delete(s, "header:X-Force-Read")
		fb, _ := json.Marshal(f)
		sb, _ := json.Marshal(s)
		if string(fb) != string(sb) {
			t.Errorf("Email %s:\nfrom the structure %s\nfrom the message   %s", ids[i], fb, sb)
		}
	}
}
