package outbound

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
)

// enqueueEnv queues testBody with DSN parameters.
func (e *env) enqueueEnv(t *testing.T, ret, envID string, rcpts ...store.EnvelopeRcpt) store.OutboundMessage {
	t.Helper()
	m, err := e.q.EnqueueEnvelope(context.Background(), strings.NewReader(testBody),
		store.Envelope{Account: "alice@example.com", From: "alice@example.com", Ret: ret, EnvID: envID, Rcpts: rcpts})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RFC 3461: the DSN parameters go on to a server that offers DSN (with an
// ORCPT added where the client gave none, §4.2) and decide our own
// notices: NEVER suppresses the bounce, a NOTIFY without FAILURE too,
// SUCCESS to a server without DSN makes a "relayed" notice, RET=FULL
// returns the whole message in a failure notice, ENVID and ORCPT come back
// as Original-Envelope-Id and Original-Recipient (RFC 3464 §2.2.1, §2.3.1).
func TestDSNParameters(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.3.1", "127.0.3.2")
	withDSN := startMTAServer(t, "127.0.3.1", port, nil, "", func(s *smtp.Server) { s.EnableDSN = true })
	noDSN := startMTAServer(t, "127.0.3.2", port, nil, "", nil)
	noDSN.set(behaviour{rcpt: func(to string) error {
		if strings.HasPrefix(to, "bad") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	e.dns.add(t, "dsn.test. 60 IN MX 10 mx.dsn.test.", "mx.dsn.test. 60 IN A 127.0.3.1",
		"plain.test. 60 IN MX 10 mx.plain.test.", "mx.plain.test. 60 IN A 127.0.3.2")

	passOn := e.enqueueEnv(t, "HDRS", "ENV-1",
		store.EnvelopeRcpt{Address: "bob@dsn.test", Notify: "SUCCESS,FAILURE", ORcpt: "rfc822;Bob.Original@dsn.test"},
		store.EnvelopeRcpt{Address: "carol@dsn.test"})
	relayed := e.enqueueEnv(t, "", "ENV-2",
		store.EnvelopeRcpt{Address: "dave@plain.test", Notify: "SUCCESS", ORcpt: "rfc822;dave.orig@plain.test"},
		store.EnvelopeRcpt{Address: "erin@plain.test"})
	never := e.enqueueEnv(t, "FULL", "",
		store.EnvelopeRcpt{Address: "bad1@plain.test", Notify: "NEVER"},
		store.EnvelopeRcpt{Address: "bad2@plain.test", Notify: "SUCCESS,DELAY"})
	full := e.enqueueEnv(t, "FULL", "ENV-4",
		store.EnvelopeRcpt{Address: "bad3@plain.test", Notify: "FAILURE"})
	hdrs := e.enqueueEnv(t, "HDRS", "",
		store.EnvelopeRcpt{Address: "bad4@plain.test"})
	e.start(t, Options{Port: port})
	eventually(t, "the queue to empty", func() bool {
		for _, id := range []int64{passOn.ID, relayed.ID, never.ID, full.ID, hdrs.ID} {
			if _, ok := e.queued(t, id); ok {
				return false
			}
		}
		return true
	})

	got := withDSN.messages()
	if len(got) != 1 {
		t.Fatalf("DSN server got %d messages", len(got))
	}
	m := got[0]
	if m.mailOpts.Return != smtp.DSNReturnHeaders || m.mailOpts.EnvelopeID != "ENV-1" {
		t.Errorf("MAIL parameters passed on: %+v", m.mailOpts)
	}
	if o := m.rcptOpts[0]; len(o.Notify) != 2 || o.Notify[0] != smtp.DSNNotifySuccess || o.Notify[1] != smtp.DSNNotifyFailure ||
		o.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || o.OriginalRecipient != "Bob.Original@dsn.test" {
		t.Errorf("RCPT parameters passed on: %+v", o)
	}
	if o := m.rcptOpts[1]; len(o.Notify) != 0 || o.OriginalRecipient != "carol@dsn.test" {
		t.Errorf("RCPT without parameters: %+v (want ORCPT added)", o)
	}
	for _, r := range noDSN.messages() {
		if r.mailOpts.EnvelopeID != "" || r.mailOpts.Return != "" || len(r.rcptOpts[0].Notify) != 0 {
			t.Errorf("DSN parameters sent to a server without DSN: %+v %+v", r.mailOpts, r.rcptOpts)
		}
	}

	inbox := e.inbox(t)
	var relayedDSN, fullDSN, hdrsDSN []string
	for _, d := range inbox {
		switch {
		case strings.Contains(d, "Action: relayed"):
			relayedDSN = append(relayedDSN, d)
		case strings.Contains(d, "bad3@plain.test"):
			fullDSN = append(fullDSN, d)
		case strings.Contains(d, "bad4@plain.test"):
			hdrsDSN = append(hdrsDSN, d)
		default:
			t.Errorf("unexpected notice:\n%s", d)
		}
	}
	if len(inbox) != 3 || len(relayedDSN) != 1 || len(fullDSN) != 1 || len(hdrsDSN) != 1 {
		t.Fatalf("%d notices (relayed %d, full %d, headers %d), want one of each; NEVER and SUCCESS,DELAY must not bounce",
			len(inbox), len(relayedDSN), len(fullDSN), len(hdrsDSN))
	}
	r := relayedDSN[0]
	for _, want := range []string{"Original-Envelope-Id: ENV-2", "Original-Recipient: rfc822; dave.orig@plain.test",
		"Final-Recipient: rfc822; dave@plain.test", "Action: relayed", "Status: 2.0.0", "Content-Type: text/rfc822-headers"} {
		if !strings.Contains(r, want) {
			t.Errorf("relayed notice lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "erin@") {
		t.Errorf("relayed notice names a recipient that did not ask:\n%s", r)
	}
	f := fullDSN[0]
	for _, want := range []string{"Original-Envelope-Id: ENV-4", "Action: failed", "Status: 5.1.1",
		"Content-Type: message/rfc822", "Hello there."} {
		if !strings.Contains(f, want) {
			t.Errorf("RET=FULL notice lacks %q:\n%s", want, f)
		}
	}
	if h := hdrsDSN[0]; !strings.Contains(h, "Content-Type: text/rfc822-headers") || strings.Contains(h, "Hello there.") || strings.Contains(h, "Original-Envelope-Id") {
		t.Errorf("RET=HDRS notice:\n%s", h)
	}
}

// A delay notice goes only to recipients whose NOTIFY includes DELAY (or
// who gave none); it is decided once per message either way.
func TestDSNDelayNotify(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.3.3")
	mta := startMTAServer(t, "127.0.3.3", port, nil, "", nil)
	mta.set(behaviour{rcpt: func(string) error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
	}})
	e.dns.add(t, "slow.test. 60 IN MX 10 mx.slow.test.", "mx.slow.test. 60 IN A 127.0.3.3")
	a := e.enqueueEnv(t, "", "", store.EnvelopeRcpt{Address: "a@slow.test", Notify: "DELAY"}, store.EnvelopeRcpt{Address: "b@slow.test", Notify: "FAILURE"})
	b := e.enqueueEnv(t, "", "", store.EnvelopeRcpt{Address: "c@slow.test", Notify: "SUCCESS,FAILURE"})
	e.start(t, Options{Port: port, DelayNotice: time.Nanosecond, RetryFirst: time.Hour})
	eventually(t, "both messages tried", func() bool {
		ma, _ := e.queued(t, a.ID)
		mb, _ := e.queued(t, b.ID)
		return ma.DelayNotified && mb.DelayNotified
	})
	inbox := e.inbox(t)
	if len(inbox) != 1 {
		t.Fatalf("%d notices, want one (for a@)", len(inbox))
	}
	if d := inbox[0]; !strings.Contains(d, "Action: delayed") || !strings.Contains(d, "a@slow.test") || strings.Contains(d, "b@slow.test") {
		t.Errorf("delay notice:\n%s", d)
	}
}
