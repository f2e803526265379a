package pop3server

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary client input to a session and checks the
// server answers and ends the session cleanly: no panic (even a recovered
// one), no hang, every reply line well-formed.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"USER alice@example.com\r\nPASS alice secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 1 1\r\nDELE 1\r\nRSET\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGFsaWNlIHNlY3JldA==\r\nLIST 2\r\nTOP 3 0\r\n",
		"CAPA\r\nUTF8\r\nSTLS\r\nNOOP\r\n",
		"\r\n\n\x00\xff .\r\nLIST 99999999999\r\nTOP 1 -1\r\n",
	} {
		f.Add([]byte(seed))
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			newSession(e.srv, server).run()
			server.Close()
		}()
		go func() {
			client.Write(input)
			client.Write([]byte("\r\nQUIT\r\n"))
		}()
		start := time.Now()
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		out, err := io.ReadAll(client)
		client.Close()
		<-done
		if err != nil {
			t.Fatalf("session did not end: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("session took %v", d)
		}
		if strings.Contains(e.logBuf.String(), "panic") {
			t.Fatalf("panic:\n%s", e.logBuf.String())
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out)
		}
	})
}

// newFuzzEnv builds a server (never listening: sessions run on pipes) with
// alice's maildrop, allowing plaintext auth on the pipe.
func newFuzzEnv(f *testing.F) *testEnv {
	st := newTestStore(f)
	hash, err := authHash(alicePass)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.CreateAccount(f.Context(), alice, hash); err != nil {
		f.Fatal(err)
	}
	e := &testEnv{store: st, logBuf: &syncBuffer{}}
	for _, m := range []string{msg1, msg2, msg3} {
		if _, err := st.Deliver(f.Context(), strings.NewReader(m), storeTargets(alice)); err != nil {
			f.Fatal(err)
		}
	}
	e.srv = New(Options{
		Store:              st,
		Auth:               fuzzAuth(st),
		AllowPlaintextAuth: func(netip.Addr, bool) bool { return true },
		IdleTimeout:        5 * time.Second,
		Logger:             logTo(e.logBuf),
	})
	f.Cleanup(func() { e.srv.Close() })
	return e
}
