package auth

import (
	"net/netip"
	"sync"
	"time"
)

// throttle decides which login attempts may have their password checked.
//
// Policy (slow the guesser, never lock out the owner):
//   - Pair: failures of one account from one remote (an IPv4 address or
//     an IPv6 /64) throttle that pair only. After n failures within window
//     the pair's next check waits FailureDelay×2^(n-1), capped at
//     maxPairDelay; an attempt earlier than that is refused without a
//     password check (ErrThrottled). Other accounts on the same remote
//     are not affected.
//   - Remote budget: password checks that fail cost the remote a token
//     from a bucket of burst tokens refilled at rate per second; a check
//     that succeeds gives its token back. An empty bucket refuses
//     attempts without a check, so a guesser spreading over many accounts
//     gets no more than rate checks per second on average.
//   - Spray: failures against sprayAccounts different names from one
//     remote within window block the remote for window.
//   - Known pairs: an account that logged in successfully from a remote
//     within the last knownFor (remembered by the Service, across
//     restarts when the store keeps a login history) skips the remote's
//     budget and block: the real user behind a NAT shared with a guesser
//     logs in at once. Its own pair throttle still applies.
//
// Attempts in flight hold their token, so a burst of parallel guesses
// cannot all slip in before the first failure is counted; a known pair
// holds none, so twenty phones of known users reconnecting at once are
// not refused.
type throttle struct {
	window        time.Duration
	baseDelay     time.Duration
	maxPairDelay  time.Duration
	rate          float64 // tokens per second
	burst         float64
	sprayAccounts int
	maxKeys       int

	mu      sync.Mutex
	remotes map[netip.Prefix]*remoteState
	pairs   map[pairKey]*pairState
}

type pairKey struct {
	remote  netip.Prefix
	account string
}

type remoteState struct {
	tokens       float64
	refilled     time.Time
	names        map[string]time.Time // failed names → last failure
	blockedUntil time.Time
	pending      int
}

type pairState struct {
	failures    []time.Time // within window, oldest first
	nextAllowed time.Time
}

// verdict is begin's answer.
type verdict int

const (
	admitted verdict = iota
	pairThrottled
	remoteBlocked
	remoteBudget
)

func (v verdict) String() string {
	switch v {
	case pairThrottled:
		return "account-throttled"
	case remoteBlocked:
		return "address-blocked"
	case remoteBudget:
		return "address-throttled"
	}
	return "admitted"
}

// maxPairFailures bounds a pair's record; the delay is capped long before.
const maxPairFailures = 32

type throttleOptions struct {
	window, baseDelay, maxPairDelay time.Duration
	rate                            float64
	burst, sprayAccounts, maxKeys   int
}

func newThrottle(o throttleOptions) *throttle {
	return &throttle{
		window:        o.window,
		baseDelay:     o.baseDelay,
		maxPairDelay:  o.maxPairDelay,
		rate:          o.rate,
		burst:         float64(o.burst),
		sprayAccounts: o.sprayAccounts,
		maxKeys:       o.maxKeys,
		remotes:       make(map[netip.Prefix]*remoteState),
		pairs:         make(map[pairKey]*pairState),
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

func (t *throttle) remote(now time.Time, k netip.Prefix) *remoteState {
	r := t.remotes[k]
	if r == nil {
		t.gc(now)
		r = &remoteState{tokens: t.burst, refilled: now}
		t.remotes[k] = r
	}
	if d := now.Sub(r.refilled); d > 0 {
		r.tokens = min(t.burst, r.tokens+d.Seconds()*t.rate)
		r.refilled = now
	}
	return r
}

// begin admits an attempt of account from remote, or says why not (and
// when the pair may try again). known says the pair logged in before. An
// admitted attempt must be finished with end, with the same known.
func (t *throttle) begin(now time.Time, remote netip.Addr, account string, known bool) (verdict, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := remoteKey(remote)
	if p := t.pairs[pairKey{k, account}]; p != nil && now.Before(p.nextAllowed) {
		return pairThrottled, p.nextAllowed.Sub(now)
	}
	r := t.remote(now, k)
	if !known {
		if now.Before(r.blockedUntil) {
			return remoteBlocked, r.blockedUntil.Sub(now)
		}
		if r.tokens < 1 {
			return remoteBudget, time.Duration((1 - r.tokens) / t.rate * float64(time.Second))
		}
		r.tokens--
	}
	r.pending++
	return admitted, 0
}

// needsKnown reports whether an attempt of an unknown pair would be
// refused now for the remote's sake (so asking whether the pair is known
// is worth a store read).
func (t *throttle) needsKnown(now time.Time, remote netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.remote(now, remoteKey(remote))
	return now.Before(r.blockedUntil) || r.tokens < 1
}

// end finishes an admitted attempt. On failure it records it against the
// pair and the remote and returns the pair's failures in the window; on
// success it clears the pair and gives the remote its token back.
func (t *throttle) end(now time.Time, remote netip.Addr, account string, known, failed bool) (pairFails int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := remoteKey(remote)
	r := t.remote(now, k)
	if r.pending > 0 {
		r.pending--
	}
	pk := pairKey{k, account}
	if !failed {
		if !known {
			r.tokens = min(t.burst, r.tokens+1)
		}
		delete(t.pairs, pk)
		return 0
	}
	p := t.pairs[pk]
	if p == nil {
		if len(t.pairs) >= t.maxKeys {
			t.gcPairs(now)
		}
		p = &pairState{}
		t.pairs[pk] = p
	}
	p.prune(now, t.window)
	p.failures = append(p.failures, now)
	if len(p.failures) > maxPairFailures {
		p.failures = append(p.failures[:0], p.failures[len(p.failures)-maxPairFailures:]...)
	}
	p.nextAllowed = now.Add(t.pairDelay(len(p.failures)))
	if r.names == nil {
		r.names = make(map[string]time.Time)
	}
	r.names[account] = now
	for n, at := range r.names {
		if now.Sub(at) >= t.window {
			delete(r.names, n)
		}
	}
	if t.sprayAccounts > 0 && len(r.names) >= t.sprayAccounts {
		r.blockedUntil = now.Add(t.window)
	}
	return len(p.failures)
}

// pairDelay is how long a pair with n failures in the window waits before
// its next check: baseDelay doubled per failure after the first, capped.
func (t *throttle) pairDelay(n int) time.Duration {
	d := t.baseDelay
	for i := 1; i < n && d < t.maxPairDelay; i++ {
		d *= 2
	}
	return min(d, t.maxPairDelay)
}

func (p *pairState) prune(now time.Time, window time.Duration) {
	cut := 0
	for cut < len(p.failures) && now.Sub(p.failures[cut]) >= window {
		cut++
	}
	if cut > 0 {
		p.failures = append(p.failures[:0], p.failures[cut:]...)
	}
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
		full := r.tokens+now.Sub(r.refilled).Seconds()*t.rate >= t.burst
		if r.pending == 0 && full && !now.Before(r.blockedUntil) {
			delete(t.remotes, k)
		}
	}
}

func (t *throttle) gcPairs(now time.Time) {
	for k, p := range t.pairs {
		if !now.Before(p.nextAllowed) {
			if p.prune(now, t.window); len(p.failures) == 0 {
				delete(t.pairs, k)
			}
		}
	}
}
