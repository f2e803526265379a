package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countHashes replaces svc's password check with one that counts the
// argon2 verifications (real ones, with the cheap TestParams).
func countHashes(svc *Service) *atomic.Int64 {
	var n atomic.Int64
	svc.verify = func(phc, pw string) (bool, error) {
		n.Add(1)
		return VerifyPassword(phc, pw)
	}
	return &n
}

func newCachedService(t *testing.T, st *accountStore, clock *fakeClock, opts Options) *Service {
	t.Helper()
	opts.Params = TestParams
	if opts.FailureDelay == 0 {
		opts.FailureDelay = time.Second
	}
	if opts.MaxFailuresPerIP == 0 {
		opts.MaxFailuresPerIP = 5
	}
	opts.Now, opts.Sleep = clock.Now, clock.Sleep
	return New(st, opts)
}

func login(svc *Service, user, pw string) error {
	_, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: user, Password: pw})
	return err
}

func TestCacheHitSkipsHash(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{})
	hashes := countHashes(svc)
	for i := range 5 {
		if err := login(svc, "Alice@example.com", "wonderland"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if n := hashes.Load(); n != 1 {
		t.Fatalf("%d hashes for 5 logins, want 1", n)
	}
	// The account is still read every time: that is what lets a password
	// change or a deleted account take effect at once.
	if n := st.lookups.Load(); n != 5 {
		t.Fatalf("%d account lookups, want 5", n)
	}
}

func TestCacheNeverAcceptsWrongPassword(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{MaxFailuresPerIP: 100, MaxFailureDelay: time.Hour})
	hashes := countHashes(svc)
	if err := login(svc, "alice@example.com", "wonderland"); err != nil {
		t.Fatal(err)
	}
	for i, pw := range []string{"Wonderland", "wonderland ", "wonderlan", "guess"} {
		clock.Advance(time.Hour) // past the pair's wait
		if err := login(svc, "alice@example.com", pw); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password %q after a cached login: %v", pw, err)
		}
		// Each wrong password is a real hash and a real failure: it
		// costs the failure delay, as without the cache.
		if n := hashes.Load(); n != int64(i+2) {
			t.Fatalf("after %d wrong passwords: %d hashes", i+1, n)
		}
		if s := clock.slept(); len(s) != 1 || s[0] != time.Second {
			t.Fatalf("wrong password %d slept %v", i+1, s)
		}
		clock.slept()
	}
	clock.Advance(time.Hour)
	// Failures were not remembered as anything: the same wrong password
	// hashes again.
	before := hashes.Load()
	if err := login(svc, "alice@example.com", "guess"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if hashes.Load() != before+1 {
		t.Fatal("a repeated wrong password was answered without a hash")
	}
	// Another account with the same password is not a hit either.
	if err := login(svc, "bob@example.com", "wonderland"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
}

func TestCacheMissesAfterPasswordChange(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{})
	hashes := countHashes(svc)
	if err := login(svc, "alice@example.com", "wonderland"); err != nil {
		t.Fatal(err)
	}
	// Changed behind the Service's back (another node, the CLI).
	h, err := HashPassword("looking-glass", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	st.SetPasswordHash(context.Background(), "alice@example.com", h)
	if err := login(svc, "alice@example.com", "wonderland"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password after change: %v", err)
	}
	if err := login(svc, "alice@example.com", "looking-glass"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// Even the same password, stored again (new salt), is a miss.
	h, _ = HashPassword("looking-glass", TestParams)
	st.SetPasswordHash(context.Background(), "alice@example.com", h)
	before := hashes.Load()
	if err := login(svc, "alice@example.com", "looking-glass"); err != nil {
		t.Fatal(err)
	}
	if hashes.Load() != before+1 {
		t.Fatal("login against a re-stored hash was answered from the cache")
	}
}

func TestSetPasswordForgetsCachedLogins(t *testing.T) {
	st := newAccountStore(t, map[string]string{
		"alice@example.com": "wonderland", "bob@example.com": "builder",
	})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{})
	countHashes(svc)
	login(svc, "alice@example.com", "wonderland")
	login(svc, "bob@example.com", "builder")
	if n := svc.cache.len(); n != 2 {
		t.Fatalf("%d cached", n)
	}
	if err := svc.SetPassword(context.Background(), "Alice@example.com", "looking-glass"); err != nil {
		t.Fatal(err)
	}
	if n := svc.cache.len(); n != 1 {
		t.Fatalf("%d cached after alice's password change, want bob's only", n)
	}
	if err := login(svc, "alice@example.com", "wonderland"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if err := login(svc, "alice@example.com", "looking-glass"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if !strings.HasPrefix(st.hash("alice@example.com"), "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("stored %q, want TestParams", st.hash("alice@example.com"))
	}
}

func TestCacheEntriesExpire(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{CacheTTL: 15 * time.Minute})
	hashes := countHashes(svc)
	login(svc, "alice@example.com", "wonderland")
	clock.Advance(15*time.Minute - time.Second)
	login(svc, "alice@example.com", "wonderland") // hit; does not extend
	if n := hashes.Load(); n != 1 {
		t.Fatalf("%d hashes within the TTL", n)
	}
	clock.Advance(time.Second)
	login(svc, "alice@example.com", "wonderland")
	if n := hashes.Load(); n != 2 {
		t.Fatalf("%d hashes after the TTL, want 2", n)
	}
	// An idle cache drops what expired.
	clock.Advance(time.Hour)
	login(svc, "bob@example.com", "x")
	svc.cache.mu.Lock()
	svc.cache.lookupLocked(cacheKey{})
	svc.cache.mu.Unlock()
	if n := svc.cache.len(); n != 0 {
		t.Fatalf("%d entries kept past their TTL", n)
	}
}

func TestCacheSizeIsBounded(t *testing.T) {
	users := map[string]string{}
	for i := range 5 {
		users[fmt.Sprintf("u%d@example.com", i)] = "pw"
	}
	st := newAccountStore(t, users)
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{CacheSize: 2})
	hashes := countHashes(svc)
	for i := range 5 {
		login(svc, fmt.Sprintf("u%d@example.com", i), "pw")
	}
	if n := svc.cache.len(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	login(svc, "u4@example.com", "pw") // most recent: kept
	login(svc, "u0@example.com", "pw") // least recent: dropped
	if n := hashes.Load(); n != 6 {
		t.Fatalf("%d hashes, want 6", n)
	}
}

func TestCacheOff(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{CacheTTL: -1})
	hashes := countHashes(svc)
	for range 3 {
		if err := login(svc, "alice@example.com", "wonderland"); err != nil {
			t.Fatal(err)
		}
	}
	if n := hashes.Load(); n != 3 || svc.cache != nil {
		t.Fatalf("%d hashes with the cache off", n)
	}
}

// A remote that failed its way into a block is refused even with the right
// password, cached or not: the cache is consulted after the throttle.
func TestCachedLoginDoesNotBypassBlock(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{})
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, Attempt{Remote: attacker, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatal(err) // now cached
	}
	for range 5 {
		svc.Authenticate(ctx, Attempt{Remote: attacker, Username: "alice@example.com", Password: "guess"})
	}
	if _, err := svc.Authenticate(ctx, Attempt{Remote: attacker, Username: "alice@example.com", Password: "wonderland"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("blocked remote with a cached password: %v, want ErrThrottled", err)
	}
	if err := login(svc, "alice@example.com", "wonderland"); err != nil {
		t.Fatalf("real user: %v", err)
	}
}

func TestCacheKeySeparatesFields(t *testing.T) {
	c := newLoginCache(time.Minute, 10, time.Now)
	if c.mac("ab", "c", "x") == c.mac("a", "bc", "x") || c.mac("a", "b", "cx") == c.mac("a", "bc", "x") {
		t.Fatal("field boundaries do not change the key")
	}
	if c.mac("a", "b", "c") != c.mac("a", "b", "c") {
		t.Fatal("key not deterministic")
	}
	if newLoginCache(time.Minute, 10, time.Now).mac("a", "b", "c") == c.mac("a", "b", "c") {
		t.Fatal("two caches share a key")
	}
}

// Logins with the same credentials arriving together (a client opening
// several connections) share one hash; a different password does not join.
func TestConcurrentSameLoginsShareOneHash(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	svc := New(st, Options{Params: TestParams, FailureDelay: -1, MaxFailuresPerIP: 100})
	var hashes atomic.Int64
	release := make(chan struct{})
	svc.verify = func(phc, pw string) (bool, error) {
		hashes.Add(1)
		<-release
		return VerifyPassword(phc, pw)
	}
	const n = 5
	errs := make(chan error, 2*n)
	for range n {
		go func() { errs <- login(svc, "alice@example.com", "wonderland") }()
		go func() { errs <- login(svc, "alice@example.com", "guess") }()
	}
	waitFor(t, "both leaders to hash", func() bool { return hashes.Load() == 2 })
	time.Sleep(10 * time.Millisecond) // let the rest arrive and join
	close(release)
	var ok, bad int
	for range 2 * n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrInvalidCredentials):
			bad++
		default:
			t.Fatal(err)
		}
	}
	if ok != n || bad != n {
		t.Fatalf("%d accepted, %d refused; want %d each", ok, bad, n)
	}
	if h := hashes.Load(); h != 2 {
		t.Fatalf("%d hashes for two distinct credentials", h)
	}
}

