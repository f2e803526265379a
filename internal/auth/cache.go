package auth

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// loginCache remembers, for a short time, credentials that a full argon2id
// verification accepted, so a client that reconnects all day (a phone, or
// Thunderbird opening several connections at once) does not pay a hash per
// connection.
//
// An entry is the HMAC-SHA-256, under a random key made at start-up and
// never stored, of (account, password, stored PHC string). So:
//   - only the exact password that was verified matches; any other
//     password gives another MAC and falls through to argon2;
//   - a password change stores a new PHC string (new salt), so the old
//     entry can never match again, on this node or any other sharing the
//     store, whatever the TTL;
//   - nothing kept lets anyone recover the password without the key (see
//     docs/PASSWORDS.md for what an attacker who can read process memory
//     gets).
//
// Only successes are remembered. Entries expire ttl after the verification
// that made them (a hit does not extend them), and the least recently used
// is dropped when size entries are held.
//
// The cache also joins concurrent verifications of the same credentials
// (same MAC): the first runs the hash, the others wait for its answer. The
// inputs being identical, so is the answer; a failure is shared only with
// the verifications already waiting, never kept.
type loginCache struct {
	key  [32]byte
	ttl  time.Duration
	size int
	now  func() time.Time

	mu       sync.Mutex
	entries  map[cacheKey]*list.Element // of *cacheEntry
	lru      list.List                  // most recently used first
	inflight map[cacheKey]*verifyCall
	swept    time.Time // last sweep of expired entries
	macs     sync.Pool // of hash.Hash
}

type cacheKey [sha256.Size]byte

type cacheEntry struct {
	key     cacheKey
	account string
	expires time.Time
}

// verifyCall is one running verification that others may wait for.
type verifyCall struct {
	done chan struct{}
	ok   bool
	err  error
}

func newLoginCache(ttl time.Duration, size int, now func() time.Time) *loginCache {
	c := &loginCache{
		ttl:      ttl,
		size:     max(size, 1),
		now:      now,
		entries:  make(map[cacheKey]*list.Element),
		inflight: make(map[cacheKey]*verifyCall),
	}
	if _, err := rand.Read(c.key[:]); err != nil {
		// crypto/rand does not fail on supported systems (it panics
		// itself on Go ≥ 1.24); keep the guarantee explicit.
		panic("auth: no randomness for the login cache key: " + err.Error())
	}
	c.macs.New = func() any { return hmac.New(sha256.New, c.key[:]) }
	return c
}

// mac computes the cache key of (account, password, phc). Each field is
// length-prefixed so no two different triples share an input.
func (c *loginCache) mac(account, password, phc string) cacheKey {
	h := c.macs.Get().(hash.Hash)
	defer c.macs.Put(h)
	h.Reset()
	var n [binary.MaxVarintLen64]byte
	for _, f := range [...]string{account, password, phc} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// verify reports whether password is account's password given its stored
// PHC string. A live cache entry answers at once (cached is true);
// otherwise slow runs the real verification (or the caller joins one
// already running for the same credentials) and a success is remembered.
// slow returns an error only for failures that are not the client's
// (context ended while queued): those are never shared or remembered.
func (c *loginCache) verify(ctx context.Context, account, password, phc string,
	slow func(context.Context) (bool, error)) (ok, cached bool, err error) {
	k := c.mac(account, password, phc)
	for {
		c.mu.Lock()
		if c.lookupLocked(k) {
			c.mu.Unlock()
			return true, true, nil
		}
		call := c.inflight[k]
		if call == nil {
			break // we run it; c.mu still held
		}
		c.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return false, false, ctx.Err()
		}
		if call.err == nil {
			return call.ok, false, nil
		}
		// The leader gave up (its context ended); try again ourselves.
	}
	// errVerifyPanicked stays only if slow panics: waiters then retry
	// instead of reading a failure nobody decided.
	call := &verifyCall{done: make(chan struct{}), err: errVerifyPanicked}
	c.inflight[k] = call
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inflight, k)
		if call.err == nil && call.ok {
			c.addLocked(k, account)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.ok, call.err = slow(ctx)
	return call.ok, false, call.err
}

var errVerifyPanicked = errors.New("auth: password verification panicked")

// add remembers a verified (account, password, phc), for a hash this
// package has just made and stored (a rehash on login).
func (c *loginCache) add(account, password, phc string) {
	k := c.mac(account, password, phc)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(k, account)
}

// sweepLocked drops expired entries, at most once per ttl, so a MAC does
// not outlive its ttl by much even in a cache that never fills.
func (c *loginCache) sweepLocked(now time.Time) {
	if now.Sub(c.swept) < c.ttl {
		return
	}
	c.swept = now
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if ent := e.Value.(*cacheEntry); !now.Before(ent.expires) {
			delete(c.entries, ent.key)
			c.lru.Remove(e)
		}
		e = next
	}
}

func (c *loginCache) lookupLocked(k cacheKey) bool {
	now := c.now()
	c.sweepLocked(now)
	e, ok := c.entries[k]
	if !ok {
		return false
	}
	ent := e.Value.(*cacheEntry)
	if !now.Before(ent.expires) {
		c.lru.Remove(e)
		delete(c.entries, k)
		return false
	}
	c.lru.MoveToFront(e)
	return true
}

func (c *loginCache) addLocked(k cacheKey, account string) {
	now := c.now()
	c.sweepLocked(now)
	expires := now.Add(c.ttl)
	if e, ok := c.entries[k]; ok {
		e.Value.(*cacheEntry).expires = expires
		c.lru.MoveToFront(e)
		return
	}
	for c.lru.Len() >= c.size {
		last := c.lru.Back()
		delete(c.entries, last.Value.(*cacheEntry).key)
		c.lru.Remove(last)
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, account: account, expires: expires})
}

// forget drops every entry of account (its password was just changed
// through the Service). Entries of the old PHC string could never match
// again anyway; this frees them at once and does not rely on that.
func (c *loginCache) forget(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if ent := e.Value.(*cacheEntry); ent.account == account {
			delete(c.entries, ent.key)
			c.lru.Remove(e)
		}
		e = next
	}
}

// len reports how many entries are held (tests).
func (c *loginCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
