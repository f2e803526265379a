package pop3server

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// TestIdleTimeout: an idle session is closed without a reply (RFC 1939 §3)
// and without entering UPDATE: its DELE marks are dropped.
func TestIdleTimeout(t *testing.T) {
	e := envWithMail(t, func(o *Options) { o.IdleTimeout = 200 * time.Millisecond })
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: DELE 1
		S: +OK*
		S: <closed>`)
	waitFor(t, "lock release", func() bool {
		u, ok := e.srv.locker.TryLock(alice)
		if ok {
			u()
		}
		return ok
	})
	if got := e.inbox(alice); len(got) != 3 {
		t.Fatalf("inbox after idle logout = %v", got)
	}
	if !strings.Contains(e.logBuf.String(), "idle timeout") {
		t.Error("no log line for the idle timeout")
	}
}

// panicStore panics in OpenBlob, to prove per-command recovery.
type panicStore struct{ store.Store }

func (p panicStore) OpenBlob(ctx context.Context, id string) (store.Blob, error) {
	panic("boom")
}

// TestPanicRecovered: a panic in a handler is logged, answered with
// -ERR [SYS/TEMP], the connection closes, nothing is deleted, the lock is
// released and the server keeps serving.
func TestPanicRecovered(t *testing.T) {
	e2 := envWithMail(t, func(o *Options) { o.Store = panicStore{o.Store} })
	c := e2.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: DELE 2
		S: +OK*
		C: RETR 1
		S: -ERR [SYS/TEMP] internal server error
		S: <closed>`)
	if !strings.Contains(e2.logBuf.String(), "panic") {
		t.Error("panic not logged")
	}
	c2 := e2.client(alice, alicePass)
	if n, _, err := c2.Stat(); err != nil || n != 3 {
		t.Fatalf("after panic: STAT %d %v", n, err)
	}
}

// failingBlobStore fails OpenBlob, or breaks the blob halfway.
type failingBlobStore struct {
	store.Store
	midway bool
}

type brokenBlob struct{ store.Blob }

func (b brokenBlob) Read(p []byte) (int, error) {
	n, err := b.Blob.Read(p[:min(len(p), 10)])
	if err == nil && n > 0 {
		return n, errors.New("disk read error")
	}
	return n, err
}

func (f failingBlobStore) OpenBlob(ctx context.Context, id string) (store.Blob, error) {
	if !f.midway {
		return nil, errors.New("blob missing")
	}
	b, err := f.Store.OpenBlob(ctx, id)
	return brokenBlob{b}, err
}

func TestRetrBlobErrors(t *testing.T) {
	e1 := envWithMail(t, func(o *Options) { o.Store = failingBlobStore{Store: o.Store} })
	c := e1.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: RETR 1
		S: -ERR [SYS/TEMP] message cannot be read now
		C: TOP 1 0
		S: -ERR [SYS/TEMP] message cannot be read now
		C: QUIT
		S: +OK*`)

	// A read error after +OK cannot be reported in-band: the connection is
	// closed rather than the message passed off as complete.
	e2 := envWithMail(t, func(o *Options) { o.Store = failingBlobStore{Store: o.Store, midway: true} })
	c2 := e2.dial()
	c2.login(alice, alicePass)
	c2.send("RETR 1\r\n")
	c2.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, _ := io.ReadAll(c2.r)
	if strings.HasSuffix(string(rest), "\r\n.\r\n") {
		t.Fatalf("broken message was terminated as complete: %q", rest)
	}
}

// TestStoreFailureAtLogin: an error opening the maildrop answers
// [SYS/TEMP] and releases the lock.
type noMailboxStore struct{ store.Store }

func (n noMailboxStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	return nil, errors.New("database locked")
}

func TestStoreFailureAtLogin(t *testing.T) {
	e1 := envWithMail(t, func(o *Options) { o.Store = noMailboxStore{o.Store} })
	c := e1.dial()
	c.login2Fail(alice, alicePass, "-ERR [SYS/TEMP] maildrop temporarily unavailable")
	if u, ok := e1.srv.locker.TryLock(alice); !ok {
		t.Fatal("lock kept after failed login")
	} else {
		u()
	}
}

// TestServerClose: Close ends Serve with ErrServerClosed, drops sessions
// without UPDATE, and refuses new Serve calls.
func TestServerClose(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: DELE 1
		S: +OK*`)
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
	if got := e.inbox(alice); len(got) != 3 {
		t.Fatalf("Close deleted messages: %v", got)
	}
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Error("listener still accepting after Close")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := e.srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close = %v", err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestClientGoneMidSession: disconnects at every point of a session never
// crash the server or leak the lock.
func TestClientGoneMidSession(t *testing.T) {
	e := envWithMail(t)
	for _, partial := range []string{"", "US", "USER " + alice + "\r\n", "AUTH PLAIN\r\n", "USER " + alice + "\r\nPASS " + alicePass + "\r\nRETR 1\r\n"} {
		c := e.dial()
		c.transcript(`S: +OK*`) // accepted: the server tracks the session
		c.send(partial)
		c.conn.Close()
	}
	e.waitSessionsEnded()
	e.client(alice, alicePass)
}

// expungeFailStore fails Mailbox.Expunge, for the UPDATE-state error path.
type expungeFailStore struct{ store.Store }

type expungeFailMailboxes struct{ store.Mailboxes }

type expungeFailMailbox struct{ store.Mailbox }

func (s expungeFailStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	m, err := s.Store.Mailboxes(ctx, account)
	return expungeFailMailboxes{m}, err
}

func (m expungeFailMailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	mb, err := m.Mailboxes.Open(ctx, name)
	return expungeFailMailbox{mb}, err
}

func (expungeFailMailbox) Expunge(context.Context, []store.UID) ([]store.UID, error) {
	return nil, errors.New("disk on fire")
}

// missingInboxStore has no INBOX: a permanent problem, [SYS/PERM].
type missingInboxStore struct{ store.Store }

type missingInboxMailboxes struct{ store.Mailboxes }

func (s missingInboxStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	m, err := s.Store.Mailboxes(ctx, account)
	return missingInboxMailboxes{m}, err
}

func (missingInboxMailboxes) Open(context.Context, string) (store.Mailbox, error) {
	return nil, store.ErrNoSuchMailbox
}

func TestMissingInboxIsPermanent(t *testing.T) {
	e := envWithMail(t, func(o *Options) { o.Store = missingInboxStore{o.Store} })
	c := e.dial()
	c.login2Fail(alice, alicePass, "-ERR [SYS/PERM] maildrop unavailable")
}
