package auth

import (
	"net/netip"
	"sync"
	"time"
)

// throttle keeps recent login failures per remote network and per account.
//
// Policy (slow the guesser, never lock out the owner):
//   - A remote that reaches maxPerIP failures within window is blocked for
//     window: its attempts fail with ErrThrottled at once, without touching
//     the password.
//   - Every failure costs the client a delay that grows with the failures
//     of its remote and of the account, up to a cap.
//   - Failures against an account never block anyone: a client from a
//     remote that has not been failing logs in without delay even while the
//     account is under attack elsewhere.
//
// IPv6 remotes are grouped by /64, the smallest network a site is usually
// given, so one attacker cannot dodge the counter by changing addresses.
type throttle struct {
	window   time.Duration
	maxPerIP int
	maxKeys  int

	mu       sync.Mutex
	remotes  map[netip.Prefix]*remoteState
	accounts map[string]*failures
}

type remoteState struct {
	failures
	pending      int // attempts from this remote still being checked
	blockedUntil time.Time
}

// failures is a sliding window of failure times, oldest first.
type failures struct {
	times []time.Time
}

// prune drops failures older than the window and reports how many remain.
func (f *failures) prune(now time.Time, window time.Duration) int {
	cut := 0
	for cut < len(f.times) && now.Sub(f.times[cut]) >= window {
		cut++
	}
	if cut > 0 {
		f.times = append(f.times[:0], f.times[cut:]...)
	}
	return len(f.times)
}

// add records a failure, keeping at most limit entries.
func (f *failures) add(now time.Time, limit int) {
	f.times = append(f.times, now)
	if len(f.times) > limit {
		f.times = append(f.times[:0], f.times[len(f.times)-limit:]...)
	}
}

// maxAccountFailures bounds the per-account record; the delay is capped long
// before this many failures matter.
const maxAccountFailures = 64

func newThrottle(window time.Duration, maxPerIP, maxKeys int) *throttle {
	return &throttle{
		window:   window,
		maxPerIP: maxPerIP,
		maxKeys:  maxKeys,
		remotes:  make(map[netip.Prefix]*remoteState),
		accounts: make(map[string]*failures),
	}
}

// remoteKey groups an address with its neighbours: one IPv4 address, or
// the IPv6 /64 it belongs to. The zero Addr (unknown remote) is its own key.
func remoteKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if !a.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// begin admits an attempt from remote, or reports that remote is blocked.
// An admitted attempt must be finished with end.
func (t *throttle) begin(now time.Time, remote netip.Addr) (admitted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := remoteKey(remote)
	r := t.remotes[k]
	if r == nil {
		t.gc(now)
		r = &remoteState{}
		t.remotes[k] = r
	}
	if now.Before(r.blockedUntil) {
		return false
	}
	// Attempts in flight count against the limit so a burst of parallel
	// guesses cannot all slip in before the first failure is recorded.
	if r.prune(now, t.window)+r.pending >= t.maxPerIP {
		return false
	}
	r.pending++
	return true
}

// end finishes an attempt begun with begin. On failure it records it
// against remote and account and returns how many failures each has in the
// window, including this one.
func (t *throttle) end(now time.Time, remote netip.Addr, account string, failed bool) (remoteFails, accountFails int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := remoteKey(remote)
	r := t.remotes[k]
	if r == nil { // collected meanwhile: cannot happen while pending > 0
		r = &remoteState{}
		t.remotes[k] = r
	}
	if r.pending > 0 {
		r.pending--
	}
	if !failed {
		return 0, 0
	}
	r.prune(now, t.window)
	r.add(now, t.maxPerIP)
	remoteFails = len(r.times)
	if remoteFails >= t.maxPerIP {
		r.blockedUntil = now.Add(t.window)
	}
	if account != "" {
		a := t.accounts[account]
		if a == nil {
			if len(t.accounts) >= t.maxKeys {
				t.gcAccounts(now)
			}
			if len(t.accounts) < t.maxKeys {
				a = &failures{}
				t.accounts[account] = a
			}
		}
		if a != nil {
			a.prune(now, t.window)
			a.add(now, maxAccountFailures)
			accountFails = len(a.times)
		}
	}
	return remoteFails, accountFails
}

// gc forgets remotes with nothing left to remember once the table is full,
// so a spray of addresses cannot grow memory without bound. When nothing
// can be forgotten the table grows past maxKeys: dropping a live entry would
// let its owner start over.
func (t *throttle) gc(now time.Time) {
	if len(t.remotes) < t.maxKeys {
		return
	}
	for k, r := range t.remotes {
		if r.pending == 0 && !now.Before(r.blockedUntil) && r.prune(now, t.window) == 0 {
			delete(t.remotes, k)
		}
	}
}

func (t *throttle) gcAccounts(now time.Time) {
	for k, a := range t.accounts {
		if a.prune(now, t.window) == 0 {
			delete(t.accounts, k)
		}
	}
}
