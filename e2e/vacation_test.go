//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestVacationReply: alice turns on her vacation reply over JMAP
// (VacationResponse/set, RFC 8621 §8); bob writes to her over SMTP and
// finds one automatic reply (Auto-Submitted: auto-replied, RFC 3834) in
// his INBOX over IMAP; his second message within the week gets none.
func TestVacationReply(t *testing.T) {
	s := startWithUsers(t)
	setVacation(t, s)
	for i := 0; i < 2; i++ {
		if err := sendSMTP(s.addr("smtp"), bob, []string{alice}, message(bob, alice, "plans", "are you around?\n")); err != nil {
			t.Fatal(err)
		}
	}
	checkOneReply(t, s)
}

// TestVacationReplyToJMAPSubmission: the same reply for mail bob sends
// alice with JMAP EmailSubmission (Options.Delivered wired in serve).
func TestVacationReplyToJMAPSubmission(t *testing.T) {
	s := startWithUsers(t)
	setVacation(t, s)
	c := s.jmap(t, bob, bobPass)
	drafts := c.mailboxID("drafts")
	for i := 0; i < 2; i++ {
		body, _ := json.Marshal(map[string]any{
			"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"},
			"methodCalls": []any{
				[]any{"Email/set", map[string]any{"accountId": c.account, "create": map[string]any{"d": map[string]any{
					"mailboxIds": map[string]any{drafts: true}, "subject": "plans",
					"from": []any{map[string]any{"email": bob}}, "to": []any{map[string]any{"email": alice}},
					"textBody":   []any{map[string]any{"partId": "1", "type": "text/plain"}},
					"bodyValues": map[string]any{"1": map[string]any{"value": "are you around?"}}}}}, "0"},
				[]any{"Identity/get", map[string]any{"accountId": c.account}, "i"},
				[]any{"EmailSubmission/set", map[string]any{"accountId": c.account, "create": map[string]any{"s": map[string]any{
					"identityId": "I" + c.account[1:], "emailId": "#d"}}}, "1"},
			},
		})
		req, _ := http.NewRequest("POST", c.session["apiUrl"].(string), bytes.NewReader(body))
		req.SetBasicAuth(bob, bobPass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ MethodResponses [][]any }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if len(out.MethodResponses) < 3 || out.MethodResponses[2][0] != "EmailSubmission/set" ||
			out.MethodResponses[2][1].(map[string]any)["created"].(map[string]any)["s"] == nil {
			t.Fatalf("submission: %v", out.MethodResponses)
		}
	}
	checkOneReply(t, s)
}

// setVacation turns alice's vacation reply on over JMAP.
func setVacation(t *testing.T, s *server) {
	t.Helper()
	c := s.jmap(t, alice, alicePass)
	body, _ := json.Marshal(map[string]any{
		"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:vacationresponse"},
		"methodCalls": []any{[]any{"VacationResponse/set", map[string]any{"accountId": c.account,
			"update": map[string]any{"singleton": map[string]any{"isEnabled": true, "textBody": "Hiking until Monday."}}}, "0"}},
	})
	req, _ := http.NewRequest("POST", c.session["apiUrl"].(string), bytes.NewReader(body))
	req.SetBasicAuth(alice, alicePass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ MethodResponses [][]any }
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if len(out.MethodResponses) != 1 || out.MethodResponses[0][0] != "VacationResponse/set" {
		t.Fatalf("VacationResponse/set: %v", out.MethodResponses)
	}
}

// checkOneReply waits for alice's automatic reply in bob's INBOX and
// checks there is exactly one for his two messages.
func checkOneReply(t *testing.T, s *server) {
	t.Helper()
	ic := s.dialIMAPS(t, bob, bobPass)
	var replies []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sel, err := ic.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sel.NumMessages == 0 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		replies = replies[:0]
		for _, m := range msgs {
			for _, b := range m.BodySection {
				replies = append(replies, string(b.Bytes))
			}
		}
		break
	}
	if len(replies) == 0 {
		t.Fatal("no vacation reply in bob's INBOX within 10 s")
	}
	r := replies[0]
	for _, want := range []string{"Auto-Submitted: auto-replied", "Subject: Auto: plans", "Hiking until Monday.", "Return-Path: <>", "In-Reply-To: <"} {
		if !strings.Contains(r, want) {
			t.Errorf("reply lacks %q:\n%s", want, r)
		}
	}
	// The second message came while the first reply was on its way: give
	// a wrong second reply time to land, then count.
	time.Sleep(500 * time.Millisecond)
	st, err := ic.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 1 {
		t.Fatalf("bob has %d messages, want exactly one vacation reply", *st.NumMessages)
	}
}
