package smtpserver

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// memStore is a small in-memory store for this package's tests, used until
// the SQLite driver builds: accounts and Deliver only (the rest of
// store.Store is never called by the SMTP server and panics if it is).
type memStore struct {
	store.Store // nil: unimplemented methods panic

	mu       sync.Mutex
	accounts map[string]store.Account
	inbox    map[string][][]byte // account → bodies delivered, in order
	calls    [][]store.Target    // targets of every Deliver call
	maxSize  int64
}

func newMemStore(accounts ...string) *memStore {
	m := &memStore{accounts: map[string]store.Account{}, inbox: map[string][][]byte{}}
	for i, a := range accounts {
		m.accounts[a] = store.Account{ID: int64(i + 1), Name: a, Created: time.Now()}
	}
	return m
}

func (m *memStore) CreateAccount(_ context.Context, name, hash string) (store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = strings.ToLower(name)
	if _, ok := m.accounts[name]; ok {
		return store.Account{}, store.ErrAccountExists
	}
	a := store.Account{ID: int64(len(m.accounts) + 1), Name: name, PasswordHash: hash, Created: time.Now()}
	m.accounts[name] = a
	return a, nil
}

func (m *memStore) Account(_ context.Context, name string) (store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[strings.ToLower(name)]
	if !ok {
		return store.Account{}, store.ErrNoSuchAccount
	}
	return a, nil
}

func (m *memStore) Accounts(context.Context) ([]store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Account
	for _, a := range m.accounts {
		out = append(out, a)
	}
	return out, nil
}

func (m *memStore) Deliver(_ context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, targets)
	if m.maxSize > 0 && int64(len(data)) > m.maxSize {
		return nil, store.ErrTooLarge
	}
	res := make([]store.DeliveryResult, len(targets))
	for i, t := range targets {
		if _, ok := m.accounts[t.Account]; !ok {
			res[i].Err = store.ErrNoSuchAccount
			continue
		}
		m.inbox[t.Account] = append(m.inbox[t.Account], data)
		res[i].UID = store.UID(len(m.inbox[t.Account]))
	}
	return res, nil
}

func (m *memStore) Close() error { return nil }

// messages returns the bodies delivered to account.
func (m *memStore) messages(account string) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.inbox[account]...)
}

// deliverCalls returns the targets of every Deliver call so far.
func (m *memStore) deliverCalls() [][]store.Target {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]store.Target(nil), m.calls...)
}

// failingStore decorates a store so that delivery to one account fails
// with err while the other targets go through: the injected per-recipient
// failure of the LMTP tests.
type failingStore struct {
	*memStore
	account string
	err     error
}

func (f *failingStore) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	var pass []store.Target
	for _, t := range targets {
		if t.Account != f.account {
			pass = append(pass, t)
		}
	}
	inner, err := f.memStore.Deliver(ctx, body, pass)
	if err != nil {
		return nil, err
	}
	res := make([]store.DeliveryResult, len(targets))
	j := 0
	for i, t := range targets {
		if t.Account == f.account {
			res[i].Err = f.err
			continue
		}
		res[i] = inner[j]
		j++
	}
	return res, nil
}
