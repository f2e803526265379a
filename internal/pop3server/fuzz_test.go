package pop3server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

// This file is self-contained on purpose: it uses only the package's own
// code, auth and the store contract, with a tiny in-memory store below, so
// the fuzz target does not need the SQLite driver (whose fuzz-instrumented
// build is what makes a cold fuzz step slow) once it is built apart from
// the other test files.

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
	hash, err := auth.HashPassword(fuzzPass, auth.TestParams)
	if err != nil {
		f.Fatal(err)
	}
	st := &fuzzStore{account: store.Account{ID: 1, Name: fuzzUser, PasswordHash: hash}}
	var logBuf fuzzLog
	srv := New(Options{
		Store: st,
		// A tiny failure delay and a huge per-IP budget: fuzzing must not
		// be slowed or locked out by the throttle.
		Auth:               auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Microsecond, MaxFailuresPerIP: 1 << 30}),
		AllowPlaintextAuth: func(netip.Addr, bool) bool { return true },
		IdleTimeout:        5 * time.Second,
		Logger:             slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	f.Cleanup(func() { srv.Close() })
	f.Fuzz(func(t *testing.T, input []byte) {
		st.reset() // DELE+QUIT of an earlier input must not shrink this one's maildrop
		logBuf.reset()
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			newSession(srv, server).run()
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
	hash, err := auth.HashPassword(fuzzPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	st := &fuzzStore{account: store.Account{ID: 1, Name: fuzzUser, PasswordHash: hash}}
	st.reset()
	srv := New(Options{Store: st, Auth: auth.New(st, auth.Options{Params: auth.TestParams}),
		AllowPlaintextAuth: func(netip.Addr, bool) bool { return true }})
	defer srv.Close()
	client, server := net.Pipe()
	go func() { newSession(srv, server).run(); server.Close() }()
	go client.Write([]byte("USER " + fuzzUser + "\r\nPASS " + fuzzPass + "\r\nSTAT\r\nRETR 2\r\nDELE 1\r\nQUIT\r\n"))
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, m := range fuzzMaildrop {
		size += len(m)
	}
	for _, want := range []string{fmt.Sprintf("+OK 3 %d\r\n", size), "\r\n..leading dot\r\n", "+OK"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("transcript lacks %q:\n%s", want, out)
		}
	}
	if got := st.uids(); !slices.Equal(got, []store.UID{2, 3}) {
		t.Fatalf("after DELE 1 and QUIT: UIDs %v, want [2 3]", got)
	}
}

// fuzzStore is one account with an INBOX held in memory. It implements
// what a POP3 session and auth call; every other method of the contract is
// left to the embedded nil interface, so calling one panics, and the fuzz
// target reports the (recovered, logged) panic.
type fuzzStore struct {
	store.Store
	account store.Account

	mu   sync.Mutex
	msgs []store.Message
	body map[string][]byte // by blob ID
}

// reset refills INBOX with fuzzMaildrop, UIDs 1, 2, 3.
func (s *fuzzStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs, s.body = nil, map[string][]byte{}
	for i, m := range fuzzMaildrop {
		id := fmt.Sprintf("blob%d", i+1)
		s.body[id] = []byte(m)
		s.msgs = append(s.msgs, store.Message{UID: store.UID(i + 1), ModSeq: 1, Size: int64(len(m)), BlobID: id,
			InternalDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)})
	}
}

func (s *fuzzStore) uids() []store.UID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u []store.UID
	for _, m := range s.msgs {
		u = append(u, m.UID)
	}
	return u
}

func (s *fuzzStore) Account(_ context.Context, name string) (store.Account, error) {
	if name != s.account.Name {
		return store.Account{}, store.ErrNoSuchAccount
	}
	return s.account, nil
}

func (s *fuzzStore) Mailboxes(_ context.Context, account string) (store.Mailboxes, error) {
	if account != s.account.Name {
		return nil, store.ErrNoSuchAccount
	}
	return &fuzzMailboxes{s: s}, nil
}

func (s *fuzzStore) OpenBlob(_ context.Context, id string) (store.Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.body[id]
	if !ok {
		return nil, fmt.Errorf("fuzz store: no blob %q", id)
	}
	return fuzzBlob{bytes.NewReader(b)}, nil
}

// fuzzMailboxes opens INBOX only.
type fuzzMailboxes struct {
	store.Mailboxes
	s *fuzzStore
}

func (m *fuzzMailboxes) Account() store.Account { return m.s.account }

func (m *fuzzMailboxes) Open(_ context.Context, name string) (store.Mailbox, error) {
	if !strings.EqualFold(name, store.InboxName) {
		return nil, store.ErrNoSuchMailbox
	}
	return &fuzzMailbox{s: m.s}, nil
}

type fuzzMailbox struct {
	store.Mailbox
	s *fuzzStore
}

func (m *fuzzMailbox) Info(context.Context) (store.MailboxInfo, error) {
	return store.MailboxInfo{ID: 1, Name: store.InboxName, UIDValidity: 1, UIDNext: store.UID(len(fuzzMaildrop) + 1), HighestModSeq: 1}, nil
}

func (m *fuzzMailbox) Messages(context.Context) ([]store.Message, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return slices.Clone(m.s.msgs), nil
}

func (m *fuzzMailbox) Expunge(_ context.Context, uids []store.UID) ([]store.UID, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	var removed []store.UID
	m.s.msgs = slices.DeleteFunc(m.s.msgs, func(msg store.Message) bool {
		if slices.Contains(uids, msg.UID) {
			removed = append(removed, msg.UID)
			return true
		}
		return false
	})
	return removed, nil
}

type fuzzBlob struct{ *bytes.Reader }

func (fuzzBlob) Close() error { return nil }

// fuzzLog is a goroutine-safe log buffer.
type fuzzLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *fuzzLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *fuzzLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *fuzzLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
