package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a second has passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestHashLimiterFIFO(t *testing.T) {
	l := newHashLimiter(1)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			l.release()
		}()
		// Queue them one at a time so arrival order is known.
		waitFor(t, "waiter to queue", func() bool { return l.waiting() == i+1 })
	}
	l.release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("slots went in order %v, want arrival order", order)
		}
	}
	if l.running != 0 || l.waiting() != 0 {
		t.Fatalf("after all: running %d, waiting %d", l.running, l.waiting())
	}
}

func TestHashLimiterBound(t *testing.T) {
	const limit = 3
	l := newHashLimiter(limit)
	var now, most atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := now.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			now.Add(-1)
			l.release()
		}()
	}
	wg.Wait()
	if m := most.Load(); m > limit || m < 1 {
		t.Fatalf("%d holders at once, limit %d", m, limit)
	}
	if l.peak != limit {
		t.Fatalf("peak %d, want %d (the bound should be used)", l.peak, limit)
	}
}

func TestHashLimiterCancelledWaiterLeavesQueue(t *testing.T) {
	l := newHashLimiter(1)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { gaveUp <- l.acquire(ctx) }()
	waitFor(t, "first waiter", func() bool { return l.waiting() == 1 })
	got := make(chan error)
	go func() { got <- l.acquire(context.Background()) }()
	waitFor(t, "second waiter", func() bool { return l.waiting() == 2 })

	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if n := l.waiting(); n != 1 {
		t.Fatalf("%d waiting after cancel, want 1", n)
	}
	l.release() // goes to the second waiter, not to the one that left
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	l.release()
	if l.running != 0 {
		t.Fatalf("running %d after releases", l.running)
	}
	// An already ended context neither takes a free slot nor queues.
	if err := l.acquire(ctx); !errors.Is(err, context.Canceled) || l.running != 0 || l.waiting() != 0 {
		t.Fatalf("ended context: %v, running %d, waiting %d", err, l.running, l.waiting())
	}
}