// A login queued for a hash slot gives up when its context ends; logins
// joined to it run the hash themselves instead of failing with it.
func TestJoinedLoginSurvivesLeaderCancel(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	svc := New(st, Options{Params: TestParams, MaxConcurrentHashes: 1})
	if err := svc.hashes.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error)
	go func() {
		_, err := svc.Authenticate(ctx, Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"})
		leader <- err
	}()
	waitFor(t, "leader to queue", func() bool { return svc.hashes.waiting() == 1 })
	follower := make(chan error)
	go func() { follower <- login(svc, "alice@example.com", "wonderland") }()
	time.Sleep(10 * time.Millisecond) // let it join the leader's call
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	waitFor(t, "follower to queue itself", func() bool { return svc.hashes.waiting() == 1 })
	svc.hashes.release()
	if err := <-follower; err != nil {
		t.Fatalf("follower: %v", err)
	}
}

func TestConcurrentHashesBoundedInService(t *testing.T) {
	users := map[string]string{}
	for i := range 20 {
		users[fmt.Sprintf("u%d@example.com", i)] = "pw"
	}
	st := newAccountStore(t, users)
	svc := New(st, Options{Params: TestParams, MaxConcurrentHashes: 2, CacheTTL: -1, MaxFailuresPerIP: 1000})
	var now, most atomic.Int32
	svc.verify = func(phc, pw string) (bool, error) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		return VerifyPassword(phc, pw)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := login(svc, fmt.Sprintf("u%d@example.com", i), "pw"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m != 2 {
		t.Fatalf("%d hashes at once, want the bound 2", m)
	}
}

// Logins waiting for a hash slot get it in the order they asked.
func TestQueuedLoginsAreServedInOrder(t *testing.T) {
	users := map[string]string{}
	for i := range 6 {
		users[fmt.Sprintf("u%d@example.com", i)] = "pw"
	}
	st := newAccountStore(t, users)
	svc := New(st, Options{Params: TestParams, MaxConcurrentHashes: 1})
	var mu sync.Mutex
	var order []string
	svc.verify = func(phc, pw string) (bool, error) {
		for name, a := range st.accounts {
			if a.PasswordHash == phc {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}
		}
		return VerifyPassword(phc, pw)
	}
	if err := svc.hashes.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login(svc, fmt.Sprintf("u%d@example.com", i), "pw")
		}()
		waitFor(t, "login to queue", func() bool { return svc.hashes.waiting() == i+1 })
	}
	svc.hashes.release()
	wg.Wait()
	for i, name := range order {
		if want := fmt.Sprintf("u%d@example.com", i); name != want {
			t.Fatalf("hashed in order %v", order)
		}
	}
}

