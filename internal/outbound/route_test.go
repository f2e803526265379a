package outbound

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// An MX host's IPv6 address is tried before its IPv4 one.
func TestIPv6First(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "::1", "127.0.0.10")
	v6 := startMTA(t, "::1", port, noTLS)
	v4 := startMTA(t, "127.0.0.10", port, noTLS)
	e.dns.add(t,
		"six.test. 60 IN MX 10 mx.six.test.",
		"mx.six.test. 60 IN A 127.0.0.10",
		"mx.six.test. 60 IN AAAA ::1",
	)
	m := e.enqueue(t, testBody, "bob@six.test")
	e.start(t, Options{Port: port})
	eventually(t, "delivery", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	if got := v6.messages(); len(got) != 1 || !strings.HasPrefix(got[0].conn, "[::1]:") {
		t.Errorf("IPv6 MTA got %+v", got)
	}
	if got := v4.messages(); len(got) != 0 {
		t.Errorf("IPv4 MTA got %+v", got)
	}
}

// When the IPv6 address drops the connection, the IPv4 one gets the mail
// (RFC 5321 §5.1: every address of every MX).
func TestIPv4WhenIPv6Fails(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "::1", "127.0.0.9")
	l, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close() // hangs up before the greeting
		}
	}()
	v4 := startMTA(t, "127.0.0.9", port, noTLS)
	e.dns.add(t,
		"four.test. 60 IN MX 10 mx.four.test.",
		"mx.four.test. 60 IN AAAA ::1",
		"mx.four.test. 60 IN A 127.0.0.9",
	)
	m := e.enqueue(t, testBody, "bob@four.test")
	e.start(t, Options{Port: port})
	eventually(t, "delivery", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	if got := v4.messages(); len(got) != 1 {
		t.Errorf("IPv4 MTA got %+v", got)
	}
}

// A smarthost takes all mail, over STARTTLS with a verified certificate and
// AUTH PLAIN, whatever the recipients' domains.
func TestRelay(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.11")
	relay, cert := startMTAWith(t, "127.0.0.11", port, goodTLS, "s3cret")
	e.dns.add(t, "mail.test. 60 IN A 127.0.0.11")
	m := e.enqueue(t, testBody, "bob@nowhere.test", "carol@elsewhere.test")
	e.start(t, Options{RelayRootCAs: cert.Pool, Relay: Relay{Host: "mail.test", Port: port, TLS: "starttls", Username: "relayuser", Password: "s3cret"}})
	eventually(t, "relay delivery", func() bool { _, ok := e.queued(t, m.ID); return !ok })
	got := relay.messages()
	if len(got) != 2 || !got[0].tls || !got[1].tls {
		t.Fatalf("relay got %+v, want both domains over TLS", got)
	}
}

// A relay whose certificate does not verify gets nothing (and no
// password): the message stays queued.
func TestRelayCertificateChecked(t *testing.T) {
	e := newEnv(t)
	port := freeLoopbackPort(t, "127.0.0.12")
	relay, _ := startMTAWith(t, "127.0.0.12", port, goodTLS, "s3cret")
	e.dns.add(t, "mail.test. 60 IN A 127.0.0.12")
	m := e.enqueue(t, testBody, "bob@nowhere.test")
	e.start(t, Options{Relay: Relay{Host: "mail.test", Port: port, TLS: "starttls", Username: "relayuser", Password: "s3cret"}})
	eventually(t, "the failed attempt", func() bool {
		q, ok := e.queued(t, m.ID)
		return ok && q.Recipients[0].Attempts == 1
	})
	q, _ := e.queued(t, m.ID)
	if !strings.Contains(q.Recipients[0].LastError, "certificate") {
		t.Errorf("last error %q", q.Recipients[0].LastError)
	}
	if len(relay.messages()) != 0 {
		t.Error("relay with an unverified certificate got mail")
	}
}
