package pop3server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// memStore is a small in-memory store.Store for this package's tests: just
// enough of the contract for POP3 (accounts, INBOX delivery, blobs, the
// message list and expunge). Methods POP3 never calls return
// errNotInFake so a test that reaches one fails loudly.
type memStore struct {
	mu       sync.Mutex
	accounts map[string]*memAccount
	blobs    map[string][]byte
	nextID   int64
	// failExpunge, when set, makes Expunge fail (UPDATE-state error path).
	failExpunge error
}

var errNotInFake = errors.New("memStore: not implemented in the test fake")

type memAccount struct {
	acct        store.Account
	uidValidity uint32
	uidNext     store.UID
	messages    []store.Message
}

func newMemStore() *memStore {
	return &memStore{accounts: make(map[string]*memAccount), blobs: make(map[string][]byte)}
}

func (s *memStore) CreateAccount(ctx context.Context, name, hash string) (store.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = strings.ToLower(name)
	if _, ok := s.accounts[name]; ok {
		return store.Account{}, store.ErrAccountExists
	}
	s.nextID++
	a := &memAccount{
		acct:        store.Account{ID: s.nextID, Name: name, PasswordHash: hash, Created: time.Now()},
		uidValidity: uint32(1000 + s.nextID),
		uidNext:     1,
	}
	s.accounts[name] = a
	return a.acct, nil
}

func (s *memStore) DeleteAccount(ctx context.Context, name string) error { return errNotInFake }
func (s *memStore) SetPasswordHash(ctx context.Context, name, hash string) error {
	return errNotInFake
}

func (s *memStore) Account(ctx context.Context, name string) (store.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[strings.ToLower(name)]
	if !ok {
		return store.Account{}, store.ErrNoSuchAccount
	}
	return a.acct, nil
}

func (s *memStore) Accounts(ctx context.Context) ([]store.Account, error) { return nil, errNotInFake }

func (s *memStore) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.DeliveryResult, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	blobID := fmt.Sprintf("blob%d", s.nextID)
	s.blobs[blobID] = data
	res := make([]store.DeliveryResult, len(targets))
	for i, t := range targets {
		a, ok := s.accounts[strings.ToLower(t.Account)]
		if !ok {
			res[i].Err = store.ErrNoSuchAccount
			continue
		}
		uid := a.uidNext
		a.uidNext++
		a.messages = append(a.messages, store.Message{UID: uid, Size: int64(len(data)), BlobID: blobID, InternalDate: time.Now()})
		res[i] = store.DeliveryResult{UIDValidity: a.uidValidity, UID: uid}
	}
	return res, nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

func (s *memStore) OpenBlob(ctx context.Context, id string) (store.Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[id]
	if !ok {
		return nil, errors.New("memStore: no such blob")
	}
	return memBlob{bytes.NewReader(b)}, nil
}

func (s *memStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[strings.ToLower(account)]
	if !ok {
		return nil, store.ErrNoSuchAccount
	}
	return &memMailboxes{s: s, a: a}, nil
}

func (s *memStore) Watch(account string) store.Watcher { return nil }
func (s *memStore) Close() error                       { return nil }

type memMailboxes struct {
	s *memStore
	a *memAccount
}

func (m *memMailboxes) Account() store.Account                            { return m.a.acct }
func (m *memMailboxes) List(context.Context) ([]store.MailboxInfo, error) { return nil, errNotInFake }
func (m *memMailboxes) Get(context.Context, string) (store.MailboxInfo, error) {
	return store.MailboxInfo{}, errNotInFake
}
func (m *memMailboxes) Status(context.Context, string) (store.MailboxStatus, error) {
	return store.MailboxStatus{}, errNotInFake
}
func (m *memMailboxes) Create(context.Context, string, string) (store.MailboxInfo, error) {
	return store.MailboxInfo{}, errNotInFake
}
func (m *memMailboxes) Delete(context.Context, string) error              { return errNotInFake }
func (m *memMailboxes) Rename(context.Context, string, string) error      { return errNotInFake }
func (m *memMailboxes) SetSubscribed(context.Context, string, bool) error { return errNotInFake }

func (m *memMailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	if !strings.EqualFold(name, store.InboxName) {
		return nil, store.ErrNoSuchMailbox
	}
	return &memMailbox{s: m.s, a: m.a}, nil
}

type memMailbox struct {
	s *memStore
	a *memAccount
}

func (m *memMailbox) Info(ctx context.Context) (store.MailboxInfo, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return store.MailboxInfo{Name: store.InboxName, UIDValidity: m.a.uidValidity, UIDNext: m.a.uidNext}, nil
}

func (m *memMailbox) Messages(ctx context.Context) ([]store.Message, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return append([]store.Message(nil), m.a.messages...), nil
}

func (m *memMailbox) Expunge(ctx context.Context, uids []store.UID) ([]store.UID, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if m.s.failExpunge != nil {
		return nil, m.s.failExpunge
	}
	drop := make(map[store.UID]bool)
	for _, u := range uids {
		drop[u] = true
	}
	var kept []store.Message
	var removed []store.UID
	for _, msg := range m.a.messages {
		if drop[msg.UID] {
			removed = append(removed, msg.UID)
		} else {
			kept = append(kept, msg)
		}
	}
	m.a.messages = kept
	return removed, nil
}

func (m *memMailbox) Details(context.Context, []store.UID) ([]store.MessageDetail, error) {
	return nil, errNotInFake
}
func (m *memMailbox) Changes(context.Context, store.ModSeq) (store.Changes, error) {
	return store.Changes{}, errNotInFake
}
func (m *memMailbox) ClaimRecent(context.Context) ([]store.UID, error) { return nil, errNotInFake }
func (m *memMailbox) StoreFlags(context.Context, []store.UID, store.FlagOp, []string, store.ModSeq) (store.StoreResult, error) {
	return store.StoreResult{}, errNotInFake
}
func (m *memMailbox) CopyTo(context.Context, []store.UID, string) (store.CopyResult, error) {
	return store.CopyResult{}, errNotInFake
}
func (m *memMailbox) MoveTo(context.Context, []store.UID, string) (store.CopyResult, error) {
	return store.CopyResult{}, errNotInFake
}
