package auth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// nat is an address several people share (an office, a webmail proxy).
var nat = netip.MustParseAddr("198.51.100.7")

// One guesser on one account from one address: each failure doubles the
// pair's wait, so over ten minutes of hammering the password is checked
// far less than 0.3 times a second.
func TestPairBackoffBoundsGuessRate(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, Now: clock.Now, Sleep: clock.Sleep})
	ctx := context.Background()
	start := clock.Now()
	attempts := 0
	for clock.Now().Sub(start) < 10*time.Minute {
		svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "guess"})
		attempts++
		clock.Advance(100 * time.Millisecond) // the guesser reconnects at once
	}
	checks := st.lookups.Load()
	rate := float64(checks) / clock.Now().Sub(start).Seconds()
	t.Logf("%d attempts, %d password checks in %v: %.3f checks/s", attempts, checks, clock.Now().Sub(start), rate)
	if rate > 0.3 {
		t.Fatalf("guess rate %.3f checks/s, want at most 0.3", rate)
	}
}

// Failures against one account do not block other accounts on the same
// address: a phone with an old password does not lock out the office.
func TestPairFailuresSpareOtherAccounts(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland", "bob@example.com": "builder"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, Now: clock.Now, Sleep: clock.Sleep})
	ctx := context.Background()
	for range 30 {
		svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "old password"})
	}
	clock.slept()
	start := clock.Now()
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "bob@example.com", Password: "builder"}); err != nil {
		t.Fatalf("bob on the same address: %v", err)
	}
	if waited := clock.Now().Sub(start); waited != 0 {
		t.Fatalf("bob waited %v", waited)
	}
	// alice's own pair is throttled, and says when to come back.
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("alice's throttled pair: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatalf("alice after the pair's wait: %v", err)
	}
}

// Spraying many account names from one address blocks the address for
// everyone who has not logged in from there before; those who have get
// in at once.
func TestSprayBlocksAddressButNotKnownUsers(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland", "carol@example.com": "c4rol"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, Now: clock.Now, Sleep: clock.Sleep})
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		svc.Authenticate(ctx, Attempt{Remote: nat, Username: name + "@spray.example", Password: "x"})
	}
	lookups := st.lookups.Load()
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "carol@example.com", Password: "c4rol"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("carol, never seen on the spraying address: %v, want ErrThrottled", err)
	}
	if n := st.lookups.Load() - lookups; n != 0 {
		t.Fatalf("a blocked address had %d passwords checked", n)
	}
	clock.slept()
	start := clock.Now()
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatalf("alice, known on the address: %v", err)
	}
	if waited := clock.Now().Sub(start); waited != 0 {
		t.Fatalf("alice waited %v", waited)
	}
	// Another address is not blocked, and the block ends with the window.
	if _, err := svc.Authenticate(ctx, Attempt{Remote: realUser, Username: "carol@example.com", Password: "c4rol"}); err != nil {
		t.Fatalf("carol elsewhere: %v", err)
	}
	clock.Advance(10 * time.Minute)
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "carol@example.com", Password: "c4rol"}); err != nil {
		t.Fatalf("carol after the window: %v", err)
	}
}

// A guesser that spreads over accounts (spray detection off) gets the
// address's budget: MaxFailuresPerIP at once, then FailureRate a second.
func TestAddressBudgetBoundsSpreadGuessing(t *testing.T) {
	names := map[string]string{}
	for i := range 500 {
		names[string(rune('a'+i%26))+string(rune('a'+i/26%26))+"@example.com"] = "secret"
	}
	st := newAccountStore(t, names)
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, SprayAccounts: 1 << 20, Now: clock.Now, Sleep: clock.Sleep})
	ctx := context.Background()
	start := clock.Now()
	i := 0
	for clock.Now().Sub(start) < 10*time.Minute {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + "@example.com"
		svc.Authenticate(ctx, Attempt{Remote: nat, Username: name, Password: "guess"})
		i++
		clock.Advance(100 * time.Millisecond)
	}
	checks := st.lookups.Load()
	rate := float64(checks) / clock.Now().Sub(start).Seconds()
	t.Logf("%d attempts over %d names, %d checks: %.3f checks/s", i, min(i, 676), checks, rate)
	if rate > 0.32 { // the burst of 10 on top of 0.3/s
		t.Fatalf("guess rate %.3f checks/s, want about 0.3", rate)
	}
}

