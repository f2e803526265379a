package auth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// accountStore is the one store method Authenticate uses; the rest of
// store.Store is left nil and would panic if called. (The SQLite driver is
// exercised with auth by the front ends' and cmd's tests.)
type accountStore struct {
	store.Store
	mu       sync.Mutex
	accounts map[string]store.Account
	lookups  atomic.Int64
	sets     atomic.Int64 // SetPasswordHash calls
}

func (s *accountStore) Account(_ context.Context, name string) (store.Account, error) {
	s.lookups.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[name]
	if !ok {
		return store.Account{}, store.ErrNoSuchAccount
	}
	return a, nil
}

func (s *accountStore) SetPasswordHash(_ context.Context, name, phc string) error {
	s.sets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[name]
	if !ok {
		return store.ErrNoSuchAccount
	}
	a.PasswordHash = phc
	s.accounts[name] = a
	return nil
}

// hash returns the stored PHC string of name.
func (s *accountStore) hash(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[name].PasswordHash
}

func newAccountStore(t *testing.T, users map[string]string) *accountStore {
	t.Helper()
	s := &accountStore{accounts: map[string]store.Account{}}
	for name, pw := range users {
		h, err := HashPassword(pw, TestParams)
		if err != nil {
			t.Fatal(err)
		}
		s.accounts[name] = store.Account{ID: int64(len(s.accounts) + 1), Name: name, PasswordHash: h}
	}
	return s
}

// fakeClock is a clock whose Sleep advances time instead of waiting, and
// records every delay.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// slept returns and forgets the delays recorded so far.
func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sleeps
	c.sleeps = nil
	return s
}

var (
	attacker = netip.MustParseAddr("127.0.0.2")
	realUser = netip.MustParseAddr("127.0.0.3")
)

func newTestService(t *testing.T, s store.Store, clock *fakeClock) *Service {
	t.Helper()
	return New(s, Options{
		Params:           TestParams,
		FailureDelay:     time.Second,
		MaxFailuresPerIP: 5,
		Window:           10 * time.Minute,
		Now:              clock.Now,
		Sleep:            clock.Sleep,
	})
}

func TestAuthenticate(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	tests := []struct {
		name, user, pass string
		wantErr          error
		wantSleep        bool
	}{
		{"right password", "alice@example.com", "wonderland", nil, false},
		{"name is case-insensitive", "Alice@EXAMPLE.com", "wonderland", nil, false},
		{"wrong password", "alice@example.com", "Wonderland", ErrInvalidCredentials, true},
		{"unknown user", "bob@example.com", "wonderland", ErrInvalidCredentials, true},
		{"empty user", "", "wonderland", ErrInvalidCredentials, true},
		{"empty password", "alice@example.com", "", ErrInvalidCredentials, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			svc := newTestService(t, st, clock)
			acct, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: tc.user, Password: tc.pass})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && acct.Name != "alice@example.com" {
				t.Fatalf("account = %+v", acct)
			}
			if slept := clock.slept(); (len(slept) > 0) != tc.wantSleep {
				t.Fatalf("slept %v, want sleep: %v", slept, tc.wantSleep)
			}
		})
	}
}

// The scenario from the core issue: an attacker on 127.0.0.2 hammers
// alice's account while alice, on 127.0.0.3, logs in without delay.
func TestAttackerDoesNotLockOutRealUser(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newTestService(t, st, clock)
	ctx := context.Background()
	var throttled int
	for range 200 {
		_, err := svc.Authenticate(ctx, Attempt{Remote: attacker, Username: "alice@example.com", Password: "guess"})
		switch {
		case errors.Is(err, ErrThrottled):
			throttled++
		case errors.Is(err, ErrInvalidCredentials):
		default:
			t.Fatalf("attacker: %v", err)
		}
	}
	if checked := 200 - throttled; checked > 10 {
		t.Fatalf("attacker had %d of 200 attempts checked, want at most 10", checked)
	}
	clock.slept()
	start := clock.Now()
	acct, err := svc.Authenticate(ctx, Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"})
	if err != nil {
		t.Fatalf("real user locked out: %v", err)
	}
	if acct.Name != "alice@example.com" {
		t.Fatalf("account %+v", acct)
	}
	if waited := clock.Now().Sub(start); waited != 0 {
		t.Fatalf("real user waited %v", waited)
	}
	// A typo by the real user costs a delay (account under attack), but
	// the next try still gets in.
	if _, err := svc.Authenticate(ctx, Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderlnd"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatalf("real user after a typo: %v", err)
	}
}

// The same scenario on the real clock, with the attacker hammering from
// several goroutines at once while alice logs in: she is in within 2 s.
func TestAttackerDoesNotLockOutRealUserConcurrently(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	svc := New(st, Options{
		Params: TestParams, FailureDelay: 20 * time.Millisecond,
		MaxFailuresPerIP: 5, Window: time.Minute,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				svc.Authenticate(ctx, Attempt{Remote: attacker, Username: "alice@example.com", Password: "guess"})
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	_, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"})
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("real user: %v", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("real user took %v", elapsed)
	}
}

func TestRemoteTableIsCollected(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, MaxTrackedRemotes: 10, Window: time.Minute, Now: clock.Now, Sleep: clock.Sleep})
	for i := range 100 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)})
		svc.Authenticate(context.Background(), Attempt{Remote: a, Username: "alice@example.com", Password: "guess"})
		clock.Advance(time.Minute)
	}
	if n := len(svc.throttle.remotes); n > 11 {
		t.Fatalf("%d remotes tracked, want at most 11", n)
	}
}

func TestCancelledWhileWaitingForHashSlot(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	svc := New(st, Options{Params: TestParams, MaxConcurrentHashes: 1})
	if err := svc.hashes.acquire(context.Background()); err != nil { // occupy the only slot
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := svc.Authenticate(ctx, Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if n := svc.hashes.waiting(); n != 0 {
		t.Fatalf("%d logins still queued after their context ended", n)
	}
	svc.hashes.release()
	if _, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestStoreErrorIsNotAFailure(t *testing.T) {
	clock := newFakeClock()
	svc := newTestService(t, brokenStore{}, clock)
	for range 10 {
		_, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: "alice@example.com", Password: "pw"})
		if err == nil || errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrThrottled) {
			t.Fatalf("err = %v, want the store error", err)
		}
	}
}

type brokenStore struct{ store.Store }

func (brokenStore) Account(context.Context, string) (store.Account, error) {
	return store.Account{}, store.ErrClosed
}

func TestUnusableStoredHashRefusesLogin(t *testing.T) {
	st := &accountStore{accounts: map[string]store.Account{
		"alice@example.com": {Name: "alice@example.com", PasswordHash: "!disabled"},
	}}
	clock := newFakeClock()
	svc := newTestService(t, st, clock)
	if _, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: "alice@example.com", Password: "!disabled"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("err = %v", err)
	}
}

func accountWithHash(name, phc string) store.Account {
	return store.Account{ID: 1, Name: name, PasswordHash: phc}
}
