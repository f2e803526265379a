package imapserver

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// fuzzSetup starts a server over a store with one account and two
// messages, for all iterations of one fuzz process, and returns its address.
func fuzzSetup(f *testing.F) string {
	st, err := sqlite.Open(sqlite.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	hash, err := auth.HashPassword("pw", auth.TestParams)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.CreateAccount(ctx, "fuzz@example.com", hash); err != nil {
		f.Fatal(err)
	}
	for _, m := range []string{
		"Subject: one\r\nFrom: a@example.com\r\n\r\nbody\r\n",
		"Subject: two\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b--\r\n",
	} {
		if _, err := st.Deliver(ctx, strings.NewReader(m), []store.Target{{Account: "fuzz@example.com"}}); err != nil {
			f.Fatal(err)
		}
	}
	srv := New(Options{
		Store:              st,
		Auth:               auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Microsecond, MaxFailuresPerIP: 1 << 30}),
		AllowPlaintextAuth: func(netip.Addr, bool) bool { return true },
		Limits:             Limits{IdleTimeout: 5 * time.Second, MaxConnsPerIP: 1 << 20, MaxConnsPerUser: 1 << 20},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(l)
	f.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return l.Addr().String()
}

// FuzzSession feeds arbitrary command lines to a logged-in session with a
// mailbox selected. The session must answer a NOOP afterwards (or have
// closed cleanly with BYE for a fatal protocol error), never panic, never
// hang.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"a FETCH 1:* (BODY[] BODYSTRUCTURE ENVELOPE)",
		"a UID FETCH 1:* (BODY.PEEK[2.1.HEADER.FIELDS (SUBJECT)]<0.5>)",
		"a FETCH 2 (BINARY[2.1] BINARY.SIZE[2])",
		"a SEARCH OR SUBJECT inner NOT TEXT body",
		"a SEARCH RETURN (SAVE MIN) ALL",
		"a STORE 1:* +FLAGS ($a \\Seen)",
		"a UID STORE * (UNCHANGEDSINCE 1) -FLAGS.SILENT (\\Seen)",
		"a COPY 1 Archive",
		"a MOVE $ Trash",
		"a EXPUNGE",
		"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% *) RETURN (STATUS (MESSAGES SIZE))",
		"a CREATE x/y (USE (\\Junk))",
		"a RENAME x x/z",
		"a IDLE\r\nDONE",
		"a ENABLE QRESYNC IMAP4rev2",
		"a SELECT INBOX (QRESYNC (1 1 1:*))",
		"a APPEND INBOX {3+}\r\nabc",
		"a CLOSE",
		"a UNSELECT",
		"a LOGOUT",
	} {
		f.Add(seed)
	}
	addr := fuzzSetup(f)
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n") && !strings.Contains(line, "\r\n") {
			return // keep lines well-formed apart from embedded CRLFs
		}
		client, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		br := bufio.NewReader(client)
		deadline := time.Now().Add(10 * time.Second)
		client.SetDeadline(deadline)
		write := func(s string) bool {
			_, err := client.Write([]byte(s + "\r\n"))
			return err == nil
		}
		// readUntil reads lines until one starts with prefix; false at EOF.
		readUntil := func(prefix string) (string, bool) {
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return "", false
				}
				if strings.HasPrefix(l, prefix) {
					return l, true
				}
			}
		}
		if _, ok := readUntil("* OK"); !ok {
			t.Fatal("no greeting")
		}
		write("l LOGIN fuzz@example.com pw")
		if l, ok := readUntil("l "); !ok || !strings.HasPrefix(l, "l OK") {
			t.Fatalf("login: %q", l)
		}
		write("s SELECT INBOX")
		if l, ok := readUntil("s "); !ok || !strings.HasPrefix(l, "s OK") {
			t.Fatalf("select: %q", l)
		}
		if !write(line) {
			return
		}
		write("zz9 NOOP")
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				// The server may close after a fatal protocol error or
				// LOGOUT, having said BYE; a timeout is a hang.
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("session hung after %q", line)
				}
				break
			}
			if strings.HasPrefix(l, "* BYE [SERVERBUG]") {
				t.Fatalf("panic on %q: %s", line, l)
			}
			if strings.HasPrefix(l, "zz9 ") {
				break
			}
		}
	})
}
