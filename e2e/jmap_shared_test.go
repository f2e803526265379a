//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestJMAPSharedAccountFollowsIMAP: bob shares a folder with alice over
// IMAP (SETACL lrs, RFC 4314); alice's JMAP session then has bob's
// account (not personal) with the folder and its message, where she may
// set $seen but not $flagged; a flag bob sets over IMAP is in her
// Email/changes of that account, and a SETACL without r takes the
// message out of her view at her next call.
func TestJMAPSharedAccountFollowsIMAP(t *testing.T) {
	s := startWithUsers(t)
	ic := s.dialIMAPS(t, bob, bobPass)
	if err := ic.Create("Team", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msg := "From: carol@example.org\r\nTo: bob@example.com\r\nSubject: team note\r\n\r\nhello alice\r\n"
	ap := ic.Append("Team", int64(len(msg)), nil)
	ap.Write([]byte(msg))
	ap.Close()
	if _, err := ap.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := ic.SetACL("Team", imap.RightsIdentifier(alice), imap.RightModificationReplace, imap.RightSet("lrs")).Wait(); err != nil {
		t.Fatal(err)
	}

	c := s.jmap(t, alice, alicePass)
	var shared string
	for id, a := range c.session["accounts"].(map[string]any) {
		if am := a.(map[string]any); am["isPersonal"] == false && am["name"] == bob {
			shared = id
		}
	}
	if shared == "" {
		t.Fatalf("no shared account for bob in %v", c.session["accounts"])
	}
	call := func(name string, args map[string]any) map[string]any {
		t.Helper()
		args["accountId"] = shared
		body, _ := json.Marshal(map[string]any{"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"},
			"methodCalls": []any{[]any{name, args, "0"}}})
		req, _ := http.NewRequest("POST", c.session["apiUrl"].(string), bytes.NewReader(body))
		req.SetBasicAuth(alice, alicePass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ MethodResponses [][]any }
		json.NewDecoder(resp.Body).Decode(&out)
		if len(out.MethodResponses) != 1 || out.MethodResponses[0][0] != name {
			t.Fatalf("%s: %v", name, out.MethodResponses)
		}
		return out.MethodResponses[0][1].(map[string]any)
	}
	boxes := call("Mailbox/get", map[string]any{})["list"].([]any)
	if len(boxes) != 1 || boxes[0].(map[string]any)["name"] != "Team" {
		t.Fatalf("shared mailboxes %v", boxes)
	}
	q := call("Email/query", map[string]any{})
	ids := idList(q["ids"])
	if len(ids) != 1 {
		t.Fatalf("shared Emails %v", ids)
	}
	state := call("Email/get", map[string]any{"ids": ids, "properties": []string{"subject"}})["state"].(string)
	res := call("Email/set", map[string]any{"update": map[string]any{ids[0]: map[string]any{"keywords/$seen": true}}})
	if _, ok := res["updated"].(map[string]any)[ids[0]]; !ok {
		t.Fatalf("$seen with s: %v", res)
	}
	res = call("Email/set", map[string]any{"update": map[string]any{ids[0]: map[string]any{"keywords/$flagged": true}}})
	if nu, _ := res["notUpdated"].(map[string]any)[ids[0]].(map[string]any); nu["type"] != "forbidden" {
		t.Fatalf("$flagged without w: %v", res)
	}
	// Bob sees alice's \Seen, and flags the message himself.
	if _, err := ic.Select("Team", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fl, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || !slices.Contains(fl[0].Flags, imap.FlagSeen) {
		t.Fatalf("bob's flags %v %v", fl, err)
	}
	if err := ic.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	ch := call("Email/changes", map[string]any{"sinceState": state})
	if !slices.Equal(idList(ch["updated"]), ids) {
		t.Fatalf("Email/changes after bob's STORE: %v", ch)
	}
	kw := call("Email/get", map[string]any{"ids": ids, "properties": []string{"keywords"}})["list"].([]any)[0].(map[string]any)["keywords"].(map[string]any)
	if kw["$flagged"] != true || kw["$seen"] != true {
		t.Fatalf("keywords %v", kw)
	}
	// Bob takes r away: the message is gone from alice's view.
	if err := ic.SetACL("Team", imap.RightsIdentifier(alice), imap.RightModificationReplace, imap.RightSet("l")).Wait(); err != nil {
		t.Fatal(err)
	}
	if left := idList(call("Email/query", map[string]any{})["ids"]); len(left) != 0 {
		t.Fatalf("the message stayed visible after SETACL l: %v", left)
	}
	if got := call("Mailbox/get", map[string]any{})["list"].([]any)[0].(map[string]any)["myRights"].(map[string]any); got["mayReadItems"] != false {
		t.Fatalf("myRights after SETACL l: %v", got)
	}
}
