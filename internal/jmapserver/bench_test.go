package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// The web client's first screen and its catch-up, on 10,000 messages
// (issue 9's budgets: query + get of the newest 50 under 50 ms,
// Email/changes after one new message under 5 ms). Run with
//
//	go test -run '^$' -bench 'FirstScreen|ChangesAfterOne' -benchtime 20x ./internal/jmapserver/
//
// (BenchmarkFirstScreenCold drops the server's list cache before each
// request.)

const benchMessages = 10000

func benchMessage(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\nTo: alice@example.com\r\n", i%97, i%97)
	fmt.Fprintf(&b, "Subject: Re: topic %d message %d\r\nDate: Mon, 02 Jan 2023 15:04:05 +0000\r\n", i%500, i)
	fmt.Fprintf(&b, "Message-ID: <m%d@example.org>\r\n", i)
	if i%10 == 0 {
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\n")
		fmt.Fprintf(&b, "Body of message %d with an attachment.\r\n--xx\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--xx--\r\n", i)
		return b.Bytes()
	}
	b.WriteString("\r\n")
	for k := 0; k < 20; k++ {
		fmt.Fprintf(&b, "Line %d of message %d, some words to fill the preview and the body.\r\n", k, i)
	}
	return b.Bytes()
}

func benchHarness(b *testing.B) *harness {
	h := newHarness(b)
	ba, ok := h.st.(store.BatchAppender)
	if !ok {
		b.Fatal("the store has no AppendBatch")
	}
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < benchMessages; i += 500 {
		var msgs []store.BatchMessage
		for k := i; k < i+500; k++ {
			flags := []string{}
			if k%3 == 0 {
				flags = append(flags, store.FlagSeen)
			}
			msgs = append(msgs, store.BatchMessage{Body: bytes.NewReader(benchMessage(k)), Flags: flags,
				InternalDate: base.Add(time.Duration(k) * time.Minute)})
		}
		if _, err := ba.AppendBatch(context.Background(), h.user, "INBOX", msgs); err != nil {
			b.Fatal(err)
		}
	}
	return h
}

func (h *harness) raw(b testing.TB, calls ...[]any) []byte {
	body, _ := json.Marshal(map[string]any{"using": []string{capCore, capMail}, "methodCalls": calls})
	req, _ := http.NewRequest("POST", h.http.URL+"/jmap/", bytes.NewReader(body))
	req.SetBasicAuth(h.user, testPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || bytes.Contains(out, []byte(`"error"`)) {
		b.Fatalf("%d %s", resp.StatusCode, out)
	}
	return out
}

// BenchmarkFirstScreen: Email/query (INBOX, newest first, 50) and
// Email/get of those 50 with a list view's properties, one request.
func BenchmarkFirstScreen(b *testing.B) { benchFirstScreen(b, false) }

// BenchmarkFirstScreenCold: the same, each time from a JMAP server just
// started on the store (no list cached): a web client's first request.
func BenchmarkFirstScreenCold(b *testing.B) { benchFirstScreen(b, true) }

func benchFirstScreen(b *testing.B, cold bool) {
	h := benchHarness(b)
	inbox := ""
	var mb map[string]any
	json.Unmarshal(h.raw(b, []any{"Mailbox/query", map[string]any{"accountId": h.acct, "filter": map[string]any{"role": "inbox"}}, "m"}), &mb)
	inbox = mb["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["ids"].([]any)[0].(string)
	calls := [][]any{
		{"Email/query", map[string]any{"accountId": h.acct, "filter": map[string]any{"inMailbox": inbox},
			"sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}, "limit": 50, "calculateTotal": true}, "q"},
		{"Email/get", map[string]any{"accountId": h.acct, "#ids": map[string]any{"resultOf": "q", "name": "Email/query", "path": "/ids"},
			"properties": []string{"id", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "from", "to", "subject", "preview", "hasAttachment"}}, "g"},
	}
	start := time.Now()
	out := h.raw(b, calls...)
	b.Logf("first request after the fill: %v (%d octets)", time.Since(start), len(out))
	if !bytes.Contains(out, []byte(fmt.Sprintf(`"subject":"Re: topic %d message %d"`, (benchMessages-1)%500, benchMessages-1))) {
		b.Fatalf("the newest message is not on the first screen: %.300s", out)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cold {
			b.StopTimer()
			h.srv.lists = newListCache()
			b.StartTimer()
		}
		h.raw(b, calls...)
	}
}

// BenchmarkEmailChangesAfterOneMessage: one delivery, then Email/changes
// from the state before it.
func BenchmarkEmailChangesAfterOneMessage(b *testing.B) {
	h := benchHarness(b)
	var r map[string]any
	json.Unmarshal(h.raw(b, []any{"Email/get", map[string]any{"accountId": h.acct, "ids": []string{}}, "s"}), &r)
	state := r["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["state"].(string)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h.deliver("", string(benchMessage(benchMessages+i)))
		b.StartTimer()
		out := h.raw(b, []any{"Email/changes", map[string]any{"accountId": h.acct, "sinceState": state}, "c"})
		b.StopTimer()
		json.Unmarshal(out, &r)
		ch := r["methodResponses"].([]any)[0].([]any)[1].(map[string]any)
		if len(ch["created"].([]any)) != 1 {
			b.Fatalf("changes %v", ch)
		}
		state = ch["newState"].(string)
		b.StartTimer()
	}
}
