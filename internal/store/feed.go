package store

import (
	"strings"
	"sync"
)

// Feed is an in-process change-feed hub a driver shares between its writers
// and its watchers. Publish never blocks: each watcher has its own pending
// queue, drained into its channel by one goroutine. When a reader falls
// behind, a new MailboxChanged event is merged into the newest pending
// MailboxChanged event of the same mailbox (keeping the highest ModSeq) as
// long as no other event for that mailbox was queued after it, so events of
// one mailbox stay in commit order and the reader never loses the fact that
// a mailbox changed.
//
// Account names are compared case-insensitively (accounts are stored
// lower-cased).
type Feed struct {
	mu       sync.Mutex
	watchers map[string]map[*feedWatcher]struct{}
	closed   bool
}

// feedChannelSize is the buffer of every watcher's channel. Events sitting
// in the channel can no longer be merged; those still in the queue can.
const feedChannelSize = 16

// NewFeed returns an empty hub.
func NewFeed() *Feed {
	return &Feed{watchers: make(map[string]map[*feedWatcher]struct{})}
}

// Publish hands c to every watcher of account. Call it after the change
// committed, in commit order for the mailbox.
func (f *Feed) Publish(account string, c Change) {
	account = strings.ToLower(account)
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watchers[account] {
		w.push(c)
	}
}

// Watch subscribes to the changes of account. Close the Watcher when done.
// Watch on a closed Feed returns a Watcher whose channel is already closed.
func (f *Feed) Watch(account string) Watcher {
	account = strings.ToLower(account)
	w := &feedWatcher{
		feed:    f,
		account: account,
		out:     make(chan Change, feedChannelSize),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		w.stop()
		close(w.out)
		return w
	}
	set := f.watchers[account]
	if set == nil {
		set = make(map[*feedWatcher]struct{})
		f.watchers[account] = set
	}
	set[w] = struct{}{}
	f.mu.Unlock()
	go w.run()
	return w
}

// Close closes every watcher's channel; later Watch calls get closed
// watchers. The driver calls it from its Close.
func (f *Feed) Close() {
	f.mu.Lock()
	f.closed = true
	var all []*feedWatcher
	for _, set := range f.watchers {
		for w := range set {
			all = append(all, w)
		}
	}
	f.watchers = make(map[string]map[*feedWatcher]struct{})
	f.mu.Unlock()
	for _, w := range all {
		w.stop()
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

type feedWatcher struct {
	feed    *Feed
	account string
	out     chan Change
	wake    chan struct{} // capacity 1: "the queue is not empty"
	done    chan struct{}

	mu       sync.Mutex
	queue    []Change
	stopOnce sync.Once
}

func (w *feedWatcher) C() <-chan Change { return w.out }

func (w *feedWatcher) Close() {
	w.feed.remove(w)
	w.stop()
}

func (w *feedWatcher) stop() {
	w.stopOnce.Do(func() { close(w.done) })
}

// push queues c, merging it into the newest pending event of the same
// mailbox when both are MailboxChanged.
func (w *feedWatcher) push(c Change) {
	w.mu.Lock()
	merged := false
	if c.Kind == MailboxChanged {
		for i := len(w.queue) - 1; i >= 0; i-- {
			p := &w.queue[i]
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
		w.queue = append(w.queue, c)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run moves queued events into the channel until the watcher stops, then
// closes the channel.
func (w *feedWatcher) run() {
	defer close(w.out)
	for {
		w.mu.Lock()
		var next Change
		have := len(w.queue) > 0
		if have {
			next = w.queue[0]
			w.queue[0] = Change{}
			w.queue = w.queue[1:]
			if len(w.queue) == 0 {
				w.queue = nil
			}
		}
		w.mu.Unlock()
		if !have {
			select {
			case <-w.wake:
				continue
			case <-w.done:
				return
			}
		}
		select {
		case w.out <- next:
		case <-w.done:
			return
		}
	}
}
