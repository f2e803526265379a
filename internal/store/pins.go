package store

import (
	"math"
	"sync"
)

// Pins is an in-process registry of Mailbox.Pin holds, shared by a driver's
// mailbox handles. A driver asks Floor before it removes the content of an
// expunged message: content expunged at MODSEQ m may go once Floor reports
// no pin at or below m-1, that is floor >= m.
//
// OnMove, when set, is called (without the registry's lock held) after a
// pin advanced or was released, so the driver can collect what became free.
type Pins struct {
	OnMove func(mailboxID int64)

	mu    sync.Mutex
	holds map[int64]map[*pin]struct{}
}

// NoPin is the floor of a mailbox nobody pins.
const NoPin = ModSeq(math.MaxUint64)

// Pin registers a new hold on mailboxID at MODSEQ 0 (everything held).
func (p *Pins) Pin(mailboxID int64) Pin {
	h := &pin{reg: p, mailbox: mailboxID}
	p.mu.Lock()
	if p.holds == nil {
		p.holds = make(map[int64]map[*pin]struct{})
	}
	set := p.holds[mailboxID]
	if set == nil {
		set = make(map[*pin]struct{})
		p.holds[mailboxID] = set
	}
	set[h] = struct{}{}
	p.mu.Unlock()
	return h
}

// Floor is the lowest MODSEQ any live pin of mailboxID holds, or NoPin.
func (p *Pins) Floor(mailboxID int64) ModSeq {
	p.mu.Lock()
	defer p.mu.Unlock()
	floor := NoPin
	for h := range p.holds[mailboxID] {
		if h.at < floor {
			floor = h.at
		}
	}
	return floor
}

// Count is the number of live pins (for tests and metrics).
func (p *Pins) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, set := range p.holds {
		n += len(set)
	}
	return n
}

type pin struct {
	reg      *Pins
	mailbox  int64
	at       ModSeq // guarded by reg.mu
	released bool   // guarded by reg.mu
}

func (h *pin) Advance(m ModSeq) {
	p := h.reg
	p.mu.Lock()
	if h.released || m <= h.at {
		p.mu.Unlock()
		return
	}
	h.at = m
	p.mu.Unlock()
	if p.OnMove != nil {
		p.OnMove(h.mailbox)
	}
}

func (h *pin) Release() {
	p := h.reg
	p.mu.Lock()
	if h.released {
		p.mu.Unlock()
		return
	}
	h.released = true
	if set := p.holds[h.mailbox]; set != nil {
		delete(set, h)
		if len(set) == 0 {
			delete(p.holds, h.mailbox)
		}
	}
	p.mu.Unlock()
	if p.OnMove != nil {
		p.OnMove(h.mailbox)
	}
}
