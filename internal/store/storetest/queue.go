package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

func queueOf(t *testing.T, s store.Store) store.Queue {
	q, ok := s.(store.Queue)
	if !ok {
		t.Skip("store keeps no outbound queue")
	}
	return q
}

// testQueueEnqueue: a queued message is stored with Deliver's CRLF
// normalisation, listed with its envelope and recipients (all pending, due
// now), readable by ID; unknown accounts and IDs are refused with the
// contract's errors.
func testQueueEnqueue(t *testing.T, s store.Store) {
	q := queueOf(t, s)
	newAccount(t, s, "alice@example.com")
	before := time.Now().Add(-time.Second)
	m, err := q.Enqueue(ctx, strings.NewReader("Subject: out\n\nhello\n"), "Alice@Example.com", "alice@example.com",
		[]string{"bob@remote.example", "carol@other.example"})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if m.ID == 0 || m.Account != "alice@example.com" || m.From != "alice@example.com" || len(m.Recipients) != 2 {
		t.Fatalf("Enqueue returned %+v", m)
	}
	if got := string(readBlob(t, s, m.BlobID)); got != "Subject: out\r\n\r\nhello\r\n" || m.Size != int64(len(got)) {
		t.Fatalf("queued body %q (size %d)", got, m.Size)
	}
	all, err := q.QueuedMessages(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("QueuedMessages = %+v, %v", all, err)
	}
	got := all[0]
	if got.ID != m.ID || got.BlobID != m.BlobID || got.Queued.Before(before) || !got.Pending() {
		t.Errorf("listed %+v", got)
	}
	for i, r := range got.Recipients {
		if r.Address != m.Recipients[i].Address || r.State != store.OutboundPending || r.Attempts != 0 || r.NextAttempt.After(time.Now()) {
			t.Errorf("recipient %d: %+v", i, r)
		}
	}
	one, err := q.QueuedMessage(ctx, m.ID)
	if err != nil || one.ID != m.ID || len(one.Recipients) != 2 || one.Recipients[1].Address != "carol@other.example" {
		t.Errorf("QueuedMessage = %+v, %v", one, err)
	}
	if _, err := q.QueuedMessage(ctx, m.ID+100); !errors.Is(err, store.ErrNoSuchQueued) {
		t.Errorf("QueuedMessage(unknown) = %v, want ErrNoSuchQueued", err)
	}
	if _, err := q.Enqueue(ctx, strings.NewReader("x\n"), "nobody@example.com", "nobody@example.com", []string{"a@b.example"}); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Errorf("Enqueue for an unknown account = %v, want ErrNoSuchAccount", err)
	}
	if err := q.RetryQueued(ctx, m.ID+100, time.Now()); !errors.Is(err, store.ErrNoSuchQueued) {
		t.Errorf("RetryQueued(unknown) = %v", err)
	}
	if err := q.DropQueued(ctx, m.ID+100); !errors.Is(err, store.ErrNoSuchQueued) {
		t.Errorf("DropQueued(unknown) = %v", err)
	}
}

