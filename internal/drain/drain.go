// Package drain is the graceful stop the front ends share (SIGTERM): a
// server stops accepting, lets what is in progress finish, tells each
// waiting client it is going away, and only cuts what is left when the
// operator's time bound runs out.
//
// A session blocked reading from its client cannot see a flag, so the
// server nudges it: it sets the connection's read deadline to now, the
// read fails, and the session, seeing Active, says goodbye instead of
// reporting an idle timeout. A session may renew its own deadline just
// after a nudge (it checked Active a moment before the drain began), so
// Wait nudges again every NudgeEvery until the sessions are gone.
package drain

import (
	"context"
	"sync"
	"time"
)

// NudgeEvery is how often Wait wakes the sessions that are still there.
const NudgeEvery = 100 * time.Millisecond

// Signal says whether a drain has begun. The zero value is ready to use.
type Signal struct {
	once sync.Once
	mu   sync.Mutex
	ch   chan struct{}
}

func (d *Signal) init() {
	d.mu.Lock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	d.mu.Unlock()
}

// Begin starts the drain; later calls do nothing.
func (d *Signal) Begin() {
	d.init()
	d.once.Do(func() { close(d.ch) })
}

// Done is closed when the drain begins (for a select in IDLE).
func (d *Signal) Done() <-chan struct{} {
	d.init()
	return d.ch
}

// Active reports whether the drain has begun.
func (d *Signal) Active() bool {
	select {
	case <-d.Done():
		return true
	default:
		return false
	}
}

// Wait calls nudge now and every NudgeEvery until wg's sessions have all
// ended (nil) or ctx ends (ctx's error).
func Wait(ctx context.Context, wg *sync.WaitGroup, nudge func()) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(NudgeEvery)
	defer tick.Stop()
	for {
		nudge()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Shutdown is a front end's graceful stop: unless stop reports the
// server already closed, it begins d (before stop closed the listeners,
// so Serve reports a clean end), then waits as Wait does, then calls
// closeAll for what is left. It returns nil, or ctx's error when sessions
// had to be cut.
func Shutdown(ctx context.Context, d *Signal, stop func() (closed bool), wg *sync.WaitGroup, nudge func(), closeAll func() error) error {
	d.Begin()
	if stop() {
		return nil
	}
	err := Wait(ctx, wg, nudge)
	closeAll()
	return err
}
