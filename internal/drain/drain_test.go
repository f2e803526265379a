package drain

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSignal(t *testing.T) {
	var d Signal
	if d.Active() {
		t.Fatal("active before Begin")
	}
	d.Begin()
	d.Begin()
	if !d.Active() {
		t.Fatal("not active after Begin")
	}
	select {
	case <-d.Done():
	default:
		t.Fatal("Done not closed")
	}
}

// Wait keeps nudging until the sessions end, and gives up at ctx's end.
func TestWait(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	var nudges atomic.Int32
	go func() {
		defer wg.Done()
		for nudges.Load() < 3 { // a session that ignores the first nudges
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if err := Wait(context.Background(), &wg, func() { nudges.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if n := nudges.Load(); n < 3 {
		t.Fatalf("%d nudges", n)
	}

	wg.Add(1) // never ends
	defer wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Wait(ctx, &wg, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
}
