package smtpserver

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// spyStore is the real SQLite store with a test decorator around Deliver:
// it records the targets of every call (to prove one call, one blob, per
// message) and can make delivery to one account fail with failErr while
// the other targets go through (the injected per-recipient failure).
type spyStore struct {
	store.Store

	mu          sync.Mutex
	calls       [][]store.Target
	failAccount string
	failErr     error
}

// newSpyStore opens a SQLite store in a temp dir with the test accounts,
// whose password is testPassword. maxSize 0 means no store size limit.
func newSpyStore(t *testing.T, maxSize int64) *spyStore {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir(), MaxMessageSize: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := auth.HashPassword(testPassword, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range testAccounts {
		if _, err := st.CreateAccount(context.Background(), a, hash); err != nil {
			t.Fatal(err)
		}
	}
	return &spyStore{Store: st}
}

// failing makes delivery to account fail with err.
func (s *spyStore) failing(account string, err error) *spyStore {
	s.failAccount, s.failErr = account, err
	return s
}

func (s *spyStore) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	s.mu.Lock()
	s.calls = append(s.calls, append([]store.Target(nil), targets...))
	s.mu.Unlock()
	var pass []store.Target
	for _, t := range targets {
		if t.Account != s.failAccount {
			pass = append(pass, t)
		}
	}
	if len(pass) == 0 {
		io.Copy(io.Discard, body)
		res := make([]store.DeliveryResult, len(targets))
		for i := range res {
			res[i].Err = s.failErr
		}
		return res, nil
	}
	inner, err := s.Store.Deliver(ctx, body, pass)
	if err != nil {
		return nil, err
	}
	res := make([]store.DeliveryResult, len(targets))
	j := 0
	for i, t := range targets {
		if t.Account == s.failAccount {
			res[i].Err = s.failErr
			continue
		}
		res[i] = inner[j]
		j++
	}
	return res, nil
}

// deliverCalls returns the targets of every Deliver call so far.
func (s *spyStore) deliverCalls() [][]store.Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]store.Target(nil), s.calls...)
}

// messages returns the stored bodies in account's INBOX, in UID order.
func (s *spyStore) messages(t *testing.T, account string) [][]byte {
	t.Helper()
	ctx := context.Background()
	mbs, err := s.Mailboxes(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, store.InboxName)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		b, err := s.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(b)
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != m.Size {
			t.Errorf("message %d: blob has %d octets, size says %d", m.UID, len(data), m.Size)
		}
		out = append(out, data)
	}
	return out
}

// spyStore passes the aliases capability of the store under it through.
var _ store.Aliases = (*spyStore)(nil)

func (s *spyStore) AddAlias(ctx context.Context, address, account string) error {
	return s.Store.(store.Aliases).AddAlias(ctx, address, account)
}

func (s *spyStore) DeleteAlias(ctx context.Context, address string) error {
	return s.Store.(store.Aliases).DeleteAlias(ctx, address)
}

func (s *spyStore) Aliases(ctx context.Context) ([]store.Alias, error) {
	return s.Store.(store.Aliases).Aliases(ctx)
}

func (s *spyStore) ResolveAlias(ctx context.Context, address string) (string, error) {
	return s.Store.(store.Aliases).ResolveAlias(ctx, address)
}
