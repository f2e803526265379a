//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// jmapClient speaks to the built binary's [listen] jmap port over HTTPS
// with HTTP Basic, as a JMAP client does (RFC 8620).
type jmapClient struct {
	t       testing.TB
	base    string
	user    string
	pass    string
	http    *http.Client
	account string
	session map[string]any
}

func (s *server) jmap(t testing.TB, user, pass string) *jmapClient {
	t.Helper()
	c := &jmapClient{t: t, base: "https://" + s.addr("jmap"), user: user, pass: pass,
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsConfig()}}}
	req, _ := http.NewRequest("GET", c.base+"/.well-known/jmap", nil)
	req.SetBasicAuth(user, pass)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("JMAP session: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("JMAP session: status %d", resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(&c.session)
	c.account = c.session["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"].(string)
	return c
}

// call sends one method call and returns its response arguments.
func (c *jmapClient) call(name string, args map[string]any) map[string]any {
	c.t.Helper()
	args["accountId"] = c.account
	body, _ := json.Marshal(map[string]any{
		"using":       []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"},
		"methodCalls": []any{[]any{name, args, "0"}},
	})
	req, _ := http.NewRequest("POST", c.session["apiUrl"].(string), bytes.NewReader(body))
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	var out struct{ MethodResponses [][]any }
	json.NewDecoder(resp.Body).Decode(&out)
	if len(out.MethodResponses) != 1 || out.MethodResponses[0][0] != name {
		c.t.Fatalf("%s: %v", name, out.MethodResponses)
	}
	return out.MethodResponses[0][1].(map[string]any)
}

func (c *jmapClient) mailboxID(role string) string {
	c.t.Helper()
	for _, m := range c.call("Mailbox/get", map[string]any{})["list"].([]any) {
		if m.(map[string]any)["role"] == role {
			return m.(map[string]any)["id"].(string)
		}
	}
	c.t.Fatalf("no %s mailbox", role)
	return ""
}

func idList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestJMAPPushSeesSMTPDelivery: an EventSource stream (RFC 8620 §7.3)
// learns of a message delivered over SMTP within 100 ms of the 250.
func TestJMAPPushSeesSMTPDelivery(t *testing.T) {
	s := startWithUsers(t)
	c := s.jmap(t, alice, alicePass)
	url := strings.NewReplacer("{types}", "Email,Mailbox", "{closeafter}", "no", "{ping}", "0").Replace(c.session["eventSourceUrl"].(string))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.SetBasicAuth(alice, alicePass)
	resp, err := c.http.Do(req)
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
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
	for attempt := 0; attempt < 3; attempt++ {
		s.mustSend(t, alice, message("carol@remote.example", alice, "pushed", "hello\n"))
		sent := time.Now()
		select {
		case ev := <-events:
			lag := time.Since(sent)
			var sc struct {
				Type    string                       `json:"@type"`
				Changed map[string]map[string]string `json:"changed"`
			}
			json.Unmarshal([]byte(ev), &sc)
			if sc.Type != "StateChange" || sc.Changed[c.account]["Email"] == "" {
				t.Fatalf("event %s", ev)
			}
			t.Logf("StateChange %v after the SMTP 250", lag)
			if lag <= 100*time.Millisecond {
				q := c.call("Email/query", map[string]any{"filter": map[string]any{"subject": "pushed"}})
				if len(idList(q["ids"])) != attempt+1 {
					t.Fatalf("Email/query after push: %v", q)
				}
				return
			}
			// A loaded machine may stall once; the bound must hold on a retry.
		case <-time.After(5 * time.Second):
			t.Fatal("no StateChange within 5s of the SMTP 250")
		}
	}
	t.Fatal("StateChange took more than 100 ms after the SMTP 250 three times")
}

// TestJMAPFlagSeenByIMAPIdle: a keyword set through Email/set reaches an
// IMAP session in IDLE as an untagged FETCH FLAGS.
func TestJMAPFlagSeenByIMAPIdle(t *testing.T) {
	s := startWithUsers(t)
	s.mustSend(t, alice, message("carol@remote.example", alice, "flag me", "x\n"))
	flags := make(chan []imap.Flag, 4)
	ic, err := imapclient.DialTLS(s.addr("imaps"), &imapclient.Options{TLSConfig: s.tlsConfig(),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Fetch: func(m *imapclient.FetchMessageData) {
			for item := m.Next(); item != nil; item = m.Next() {
				if f, ok := item.(imapclient.FetchItemDataFlags); ok {
					flags <- f.Flags
				}
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login(alice, alicePass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := ic.Idle()
	if err != nil {
		t.Fatal(err)
	}
	c := s.jmap(t, alice, alicePass)
	ids := idList(c.call("Email/query", map[string]any{})["ids"])
	set := c.call("Email/set", map[string]any{"update": map[string]any{ids[0]: map[string]any{"keywords/$flagged": true}}})
	if _, ok := set["updated"].(map[string]any)[ids[0]]; !ok {
		t.Fatalf("Email/set %v", set)
	}
	select {
	case f := <-flags:
		if !slices.Contains(f, imap.FlagFlagged) {
			t.Errorf("IDLE got FLAGS %v, want \\Flagged", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the IDLE session saw no FETCH FLAGS within 10s")
	}
	idle.Close()
	idle.Wait()
}

// TestJMAPChangesSeeIMAPMove: a message moved over IMAP (RFC 6851) shows
// in Email/changes, and Email/get puts it in its new mailbox.
func TestJMAPChangesSeeIMAPMove(t *testing.T) {
	s := startWithUsers(t)
	s.mustSend(t, alice, message("carol@remote.example", alice, "move me", "x\n"))
	c := s.jmap(t, alice, alicePass)
	archive := c.mailboxID("archive")
	q := c.call("Email/query", map[string]any{})
	before := idList(q["ids"])
	state := q["queryState"].(string)

	ic := s.dialIMAPS(t, alice, alicePass)
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Move(imap.SeqSetNum(1), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	ch := c.call("Email/changes", map[string]any{"sinceState": state})
	changed := append(idList(ch["created"]), idList(ch["updated"])...)
	if len(changed) != 1 {
		t.Fatalf("Email/changes after MOVE: %v", ch)
	}
	if d := idList(ch["destroyed"]); !slices.Contains(changed, before[0]) && !slices.Contains(d, before[0]) {
		t.Fatalf("the moved Email %s is neither updated nor destroyed: %v", before[0], ch)
	}
	g := c.call("Email/get", map[string]any{"ids": changed, "properties": []string{"subject", "mailboxIds"}})
	e := g["list"].([]any)[0].(map[string]any)
	if e["subject"] != "move me" || e["mailboxIds"].(map[string]any)[archive] != true {
		t.Fatalf("moved Email: %v", e)
	}
}
