// Package connlimit counts a server's open connections, in total and per
// remote IP address, and refuses new ones over either bound. The IMAP,
// POP3 and SMTP front ends share it; it knows nothing of any protocol: the
// caller writes the refusal the protocol prescribes and closes the
// connection.
//
// A connection admitted with AcquireSlot can be evicted: at a bound, a new
// connection takes the place of the oldest connection from the same
// address that has not authenticated yet (as Dovecot does), so a flood of
// idle connections from an address shared with a real user (a NAT) does
// not keep that user out. Authenticated connections are never evicted.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Verdict says whether a connection was admitted and, if not, which bound
// it hit.
type Verdict int

const (
	// Admitted: the connection is counted; call the release function when
	// it ends.
	Admitted Verdict = iota
	// TooManyFromIP: the remote address already has PerIP connections.
	TooManyFromIP
	// TooManyTotal: the server already has Total connections.
	TooManyTotal
)

// String names the verdict for logs.
func (v Verdict) String() string {
	switch v {
	case Admitted:
		return "admitted"
	case TooManyFromIP:
		return "too many connections from this address"
	case TooManyTotal:
		return "too many connections"
	}
	return "unknown"
}

// Counter bounds concurrent connections. The zero value is not usable; make
// one with New. It is safe for concurrent use.
type Counter struct {
	perIP int // 0: unbounded
	total int // 0: unbounded

	mu   sync.Mutex
	open int
	byIP map[netip.Addr]int
	// pending lists, per address, the evictable slots that have not
	// authenticated, oldest first.
	pending map[netip.Addr][]*Slot
}

// Slot is one admitted connection (AcquireSlot).
type Slot struct {
	c             *Counter
	ip            netip.Addr
	evict         func()
	released      bool
	authenticated bool
}

// New returns a Counter admitting at most perIP connections from one
// address and total connections overall; 0 or less leaves that bound off.
func New(perIP, total int) *Counter {
	return &Counter{perIP: max(perIP, 0), total: max(total, 0), byIP: map[netip.Addr]int{}, pending: map[netip.Addr][]*Slot{}}
}

// Acquire counts a connection from ip. When the verdict is Admitted the
// returned release function must be called exactly once when the
// connection ends (further calls do nothing); otherwise it is nil.
func (c *Counter) Acquire(ip netip.Addr) (release func(), v Verdict) {
	ip = ip.Unmap()
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.bound(ip); v != Admitted {
		return nil, v
	}
	c.open++
	c.byIP[ip]++
	var once sync.Once
	return func() { once.Do(func() { c.release(ip) }) }, Admitted
}

// AcquireSlot counts a connection from ip that evict can end. At a bound
// it first evicts the oldest slot from ip that has not authenticated
// (calling its evict, which must close that connection without waiting for
// it) and takes its place; only when there is none is the connection
// refused. On Admitted the slot must be released when the connection ends.
func (c *Counter) AcquireSlot(ip netip.Addr, evict func()) (*Slot, Verdict) {
	ip = ip.Unmap()
	c.mu.Lock()
	v := c.bound(ip)
	var victim *Slot
	if v != Admitted {
		q := c.pending[ip]
		if len(q) == 0 {
			c.mu.Unlock()
			return nil, v
		}
		victim = q[0]
		c.unpend(victim)
		victim.released = true
		c.releaseLocked(ip)
	}
	c.open++
	c.byIP[ip]++
	sl := &Slot{c: c, ip: ip, evict: evict}
	c.pending[ip] = append(c.pending[ip], sl)
	c.mu.Unlock()
	if victim != nil {
		victim.evict()
	}
	return sl, Admitted
}

// bound says which bound one more connection from ip would pass, or
// Admitted (c.mu held).
func (c *Counter) bound(ip netip.Addr) Verdict {
	if c.total > 0 && c.open >= c.total {
		return TooManyTotal
	}
	if c.perIP > 0 && c.byIP[ip] >= c.perIP {
		return TooManyFromIP
	}
	return Admitted
}

// Authenticated makes the slot's connection one that is never evicted.
func (sl *Slot) Authenticated() {
	c := sl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !sl.released && !sl.authenticated {
		sl.authenticated = true
		c.unpend(sl)
	}
}

// Release ends the slot; further calls, and calls after an eviction, do
// nothing.
func (sl *Slot) Release() {
	c := sl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if sl.released {
		return
	}
	sl.released = true
	c.unpend(sl)
	c.releaseLocked(sl.ip)
}

func (c *Counter) unpend(sl *Slot) {
	q := c.pending[sl.ip]
	for i, p := range q {
		if p == sl {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(c.pending, sl.ip)
	} else {
		c.pending[sl.ip] = q
	}
}

func (c *Counter) release(ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked(ip)
}

func (c *Counter) releaseLocked(ip netip.Addr) {
	c.open--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}

// Open reports how many connections are counted now, in total and from ip.
func (c *Counter) Open(ip netip.Addr) (total, fromIP int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open, c.byIP[ip.Unmap()]
}

// RemoteIP is the IP address of a connection's remote end; the zero Addr
// when it has none (a pipe, a Unix socket), which then counts as one
// address of its own.
func RemoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
