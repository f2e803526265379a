package connlimit

import (
	"net/netip"
	"sync"
	"testing"
)

func TestCounterBounds(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	tests := []struct {
		name  string
		perIP int
		total int
		seq   []netip.Addr
		want  []Verdict
	}{
		{"per-IP bound", 2, 0, []netip.Addr{a, a, a, b}, []Verdict{Admitted, Admitted, TooManyFromIP, Admitted}},
		{"total bound", 0, 2, []netip.Addr{a, b, b}, []Verdict{Admitted, Admitted, TooManyTotal}},
		{"total checked first", 1, 1, []netip.Addr{a, a}, []Verdict{Admitted, TooManyTotal}},
		{"IPv4-mapped IPv6 is the same address", 1, 0, []netip.Addr{a, mapped}, []Verdict{Admitted, TooManyFromIP}},
		{"unbounded", 0, 0, []netip.Addr{a, a, a, a}, []Verdict{Admitted, Admitted, Admitted, Admitted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.perIP, tt.total)
			for i, ip := range tt.seq {
				release, v := c.Acquire(ip)
				if v != tt.want[i] {
					t.Fatalf("connection %d from %v: verdict %v, want %v", i, ip, v, tt.want[i])
				}
				if (release != nil) != (v == Admitted) {
					t.Fatalf("connection %d: release func present=%v with verdict %v", i, release != nil, v)
				}
			}
		})
	}
}

func TestReleaseFreesASlotOnce(t *testing.T) {
	a := netip.MustParseAddr("2001:db8::1")
	c := New(1, 0)
	release, v := c.Acquire(a)
	if v != Admitted {
		t.Fatalf("first: %v", v)
	}
	if _, v := c.Acquire(a); v != TooManyFromIP {
		t.Fatalf("second while first open: %v", v)
	}
	release()
	release() // a second call must not free a slot it does not hold
	r2, v := c.Acquire(a)
	if v != Admitted {
		t.Fatalf("after release: %v", v)
	}
	if total, fromIP := c.Open(a); total != 1 || fromIP != 1 {
		t.Fatalf("Open = %d, %d; want 1, 1", total, fromIP)
	}
	if _, v := c.Acquire(a); v != TooManyFromIP {
		t.Fatalf("double release freed an extra slot: %v", v)
	}
	r2()
	if total, fromIP := c.Open(a); total != 0 || fromIP != 0 {
		t.Fatalf("Open after all released = %d, %d", total, fromIP)
	}
}

func TestConcurrentAcquireNeverExceedsBound(t *testing.T) {
	const bound = 5
	c := New(bound, 0)
	ip := netip.MustParseAddr("127.0.0.1")
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, v := c.Acquire(ip); v == Admitted {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if admitted != bound {
		t.Fatalf("admitted %d connections, bound is %d", admitted, bound)
	}
}

// At the per-address bound a new connection evicts the oldest one from
// that address that has not authenticated; authenticated ones stay, and
// with none left to evict the newcomer is refused.
func TestSlotEvictsOldestUnauthenticated(t *testing.T) {
	c := New(3, 0)
	ip := netip.MustParseAddr("192.0.2.1")
	var evicted []int
	slot := func(i int) *Slot {
		t.Helper()
		sl, v := c.AcquireSlot(ip, func() { evicted = append(evicted, i) })
		if v != Admitted {
			t.Fatalf("slot %d: %v", i, v)
		}
		return sl
	}
	s0, s1, s2 := slot(0), slot(1), slot(2)
	s0.Authenticated()
	slot(3) // evicts 1, the oldest not authenticated
	if len(evicted) != 1 || evicted[0] != 1 {
		t.Fatalf("evicted %v, want [1]", evicted)
	}
	s1.Release() // the evicted connection ends: nothing more to free
	if total, from := c.Open(ip); total != 3 || from != 3 {
		t.Fatalf("open %d/%d, want 3/3", total, from)
	}
	s2.Authenticated()
	slot(4) // evicts 3
	if len(evicted) != 2 || evicted[1] != 3 {
		t.Fatalf("evicted %v, want [1 3]", evicted)
	}
	// Another address is counted apart and evicts nothing here.
	if _, v := c.AcquireSlot(netip.MustParseAddr("192.0.2.2"), func() { t.Fatal("evicted across addresses") }); v != Admitted {
		t.Fatal(v)
	}
}

func TestSlotRefusedWhenAllAuthenticated(t *testing.T) {
	c := New(2, 0)
	ip := netip.MustParseAddr("192.0.2.1")
	for range 2 {
		sl, v := c.AcquireSlot(ip, func() { t.Fatal("evicted an authenticated connection") })
		if v != Admitted {
			t.Fatal(v)
		}
		sl.Authenticated()
	}
	if _, v := c.AcquireSlot(ip, func() {}); v != TooManyFromIP {
		t.Fatalf("verdict %v, want TooManyFromIP", v)
	}
}

// The total bound evicts too, but only a connection from the newcomer's
// own address: a flood from one address cannot push out another's.
func TestSlotTotalBoundEvictsOnlySameAddress(t *testing.T) {
	c := New(0, 2)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if _, v := c.AcquireSlot(a, func() { t.Fatal("evicted a's connection for b") }); v != Admitted {
		t.Fatal(v)
	}
	evictedB := false
	if _, v := c.AcquireSlot(b, func() { evictedB = true }); v != Admitted {
		t.Fatal(v)
	}
	if _, v := c.AcquireSlot(b, func() {}); v != Admitted || !evictedB {
		t.Fatalf("verdict %v, evicted b's first: %v", v, evictedB)
	}
	if _, v := c.AcquireSlot(netip.MustParseAddr("192.0.2.3"), func() {}); v != TooManyTotal {
		t.Fatalf("third address: %v, want TooManyTotal", v)
	}
}