// Parallel guesses from one address cannot all slip in before the first
// failure is recorded: attempts in flight hold the address's budget.
func TestParallelBurstIsBounded(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	svc := New(st, Options{Params: TestParams, FailureDelay: 50 * time.Millisecond, MaxFailuresPerIP: 5, Window: time.Minute})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			svc.Authenticate(context.Background(), Attempt{Remote: attacker, Username: string(rune('a'+i%26)) + "@example.com", Password: "guess"})
		})
	}
	wg.Wait()
	if n := st.lookups.Load(); n > 5 {
		t.Fatalf("%d passwords checked from one address, want at most 5", n)
	}
}

// Known users reconnecting all at once (phones after a network change)
// are not limited by the address's budget.
func TestKnownUsersNotLimitedByBudget(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, MaxFailuresPerIP: 2, CacheTTL: -1, Now: clock.Now, Sleep: clock.Sleep})
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the budget spent by someone else's typos
		svc.Authenticate(ctx, Attempt{Remote: nat, Username: "bob@example.com", Password: "x"})
	}
	for i := range 20 {
		if _, err := svc.Authenticate(ctx, Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
			t.Fatalf("login %d of a known user: %v", i, err)
		}
	}
}

func TestIPv6RemotesGroupedBy64(t *testing.T) {
	st := newAccountStore(t, map[string]string{"alice@example.com": "wonderland"})
	clock := newFakeClock()
	svc := New(st, Options{Params: TestParams, Now: clock.Now, Sleep: clock.Sleep})
	ctx := context.Background()
	for i := range 5 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
		svc.Authenticate(ctx, Attempt{Remote: a, Username: string(rune('a'+i)) + "@spray.example", Password: "guess"})
	}
	sameNet := netip.MustParseAddr("2001:db8::ffff:1")
	if _, err := svc.Authenticate(ctx, Attempt{Remote: sameNet, Username: "alice@example.com", Password: "wonderland"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("same /64: err = %v, want ErrThrottled", err)
	}
	otherNet := netip.MustParseAddr("2001:db8:0:1::1")
	if _, err := svc.Authenticate(ctx, Attempt{Remote: otherNet, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatalf("other /64: %v", err)
	}
	// IPv4-mapped addresses count as their IPv4 address.
	for i := range 5 {
		svc.Authenticate(ctx, Attempt{Remote: netip.MustParseAddr("::ffff:192.0.2.1"), Username: string(rune('a'+i)) + "@spray.example", Password: "guess"})
	}
	if _, err := svc.Authenticate(ctx, Attempt{Remote: netip.MustParseAddr("192.0.2.1"), Username: "alice@example.com", Password: "wonderland"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("mapped address: err = %v, want ErrThrottled", err)
	}
}

// historyStore adds a LoginHistory to the fake account store, shared by
// two Services as by two runs of the server.
type historyStore struct {
	*accountStore
	mu   sync.Mutex
	last map[[2]string]time.Time
}

func (h *historyStore) RecordLogin(_ context.Context, account, remote string, at, forgetBefore time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last[[2]string{account, remote}] = at
	for k, t := range h.last {
		if t.Before(forgetBefore) {
			delete(h.last, k)
		}
	}
	return nil
}

func (h *historyStore) LastLogin(_ context.Context, account, remote string) (time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[[2]string{account, remote}], nil
}

var _ store.LoginHistory = (*historyStore)(nil)

// A known pair survives a restart through the store's login history, and
// is forgotten after KnownLoginFor.
func TestKnownPairsSurviveRestart(t *testing.T) {
	st := &historyStore{accountStore: newAccountStore(t, map[string]string{"alice@example.com": "wonderland"}), last: map[[2]string]time.Time{}}
	clock := newFakeClock()
	opts := Options{Params: TestParams, Now: clock.Now, Sleep: clock.Sleep}
	first := New(st, opts)
	if _, err := first.Authenticate(context.Background(), Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatal(err)
	}
	spray := func(svc *Service) {
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			svc.Authenticate(context.Background(), Attempt{Remote: nat, Username: n + "@spray.example", Password: "x"})
		}
	}
	clock.Advance(29 * 24 * time.Hour)
	restarted := New(st, opts)
	spray(restarted)
	if _, err := restarted.Authenticate(context.Background(), Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); err != nil {
		t.Fatalf("known pair after a restart: %v", err)
	}
	clock.Advance(31 * 24 * time.Hour)
	again := New(st, opts)
	spray(again)
	if _, err := again.Authenticate(context.Background(), Attempt{Remote: nat, Username: "alice@example.com", Password: "wonderland"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("pair last seen 31 days ago: %v, want ErrThrottled", err)
	}
}
