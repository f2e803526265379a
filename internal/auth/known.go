package auth

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// knownLogins remembers which account logged in successfully from which
// remote (IPv4 address or IPv6 /64), so a known pair can skip the limits
// a guesser on the same remote has run into. Memory holds what this
// process saw or looked up; a store that implements store.LoginHistory
// keeps it across restarts (written at most once a day per pair).
type knownLogins struct {
	hist    store.LoginHistory // nil: memory only
	keepFor time.Duration
	max     int

	mu   sync.Mutex
	seen map[pairKey]knownEntry
}

type knownEntry struct {
	last    time.Time // last success known (zero: looked up, none)
	checked time.Time // when the store was last asked or written
}

// persistEvery is how stale the stored time of a pair may get: a pair
// logging in all day is written once a day.
const persistEvery = 24 * time.Hour

func newKnownLogins(st store.Store, keepFor time.Duration, max int) *knownLogins {
	k := &knownLogins{keepFor: keepFor, max: max, seen: make(map[pairKey]knownEntry)}
	if h, ok := st.(store.LoginHistory); ok {
		k.hist = h
	}
	return k
}

// has reports whether account logged in successfully from remote within
// keepFor. A store error counts as not known (the remote's limits apply).
func (k *knownLogins) has(ctx context.Context, account string, remote netip.Prefix, now time.Time) bool {
	key := pairKey{remote, account}
	k.mu.Lock()
	e, ok := k.seen[key]
	k.mu.Unlock()
	if ok && (now.Sub(e.checked) < persistEvery || k.hist == nil) {
		return !e.last.IsZero() && now.Sub(e.last) < k.keepFor
	}
	if k.hist == nil {
		return false
	}
	last, err := k.hist.LastLogin(ctx, account, remote.String())
	if err != nil {
		return false
	}
	if last.Before(e.last) {
		last = e.last
	}
	k.put(key, knownEntry{last: last, checked: now})
	return !last.IsZero() && now.Sub(last) < k.keepFor
}

// add records a successful login.
func (k *knownLogins) add(ctx context.Context, account string, remote netip.Prefix, now time.Time) {
	key := pairKey{remote, account}
	k.mu.Lock()
	e, ok := k.seen[key]
	k.mu.Unlock()
	write := k.hist != nil && (!ok || now.Sub(e.checked) >= persistEvery || now.Sub(e.last) >= persistEvery)
	e.last = now
	if write {
		if err := k.hist.RecordLogin(ctx, account, remote.String(), now, now.Add(-k.keepFor)); err == nil {
			e.checked = now
		}
	}
	k.put(key, e)
}

func (k *knownLogins) put(key pairKey, e knownEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.seen[key]; !ok && len(k.seen) >= k.max {
		// Full: forget an arbitrary half. Forgotten pairs are asked of
		// the store again; without one they lose their standing, which
		// only a flood of distinct successful logins can cause.
		n := 0
		for old := range k.seen {
			delete(k.seen, old)
			if n++; n >= k.max/2 {
				break
			}
		}
	}
	k.seen[key] = e
}
