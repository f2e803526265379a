package auth

import (
	"container/list"
	"context"
	"sync"
)

// hashLimiter bounds the password hashes running at once and queues the
// rest in arrival order (a ticket queue): a slot freed by release goes to
// the oldest waiter, never to whoever happens to arrive or wake first, so
// under load every login waits about as long as the queue ahead of it.
//
// Each running hash holds its argon2 memory, so the bound is also the bound
// on hash memory: limit × Params.Memory (see docs/PASSWORDS.md).
type hashLimiter struct {
	mu      sync.Mutex
	limit   int
	running int       // slots held
	queue   list.List // of *hashWaiter, oldest first
	peak    int       // highest running seen (tests, benchmarks)
}

type hashWaiter struct {
	ready   chan struct{} // closed when the slot is handed over
	granted bool          // set (under mu) when the slot is handed over
}

func newHashLimiter(limit int) *hashLimiter {
	return &hashLimiter{limit: max(limit, 1)}
}

// acquire waits for a slot, in FIFO order, or until ctx is done. A nil error
// means the caller holds a slot and must call release.
func (l *hashLimiter) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // nobody waits for this hash any more
	}
	l.mu.Lock()
	if l.running < l.limit && l.queue.Len() == 0 {
		l.running++
		l.peak = max(l.peak, l.running)
		l.mu.Unlock()
		return nil
	}
	w := &hashWaiter{ready: make(chan struct{})}
	e := l.queue.PushBack(w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	if w.granted {
		// The slot arrived as the context ended: pass it on rather than
		// run a hash nobody waits for.
		l.mu.Unlock()
		l.release()
		return ctx.Err()
	}
	l.queue.Remove(e)
	l.mu.Unlock()
	return ctx.Err()
}

// release frees a slot: it goes to the oldest waiter if there is one.
func (l *hashLimiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if front := l.queue.Front(); front != nil {
		w := l.queue.Remove(front).(*hashWaiter)
		w.granted = true
		close(w.ready) // running is unchanged: the slot changes hands
		return
	}
	l.running--
}

// waiting reports how many callers are queued.
func (l *hashLimiter) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Len()
}
