package fuzz

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/pop3server"
	"github.com/letterbox/letterbox/internal/store"
)

const (
	fuzzUser = "alice@example.com"
	fuzzPass = "alice secret"
)

// fuzzMaildrop is the INBOX every fuzz input starts from.
var fuzzMaildrop = []string{
	"From: bob@example.com\r\nSubject: one\r\n\r\nfirst body\r\n",
	"From: carol@example.com\r\nSubject: two\r\n\r\n.leading dot\r\nline\r\n",
	"Subject: three\r\n\r\n" + strings.Repeat("long line of text\r\n", 40),
}

// fuzzServer is a POP3 server over a fuzzStore, serving a pipeListener
// until the test ends. Its log goes to the returned buffer.
func fuzzServer(tb testing.TB) (*fuzzStore, *pipeListener, *fuzzLog) {
	tb.Helper()
	hash, err := auth.HashPassword(fuzzPass, auth.TestParams)
	if err != nil {
		tb.Fatal(err)
	}
	st := &fuzzStore{account: store.Account{ID: 1, Name: fuzzUser, PasswordHash: hash}}
	st.reset()
	logBuf := &fuzzLog{}
	srv := pop3server.New(pop3server.Options{
		Store: st,
		// A tiny failure delay and a huge per-IP budget: fuzzing must not
		// be slowed or locked out by the throttle.
		Auth:               auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Microsecond, MaxFailuresPerIP: 1 << 30}),
		AllowPlaintextAuth: func(netip.Addr, bool) bool { return true },
		IdleTimeout:        5 * time.Second,
		Logger:             slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	l := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	tb.Cleanup(func() {
		srv.Close()
		if err := <-served; err != pop3server.ErrServerClosed {
			tb.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return st, l, logBuf
}

// session sends input, then "*" and QUIT, and returns everything the server wrote
// until it closed the connection.
func session(l *pipeListener, input []byte) ([]byte, error) {
	client, err := l.dial()
	if err != nil {
		return nil, err
	}
	defer client.Close()
	go func() {
		client.Write(input)
		// "*" cancels a SASL exchange the input may have left open
		// (RFC 5034 §4; elsewhere it is just an unknown command), so
		// QUIT is read as a command and the session ends.
		client.Write([]byte("\r\n*\r\nQUIT\r\n"))
	}()
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	return io.ReadAll(client)
}

// FuzzSession feeds arbitrary client input to a session and checks the
// server answers and ends the session cleanly: no panic (even a recovered
// one), no hang, every reply line well-formed.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"USER alice@example.com\r\nPASS alice secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 1 1\r\nDELE 1\r\nRSET\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGFsaWNlIHNlY3JldA==\r\nLIST 2\r\nTOP 3 0\r\n",
		"CAPA\r\nUTF8\r\nSTLS\r\nNOOP\r\n",
		"\r\n\n\x00\xff .\r\nLIST 99999999999\r\nTOP 1 -1\r\n",
		"USER alice@example.com\r\nPASS alice secret\r\nDELE 1\r\nDELE 3\r\nQUIT\r\n",
	} {
		f.Add([]byte(seed))
	}
	st, l, logBuf := fuzzServer(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		st.reset() // DELE+QUIT of an earlier input must not shrink this one's maildrop
		logBuf.reset()
		start := time.Now()
		out, err := session(l, input)
		if err != nil {
			t.Fatalf("session did not end: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("session took %v", d)
		}
		if log := logBuf.String(); strings.Contains(log, "panic") {
			t.Fatalf("panic:\n%s", log)
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out)
		}
	})
}

// TestFuzzStoreSession checks the in-memory store is faithful enough for
// the fuzz target to reach the transaction state: a login, the listing, a
// retrieval and a QUIT that expunges.
func TestFuzzStoreSession(t *testing.T) {
	st, l, logBuf := fuzzServer(t)
	out, err := session(l, []byte("USER "+fuzzUser+"\r\nPASS "+fuzzPass+"\r\nSTAT\r\nRETR 2\r\nDELE 1\r\nQUIT"))
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, m := range fuzzMaildrop {
		size += len(m)
	}
	for _, want := range []string{fmt.Sprintf("+OK 3 %d\r\n", size), "\r\n..leading dot\r\n", "+OK"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("transcript lacks %q:\n%s\nlog:\n%s", want, out, logBuf)
		}
	}
	if got := st.uids(); !slices.Equal(got, []store.UID{2, 3}) {
		t.Fatalf("after DELE 1 and QUIT: UIDs %v, want [2 3]", got)
	}
}

// TestNoSQLiteInFuzzBuild keeps this package's test binary free of the
// SQLite driver, the reason the fuzz target lives here.
func TestNoSQLiteInFuzzBuild(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-test", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "modernc.org/sqlite") || strings.HasSuffix(dep, "/internal/store/sqlite") {
			t.Errorf("the fuzz test binary depends on %s", dep)
		}
	}
}
