package fuzz

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

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
