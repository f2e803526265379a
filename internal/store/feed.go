package store

import (
	"strings"
	"sync"
	"time"
)

// Feed is an in-process change-feed hub a driver shares between its writers
// and its watchers. Publish never blocks and never hands work to another
// goroutine: it appends the change to each watcher's pending set under a
// short lock and drops a token in the watcher's one-slot Ready channel. So
// once Publish returned, a Take in any goroutine sees the change; a writer
// that publishes before answering its caller gives "read your peers'
// writes" on one node without any timing assumption.
//
// Pending MailboxChanged events of one mailbox merge into the newest one
// (keeping the highest ModSeq) as long as no other event of that mailbox was
// queued after it, so events of one mailbox stay in commit order and a
// slow reader holds at most a few events per mailbox. SubscriptionChanged
// events of an account merge into one pending event, and MetadataChanged
// events into one per mailbox and entry.
//
// Account names are compared case-insensitively (accounts are stored
// lower-cased).
type Feed struct {
	mu       sync.Mutex
	watchers map[string]map[*feedWatcher]struct{}
	closed   bool
}

// NewFeed returns an empty hub.
func NewFeed() *Feed {
	return &Feed{watchers: make(map[string]map[*feedWatcher]struct{})}
}

// Publish hands c to every watcher of account. Call it after the change
// committed, in commit order for the mailbox, before the writer answers.
func (f *Feed) Publish(account string, c Change) {
	account = strings.ToLower(account)
	if c.At.IsZero() {
		c.At = time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watchers[account] {
		w.push(c)
	}
}

// Watch subscribes to the changes of account. Close the Watcher when done.
// Watch on a closed Feed returns a Watcher that is already closed.
func (f *Feed) Watch(account string) Watcher {
	account = strings.ToLower(account)
	w := &feedWatcher{feed: f, account: account, ready: make(chan struct{}, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		w.closeReady()
		return w
	}
	set := f.watchers[account]
	if set == nil {
		set = make(map[*feedWatcher]struct{})
		f.watchers[account] = set
	}
	set[w] = struct{}{}
	return w
}

// Close closes every watcher; later Watch calls get closed watchers. The
// driver calls it from its Close.
func (f *Feed) Close() {
	f.mu.Lock()
	f.closed = true
	all := f.watchers
	f.watchers = make(map[string]map[*feedWatcher]struct{})
	f.mu.Unlock()
	for _, set := range all {
		for w := range set {
			w.closeReady()
		}
	}
}

func (f *Feed) remove(w *feedWatcher) {
	f.mu.Lock()
	if set := f.watchers[w.account]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(f.watchers, w.account)
		}
	}
	f.mu.Unlock()
}

// feedWatcher is one subscriber: a pending list and a one-slot ready
// channel. It costs no goroutine.
type feedWatcher struct {
	feed    *Feed
	account string
	ready   chan struct{}

	mu      sync.Mutex
	pending []Change
	closed  bool
}

func (w *feedWatcher) Ready() <-chan struct{} { return w.ready }

func (w *feedWatcher) Take() ([]Change, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.pending
	w.pending = nil
	return out, !w.closed
}

func (w *feedWatcher) Close() {
	w.feed.remove(w)
	w.closeReady()
}

func (w *feedWatcher) closeReady() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.ready)
	}
}

// sameSignal reports whether pending p asks its reader to re-read
// what c does: the subscriptions, or the same METADATA entry of the same
// mailbox.
func sameSignal(p, c Change) bool {
	if p.Kind != c.Kind {
		return false
	}
	return c.Kind == SubscriptionChanged || c.MailboxID == p.MailboxID && c.Entry == p.Entry
}

// push queues c, merging it into the newest pending event of the same
// mailbox when both are MailboxChanged (which keeps its older At: the lag
// of a merged signal is that of its oldest change), and signals Ready.
func (w *feedWatcher) push(c Change) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	merged := false
	if c.Kind == SubscriptionChanged || c.Kind == MetadataChanged {
		// A signal to re-read the subscriptions, or one METADATA entry:
		// one pending per subscription list or entry is enough, so a
		// reader that does not read (the vacation cache of an account that
		// gets no mail) holds one whatever the churn. The older one goes,
		// keeping its At; the new one is queued last, after the events it
		// followed.
		for i := range w.pending {
			if p := w.pending[i]; sameSignal(p, c) {
				if p.At.Before(c.At) {
					c.At = p.At
				}
				w.pending = append(w.pending[:i], w.pending[i+1:]...)
				break
			}
		}
	}
	if c.Kind == MailboxChanged {
		for i := len(w.pending) - 1; i >= 0; i-- {
			p := &w.pending[i]
			if p.MailboxID != c.MailboxID {
				continue
			}
			if p.Kind == MailboxChanged {
				if c.ModSeq > p.ModSeq {
					p.ModSeq = c.ModSeq
				}
				if c.Mailbox != "" {
					p.Mailbox = c.Mailbox
				}
				merged = true
			}
			break
		}
	}
	if !merged {
		w.pending = append(w.pending, c)
	}
	select {
	case w.ready <- struct{}{}:
	default:
	}
}