func TestOutdatedHashIsRehashedOnLogin(t *testing.T) {
	old := Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := HashPassword("wonderland", old)
	if err != nil {
		t.Fatal(err)
	}
	st := newAccountStore(t, nil)
	st.accounts["alice@example.com"] = accountWithHash("alice@example.com", h)
	clock := newFakeClock()
	svc := newCachedService(t, st, clock, Options{})
	hashes := countHashes(svc)
	acct, err := svc.Authenticate(context.Background(), Attempt{Remote: realUser, Username: "alice@example.com", Password: "wonderland"})
	if err != nil {
		t.Fatal(err)
	}
	now := st.hash("alice@example.com")
	if now == h || Outdated(now, TestParams) || acct.PasswordHash != now {
		t.Fatalf("stored %q, returned %q after login; want a new TestParams hash", now, acct.PasswordHash)
	}
	if ok, _ := VerifyPassword(now, "wonderland"); !ok {
		t.Fatal("rehash does not verify")
	}
	// The new hash is remembered: the next login is a hit.
	if err := login(svc, "alice@example.com", "wonderland"); err != nil {
		t.Fatal(err)
	}
	if n := hashes.Load(); n != 1 {
		t.Fatalf("%d verifications, want 1", n)
	}
	// A wrong password never rehashes.
	st.accounts["alice@example.com"] = accountWithHash("alice@example.com", h)
	login(svc, "alice@example.com", "guess")
	if st.hash("alice@example.com") != h {
		t.Fatal("failed login rewrote the hash")
	}
}

func TestKeepOutdatedHashes(t *testing.T) {
	h, _ := HashPassword("wonderland", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	st := newAccountStore(t, nil)
	st.accounts["alice@example.com"] = accountWithHash("alice@example.com", h)
	svc := newCachedService(t, st, newFakeClock(), Options{KeepOutdatedHashes: true})
	if err := login(svc, "alice@example.com", "wonderland"); err != nil {
		t.Fatal(err)
	}
	if st.sets.Load() != 0 || st.hash("alice@example.com") != h {
		t.Fatal("hash rewritten with KeepOutdatedHashes")
	}
}

// A password changed while a login with the old password is being checked
// stays changed: the rehash is not written over it.
func TestRehashDoesNotUndoConcurrentPasswordChange(t *testing.T) {
	h, _ := HashPassword("wonderland", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	changed, _ := HashPassword("looking-glass", TestParams)
	st := newAccountStore(t, nil)
	st.accounts["alice@example.com"] = accountWithHash("alice@example.com", h)
	svc := newCachedService(t, st, newFakeClock(), Options{})
	svc.verify = func(phc, pw string) (bool, error) {
		st.SetPasswordHash(context.Background(), "alice@example.com", changed) // the admin, meanwhile
		return VerifyPassword(phc, pw)
	}
	login(svc, "alice@example.com", "wonderland")
	if got := st.hash("alice@example.com"); got != changed {
		t.Fatalf("stored %q, want the changed password's hash", got)
	}
}
