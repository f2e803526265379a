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
		MaxFailureDelay:  5 * time.Second,
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
			acct, err := svc.Authenticate(context.Background(), realUser, tc.user, tc.pass)
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

func TestFailureDelayGrowsAndIsCapped(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{
		Params: TestParams, FailureDelay: time.Second, MaxFailureDelay: 3 * time.Second,
		MaxFailuresPerIP: 100, Now: clock.Now, Sleep: clock.Sleep,
	})
	for range 5 {
		if _, err := svc.Authenticate(context.Background(), attacker, "alice@example.com", "guess"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	got := clock.slept()
	if len(got) != len(want) {
		t.Fatalf("slept %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("slept %v, want %v", got, want)
		}
	}
}

func TestRemoteBlockedAfterMaxFailures(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newTestService(t, st, clock)
	ctx := context.Background()
	for i := range 5 {
		if _, err := svc.Authenticate(ctx, attacker, "alice@example.com", "guess"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	slept := clock.slept()
	blockedAt := clock.Now().Add(-slept[len(slept)-1]) // the 5th failure
	lookups := st.lookups.Load()
	// Blocked now: even the right password is refused, at once, unchecked.
	for range 3 {
		if _, err := svc.Authenticate(ctx, attacker, "alice@example.com", "wonderland"); !errors.Is(err, ErrThrottled) {
			t.Fatalf("blocked remote: err = %v, want ErrThrottled", err)
		}
	}
	if n := st.lookups.Load() - lookups; n != 0 {
		t.Fatalf("blocked remote caused %d account lookups", n)
	}
	if s := clock.slept(); len(s) != 0 {
		t.Fatalf("blocked remote was delayed %v; want an immediate answer", s)
	}
	// A neighbour address is not blocked.
	if _, err := svc.Authenticate(ctx, realUser, "alice@example.com", "wonderland"); err != nil {
		t.Fatalf("other remote: %v", err)
	}
	// The block lasts one window, then the remote may try again.
	clock.Advance(blockedAt.Add(10*time.Minute - time.Second).Sub(clock.Now()))
	if _, err := svc.Authenticate(ctx, attacker, "alice@example.com", "wonderland"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("before the window ends: err = %v", err)
	}
	clock.Advance(time.Second)
	if _, err := svc.Authenticate(ctx, attacker, "alice@example.com", "wonderland"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSlidingWindowForgetsOldFailures(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newTestService(t, st, clock)
	ctx := context.Background()
	// Four failures, spread so the oldest leave the window: never blocked.
	for range 20 {
		if _, err := svc.Authenticate(ctx, realUser, "alice@example.com", "typo"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("err = %v", err)
		}
		clock.Advance(3 * time.Minute)
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
		_, err := svc.Authenticate(ctx, attacker, "alice@example.com", "guess")
		switch {
		case errors.Is(err, ErrThrottled):
			throttled++
		case errors.Is(err, ErrInvalidCredentials):
		default:
			t.Fatalf("attacker: %v", err)
		}
	}
	if throttled != 195 {
		t.Fatalf("attacker throttled %d of 200 attempts, want 195", throttled)
	}
	clock.slept()
	start := clock.Now()
	acct, err := svc.Authenticate(ctx, realUser, "alice@example.com", "wonderland")
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
	if _, err := svc.Authenticate(ctx, realUser, "alice@example.com", "wonderlnd"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, realUser, "alice@example.com", "wonderland"); err != nil {
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
				svc.Authenticate(ctx, attacker, "alice@example.com", "guess")
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	_, err := svc.Authenticate(context.Background(), realUser, "alice@example.com", "wonderland")
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

// Parallel guesses from one remote cannot all slip in before the first
// failure is recorded: at most MaxFailuresPerIP passwords are checked.
func TestParallelBurstIsBounded(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	svc := New(st, Options{
		Params: TestParams, FailureDelay: 50 * time.Millisecond,
		MaxFailuresPerIP: 5, Window: time.Minute,
	})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.Authenticate(context.Background(), attacker, "alice@example.com", "guess")
		}()
	}
	wg.Wait()
	if n := st.lookups.Load(); n > 5 {
		t.Fatalf("%d passwords checked from one remote, want at most 5", n)
	}
}

func TestIPv6RemotesGroupedBy64(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newTestService(t, st, clock)
	ctx := context.Background()
	for i := range 5 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
		svc.Authenticate(ctx, a, "alice@example.com", "guess")
	}
	sameNet := netip.MustParseAddr("2001:db8::ffff:1")
	if _, err := svc.Authenticate(ctx, sameNet, "alice@example.com", "wonderland"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("same /64: err = %v, want ErrThrottled", err)
	}
	otherNet := netip.MustParseAddr("2001:db8:0:1::1")
	if _, err := svc.Authenticate(ctx, otherNet, "alice@example.com", "wonderland"); err != nil {
		t.Fatalf("other /64: %v", err)
	}
	// IPv4-mapped addresses count as their IPv4 address.
	for range 5 {
		svc.Authenticate(ctx, netip.MustParseAddr("::ffff:192.0.2.1"), "alice@example.com", "guess")
	}
	if _, err := svc.Authenticate(ctx, netip.MustParseAddr("192.0.2.1"), "alice@example.com", "wonderland"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("mapped address: err = %v, want ErrThrottled", err)
	}
}

func TestUnknownNamesAreNotTracked(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, MaxFailuresPerIP: 1000, Now: clock.Now, Sleep: clock.Sleep})
	for i := range 100 {
		svc.Authenticate(context.Background(), attacker, string(rune('a'+i%26))+"@spray.example", "x")
	}
	if n := len(svc.throttle.accounts); n != 0 {
		t.Fatalf("%d sprayed names tracked as accounts", n)
	}
}

func TestRemoteTableIsCollected(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, MaxTrackedRemotes: 10, Window: time.Minute, Now: clock.Now, Sleep: clock.Sleep})
	for i := range 100 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)})
		svc.Authenticate(context.Background(), a, "alice@example.com", "guess")
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
	_, err := svc.Authenticate(ctx, realUser, "alice@example.com", "wonderland")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if n := svc.hashes.waiting(); n != 0 {
		t.Fatalf("%d logins still queued after their context ended", n)
	}
	svc.hashes.release()
	if _, err := svc.Authenticate(context.Background(), realUser, "alice@example.com", "wonderland"); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestStoreErrorIsNotAFailure(t *testing.T) {
	clock := newFakeClock()
	svc := newTestService(t, brokenStore{}, clock)
	for range 10 {
		_, err := svc.Authenticate(context.Background(), realUser, "alice@example.com", "pw")
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
	if _, err := svc.Authenticate(context.Background(), realUser, "alice@example.com", "!disabled"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("err = %v", err)
	}
}

func accountWithHash(name, phc string) store.Account {
	return store.Account{ID: 1, Name: name, PasswordHash: phc}
}