// testQueueClaim: ClaimDue hands a due message out once per lease; after
// the lease it is due again; NextDue follows; RetryQueued makes it due at
// once.
func testQueueClaim(t *testing.T, s store.Store) {
	q := queueOf(t, s)
	newAccount(t, s, "alice@example.com")
	if _, ok, err := q.NextDue(ctx); ok || err != nil {
		t.Fatalf("NextDue on an empty queue: %v %v", ok, err)
	}
	m, err := q.Enqueue(ctx, strings.NewReader("x\n"), "alice@example.com", "alice@example.com", []string{"bob@remote.example"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	got, err := q.ClaimDue(ctx, now, time.Hour, 10)
	if err != nil || len(got) != 1 || got[0].ID != m.ID {
		t.Fatalf("ClaimDue = %+v, %v", got, err)
	}
	if again, err := q.ClaimDue(ctx, now, time.Hour, 10); err != nil || len(again) != 0 {
		t.Fatalf("second ClaimDue within the lease = %+v, %v", again, err)
	}
	at, ok, err := q.NextDue(ctx)
	if err != nil || !ok || at.Before(now.Add(time.Hour-time.Second)) {
		t.Errorf("NextDue after the claim = %v %v %v, want about %v", at, ok, err, now.Add(time.Hour))
	}
	if later, err := q.ClaimDue(ctx, now.Add(time.Hour+time.Second), time.Hour, 10); err != nil || len(later) != 1 {
		t.Errorf("ClaimDue after the lease = %+v, %v", later, err)
	}
	if err := q.RetryQueued(ctx, m.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, err := q.ClaimDue(ctx, now, time.Hour, 10); err != nil || len(got) != 1 {
		t.Errorf("ClaimDue after RetryQueued = %+v, %v", got, err)
	}
}

// testQueueUpdate: outcomes are recorded per recipient; a message without
// a pending recipient leaves the queue, and its body goes unless a
// delivered message shares it.
func testQueueUpdate(t *testing.T, s store.Store) {
	q := queueOf(t, s)
	newAccount(t, s, "alice@example.com")
	m, err := q.Enqueue(ctx, strings.NewReader("only queued\n"), "alice@example.com", "alice@example.com",
		[]string{"bob@remote.example", "carol@other.example"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Millisecond)
	next := at.Add(10 * time.Minute)
	err = q.UpdateQueued(ctx, m.ID, []store.RecipientUpdate{
		{Address: "bob@remote.example", State: store.OutboundDelivered, LastError: "250 ok", RemoteMTA: "mx.remote.example", TLS: true, Attempted: true, At: at},
		{Address: "carol@other.example", State: store.OutboundPending, NextAttempt: next, LastError: "451 later", Attempted: true, At: at},
	}, true)
	if err != nil {
		t.Fatalf("UpdateQueued: %v", err)
	}
	got, err := q.QueuedMessage(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	bob, carol := got.Recipients[0], got.Recipients[1]
	if bob.State != store.OutboundDelivered || !bob.TLS || bob.RemoteMTA != "mx.remote.example" || bob.Attempts != 1 || !bob.LastAttempt.Equal(at) {
		t.Errorf("bob: %+v", bob)
	}
	if carol.State != store.OutboundPending || !carol.NextAttempt.Equal(next) || carol.LastError != "451 later" || carol.Attempts != 1 {
		t.Errorf("carol: %+v", carol)
	}
	if !got.DelayNotified {
		t.Error("DelayNotified not kept")
	}
	// Bob is done: a later update cannot change him back.
	err = q.UpdateQueued(ctx, m.ID, []store.RecipientUpdate{
		{Address: "bob@remote.example", State: store.OutboundFailed, Attempted: true, At: at},
		{Address: "carol@other.example", State: store.OutboundFailed, LastError: "550 no", Attempted: true, At: at},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.QueuedMessage(ctx, m.ID); !errors.Is(err, store.ErrNoSuchQueued) {
		t.Errorf("finished message still queued: %v", err)
	}
	if b, err := s.OpenBlob(ctx, m.BlobID); err == nil {
		b.Close()
		t.Error("the body of a finished message is still stored")
	}

	// Shared content: delivered locally and queued; dropping the queued
	// copy leaves the delivered one readable.
	const body = "Subject: both\r\n\r\nlocal and remote\r\n"
	res := deliver(t, s, body, store.Target{Account: "alice@example.com"})
	_ = res
	m2, err := q.Enqueue(ctx, strings.NewReader(body), "alice@example.com", "alice@example.com", []string{"bob@remote.example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.DropQueued(ctx, m2.ID); err != nil {
		t.Fatal(err)
	}
	if got := string(readBlob(t, s, m2.BlobID)); got != body {
		t.Errorf("shared body after drop: %q", got)
	}
	if all, err := q.QueuedMessages(ctx); err != nil || len(all) != 0 {
		t.Errorf("queue after drop: %+v %v", all, err)
	}
}

// testQueueDSN: the DSN parameters of RFC 3461 given to EnqueueEnvelope
// (RET, ENVID; NOTIFY, ORCPT per recipient) come back from every read,
// including ClaimDue, and survive an update; a message without them reads
// as empty strings; Enqueue stores none.
func testQueueDSN(t *testing.T, s store.Store) {
	q := queueOf(t, s)
	newAccount(t, s, "alice@example.com")
	env := store.Envelope{Account: "alice@example.com", From: "alice@example.com", Ret: "HDRS", EnvID: "QQ314159",
		Rcpts: []store.EnvelopeRcpt{
			{Address: "bob@remote.example", Notify: "SUCCESS,DELAY", ORcpt: "rfc822;Bob@Remote.Example"},
			{Address: "carol@remote.example"},
			{Address: "dave@remote.example", Notify: "NEVER"},
		}}
	m, err := q.EnqueueEnvelope(ctx, strings.NewReader("Subject: dsn\n\nx\n"), env)
	if err != nil {
		t.Fatalf("EnqueueEnvelope: %v", err)
	}
	plain, err := q.Enqueue(ctx, strings.NewReader("x\n"), "alice@example.com", "alice@example.com", []string{"erin@remote.example"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got store.OutboundMessage) {
		t.Helper()
		if got.Ret != "HDRS" || got.EnvID != "QQ314159" || len(got.Recipients) != 3 {
			t.Fatalf("%s: %+v", what, got)
		}
		want := env.Rcpts
		for i, r := range got.Recipients {
			if r.Address != want[i].Address || r.Notify != want[i].Notify || r.ORcpt != want[i].ORcpt {
				t.Errorf("%s: recipient %d = %+v, want %+v", what, i, r, want[i])
			}
		}
	}
	check("EnqueueEnvelope", m)
	one, err := q.QueuedMessage(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("QueuedMessage", one)
	all, err := q.QueuedMessages(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("QueuedMessages = %+v, %v", all, err)
	}
	check("QueuedMessages", all[0])
	if p := all[1]; p.ID != plain.ID || p.Ret != "" || p.EnvID != "" || p.Recipients[0].Notify != "" || p.Recipients[0].ORcpt != "" {
		t.Errorf("message without DSN parameters: %+v", p)
	}
	claimed, err := q.ClaimDue(ctx, time.Now().Add(time.Second), time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimDue = %+v, %v", claimed, err)
	}
	check("ClaimDue", claimed[0])
	if err := q.UpdateQueued(ctx, m.ID, []store.RecipientUpdate{{Address: "carol@remote.example", State: store.OutboundDelivered, Attempted: true, At: time.Now()}}, false); err != nil {
		t.Fatal(err)
	}
	one, err = q.QueuedMessage(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("after UpdateQueued", one)
	if err := q.DropQueued(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.QueuedMessage(ctx, m.ID); !errors.Is(err, store.ErrNoSuchQueued) {
		t.Errorf("after DropQueued: %v", err)
	}
}
