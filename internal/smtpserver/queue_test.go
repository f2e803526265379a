package smtpserver

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

// An authenticated client's remote recipients go to the outbound queue in
// the same transaction as its local ones: the local copy has Return-Path
// and Received, the queued copy the same Received without Return-Path
// (RFC 5321 §4.4), the queued envelope is the account's, and the worker is
// woken. Without AUTH a remote recipient is still relaying, refused.
func TestSubmissionQueuesRemoteRecipients(t *testing.T) {
	ms := newSpyStore(t, 0)
	q := ms.Store.(store.Queue)
	woken := make(chan struct{}, 4)
	ts := startServer(t, Options{Mode: ModeSMTP, Store: ms, Auth: testAuth(ms, auth.Options{}), AllowInsecureAuth: true,
		Queue: q, Queued: func() { woken <- struct{}{} }})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO l.example
		S: 250
		C: MAIL FROM:<alice@example.com>
		S: 250
		C: RCPT TO:<friend@remote.example>
		S: 550 5.7.1 Relay access denied
		C: RSET
		S: 250
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", testPassword) + `
		S: 235
		C: MAIL FROM:<alice@example.com>
		S: 250
		C: RCPT TO:<friend@remote.example>
		S: 250
		C: RCPT TO:<bob@example.com>
		S: 250
		C: RCPT TO:<other@far.example>
		S: 250
		C: DATA
		S: 354
		C: Subject: hi
		C:
		C: out and in
		C: .
		S: 250
	`)
	select {
	case <-woken:
	default:
		t.Error("Queued was not called")
	}
	all, err := q.QueuedMessages(context.Background())
	if err != nil || len(all) != 1 {
		t.Fatalf("queue: %+v %v", all, err)
	}
	m := all[0]
	if m.Account != "alice@example.com" || m.From != "alice@example.com" || len(m.Recipients) != 2 ||
		m.Recipients[0].Address != "friend@remote.example" || m.Recipients[1].Address != "other@far.example" {
		t.Errorf("queued envelope %+v", m)
	}
	queued := string(readAll(t, ms, m.BlobID))
	if !strings.HasPrefix(queued, "Received: from l.example (client.rdns.test [127.0.0.1])\r\n") ||
		!strings.HasSuffix(queued, "Subject: hi\r\n\r\nout and in\r\n") {
		t.Errorf("queued body %q", queued)
	}
	mbs, _ := ms.Mailboxes(context.Background(), "bob@example.com")
	mb, _ := mbs.Open(context.Background(), "INBOX")
	msgs, _ := mb.Messages(context.Background())
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages", len(msgs))
	}
	local := string(readAll(t, ms, msgs[0].BlobID))
	if local != "Return-Path: <alice@example.com>\r\n"+queued {
		t.Errorf("local copy %q\nqueued %q", local, queued)
	}
}

// Only remote recipients: queued straight from the client's data.
func TestSubmissionQueueOnlyRemote(t *testing.T) {
	ms := newSpyStore(t, 0)
	q := ms.Store.(store.Queue)
	ts := startServer(t, Options{Mode: ModeSMTP, Store: ms, Auth: testAuth(ms, auth.Options{}), AllowInsecureAuth: true, Queue: q})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO l.example
		S: 250
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", testPassword) + `
		S: 235
		C: MAIL FROM:<alice@example.com>
		S: 250
		C: RCPT TO:<friend@remote.example>
		S: 250
		C: DATA
		S: 354
		C: Subject: only out
		C:
		C: body
		C: .
		S: 250
	`)
	all, err := q.QueuedMessages(context.Background())
	if err != nil || len(all) != 1 {
		t.Fatalf("queue: %+v %v", all, err)
	}
	body := string(readAll(t, ms, all[0].BlobID))
	if strings.Contains(body, "Return-Path") || !strings.Contains(body, "\tfor <friend@remote.example>;") || !strings.HasSuffix(body, "\r\n\r\nbody\r\n") {
		t.Errorf("queued body %q", body)
	}
	if len(ms.calls) != 0 {
		t.Errorf("Deliver called for a remote-only message: %v", ms.calls)
	}
}

func readAll(t *testing.T, s store.Store, id string) []byte {
	t.Helper()
	b, err := s.OpenBlob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// RFC 3461: submission with a queue advertises DSN; RET and ENVID on MAIL,
// NOTIFY and ORCPT on RCPT are kept in the queue entry (xtext decoded);
// malformed values are refused. Port 25 neither advertises nor accepts
// them.
func TestSubmissionDSNParameters(t *testing.T) {
	ms := newSpyStore(t, 0)
	q := ms.Store.(store.Queue)
	ts := startServer(t, Options{Mode: ModeSubmission, Store: ms, Auth: testAuth(ms, auth.Options{}), AllowInsecureAuth: true, Queue: q})
	c := dial(t, ts.addr)
	c.run("S: 220")
	c.send("EHLO l.example\r\n")
	if got := strings.Join(c.reply(), "\n"); !strings.Contains(got, "250-DSN\n") {
		t.Errorf("submission with a queue does not offer DSN:\n%s", got)
	}
	c.run(`
		C: AUTH PLAIN ` + plainIR("", "alice@example.com", testPassword) + `
		S: 235
		C: MAIL FROM:<alice@example.com> RET=HDRS ENVID=QQ+2B314
		S: 250
		C: RCPT TO:<friend@remote.example> NOTIFY=NEVER,SUCCESS
		S: 501 5.5.4 Malformed NOTIFY parameter value
		C: RCPT TO:<friend@remote.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Friend+40Remote.example
		S: 250
		C: RCPT TO:<other@far.example> NOTIFY=NEVER
		S: 250
		C: RCPT TO:<third@far.example>
		S: 250
		C: RCPT TO:<bob@example.com> NOTIFY=SUCCESS ORCPT=rfc822;bob.orig@example.com
		S: 250
		C: DATA
		S: 354
		C: Subject: hi
		C:
		C: out
		C: .
		S: 250
	`)
	all, err := q.QueuedMessages(context.Background())
	if err != nil || len(all) != 1 {
		t.Fatalf("queue: %+v %v", all, err)
	}
	m := all[0]
	if m.Ret != "HDRS" || m.EnvID != "QQ+314" {
		t.Errorf("RET %q ENVID %q", m.Ret, m.EnvID)
	}
	want := []store.OutboundRecipient{
		{Address: "friend@remote.example", Notify: "SUCCESS,DELAY", ORcpt: "rfc822;Friend@Remote.example"},
		{Address: "other@far.example", Notify: "NEVER"},
		{Address: "third@far.example"},
	}
	for i, r := range m.Recipients {
		if r.Address != want[i].Address || r.Notify != want[i].Notify || r.ORcpt != want[i].ORcpt {
			t.Errorf("recipient %d: %+v, want %+v", i, r, want[i])
		}
	}
	// bob is local and asked NOTIFY=SUCCESS: alice gets a "delivered"
	// notice (RFC 3461 §5.2.3) naming him, and only him.
	notice := string(ts.onlyMessage(t, "alice@example.com"))
	for _, w := range []string{"Subject: Successful Mail Delivery Report", "Content-Type: multipart/report; report-type=delivery-status",
		"Original-Envelope-Id: QQ+314", "Original-Recipient: rfc822; bob.orig@example.com", "Final-Recipient: rfc822; bob@example.com",
		"Action: delivered", "Status: 2.0.0", "Subject: hi"} {
		if !strings.Contains(notice, w) {
			t.Errorf("notice lacks %q:\n%s", w, notice)
		}
	}
	if strings.Contains(notice, "far.example") || strings.Contains(notice, "remote.example") {
		t.Errorf("notice names queued recipients:\n%s", notice)
	}

	mx := startServer(t, Options{Mode: ModeSMTP, Store: ms})
	c = dial(t, mx.addr)
	c.run("S: 220")
	c.send("EHLO l.example\r\n")
	if got := strings.Join(c.reply(), "\n"); strings.Contains(got, "DSN") {
		t.Errorf("port 25 offers DSN:\n%s", got)
	}
	c.run(`
		C: MAIL FROM:<x@remote.example> RET=FULL
		S: 504 5.5.4 RET is not implemented
	`)
}
