package pop3server

import (
	"strings"
	"sync"
)

// Locker grants the exclusive-access lock on an account's maildrop that
// RFC 1939 §8 asks POP3 servers to take at login. An implementation backed by
// the store (a row lock or lease) can replace the in-process one when several
// nodes serve one store.
type Locker interface {
	// TryLock takes the lock on account without waiting. ok is false when
	// another session holds it; otherwise unlock releases it (once).
	TryLock(account string) (unlock func(), ok bool)
}

// NewLocker returns an in-process Locker keyed by account name
// (case-insensitive, as account names are).
func NewLocker() Locker {
	return &memoryLocker{held: make(map[string]struct{})}
}

type memoryLocker struct {
	mu   sync.Mutex
	held map[string]struct{}
}

func (l *memoryLocker) TryLock(account string) (func(), bool) {
	key := strings.ToLower(account)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, busy := l.held[key]; busy {
		return nil, false
	}
	l.held[key] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, key)
			l.mu.Unlock()
		})
	}, true
}
