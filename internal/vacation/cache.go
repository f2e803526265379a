package vacation

import (
	"context"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// The settings cache: Delivered runs for every message delivered, and
// reading the account's settings from the store each time was 4-5% of LMTP
// delivery's CPU (a read transaction, the account lookup and the metadata
// query), nearly always to learn that vacation is off.
//
// An account's settings are kept with a watcher on its change feed, made
// before they are read. Every write of a server METADATA entry publishes
// MetadataChanged with the entry's name before the writer returns
// (store.Watcher), so a delivery after Save or SETMETADATA returned finds
// the event pending, reads the settings again, and never acts on old ones.
// An event without an entry name, a closed feed, or settings older than
// settingsTTL also make it read them again: the TTL bounds how stale they
// can be when a feed lost events (the PostgreSQL listener's reconnect
// announces mailboxes, not metadata). At most maxCachedAccounts are kept;
// a full cache forgets an arbitrary account.
const (
	settingsTTL       = time.Minute
	maxCachedAccounts = 4096
)

type settingsCache struct {
	mu      sync.Mutex
	entries map[string]*cachedSettings
}

type cachedSettings struct {
	mu      sync.Mutex
	w       store.Watcher // nil until the first read
	s       Settings
	valid   bool
	at      time.Time
	evicted bool // no longer in the map: read through, keep no watcher
}

// entry returns account's cache entry, making room when the cache is full.
func (c *settingsCache) entry(account string) *cachedSettings {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cachedSettings{}
	}
	if e := c.entries[account]; e != nil {
		return e
	}
	if len(c.entries) >= maxCachedAccounts {
		for k, old := range c.entries {
			delete(c.entries, k)
			old.mu.Lock()
			old.evicted = true
			if old.w != nil {
				old.w.Close()
				old.w = nil
			}
			old.mu.Unlock()
			break
		}
	}
	e := &cachedSettings{}
	c.entries[account] = e
	return e
}

// settings returns account's vacation settings, from the cache when no
// change to them can have happened since they were read.
func (r *Responder) settings(ctx context.Context, account string) (Settings, error) {
	account = store.NormalizeAccount(account)
	e := r.cache.entry(account)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.evicted {
		return Load(ctx, r.Store, account)
	}
	now := time.Now()
	if e.w != nil {
		changes, open := e.w.Take()
		fresh := open && e.valid && now.Sub(e.at) < settingsTTL
		for _, c := range changes {
			if c.Kind == store.MetadataChanged && c.MailboxID == 0 && (c.Entry == settingsEntry || c.Entry == "") {
				fresh = false
			}
		}
		if fresh {
			return e.s, nil
		}
		if !open {
			e.w.Close()
			e.w = nil
		}
	}
	if e.w == nil {
		e.w = r.Store.Watch(account) // before the read: a later write is pending at the next call
	}
	s, err := Load(ctx, r.Store, account)
	if err != nil {
		e.valid = false
		return s, err
	}
	e.s, e.valid, e.at = s, true, now
	return s, nil
}
