package outbound

import (
	"context"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store/postgres"
	"github.com/letterbox/letterbox/internal/testutil/pgtest"
)

// Two nodes on one PostgreSQL database each run a worker on the same
// queue: every message is delivered exactly once (ClaimDue's row locks),
// and the queue ends empty.
func TestTwoNodesShareTheQueue(t *testing.T) {
	base := pgtest.DSN(t)
	dsn := pgtest.Schema(t, base, "lbqueue")
	open := func() *postgres.Store {
		st, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	if _, err := a.CreateAccount(context.Background(), "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	d := newTestDNS(t)
	port := freeLoopbackPort(t, "127.0.0.16")
	mta := startMTA(t, "127.0.0.16", port, noTLS)
	d.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.16")
	ea := &env{st: a, q: a, dns: d}
	eb := &env{st: b, q: b, dns: d}
	const n = 40
	var ids []int64
	for i := range n {
		body := strings.Replace(testBody, "Subject: hello", "Subject: m"+strings.Repeat("x", i), 1)
		ids = append(ids, ea.enqueue(t, body, "bob@remote.test").ID)
	}
	ea.start(t, Options{Port: port, PerDomain: 1, MessagesPerConn: 3})
	eb.start(t, Options{Port: port, PerDomain: 1, MessagesPerConn: 3})
	eventually(t, "an empty queue", func() bool {
		all, err := b.QueuedMessages(context.Background())
		return err == nil && len(all) == 0
	})
	got := mta.messages()
	seen := map[string]int{}
	for _, m := range got {
		i := strings.Index(m.data, "Subject: ")
		seen[m.data[i:i+strings.Index(m.data[i:], "\r\n")]]++
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("%d deliveries of %d distinct messages, want %d each", len(got), len(seen), n)
	}
}
