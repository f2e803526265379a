package mailimport

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress reports messages, bytes, rate and ETA: on a terminal as one
// line rewritten in place (at most every 200 ms), otherwise as a plain
// line every 5 seconds. Totals may be unknown (-1): then no ETA.
type Progress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	mu          sync.Mutex
	start, last time.Time
	total       int
	totalBytes  int64
	msgs        int
	bytes       int64
	dirty       bool
}

// NewProgress writes to w; terminal chooses the in-place form.
func NewProgress(w io.Writer, terminal bool) *Progress {
	return &Progress{w: w, terminal: terminal, now: time.Now, total: -1, totalBytes: -1}
}

// SetTotal sets what the whole run is expected to move, and starts the
// clock.
func (p *Progress) SetTotal(msgs int, bytes int64) {
	p.mu.Lock()
	p.total, p.totalBytes = msgs, bytes
	if p.start.IsZero() {
		p.start = p.now()
		p.last = p.start
	}
	p.mu.Unlock()
}

// Add counts messages imported and prints when it is time.
func (p *Progress) Add(msgs int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start, p.last = now, now
	}
	p.msgs += msgs
	p.bytes += bytes
	p.dirty = true
	every := 5 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) >= every {
		p.print(now, false)
	}
}

// Printf prints a message line (not overwritten by the progress line).
func (p *Progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Done prints the final line: totals and the average rate.
func (p *Progress) Done() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	p.print(now, true)
	return Stats{Messages: p.msgs, Bytes: p.bytes, Elapsed: now.Sub(p.start)}
}

// Stats is what a run moved.
type Stats struct {
	Messages int
	Bytes    int64
	Elapsed  time.Duration
}

// Rate is messages per second and MB (10^6 bytes) per second.
func (s Stats) Rate() (msgsPerSec, mbPerSec float64) {
	sec := s.Elapsed.Seconds()
	if sec <= 0 {
		return 0, 0
	}
	return float64(s.Messages) / sec, float64(s.Bytes) / 1e6 / sec
}

func (p *Progress) print(now time.Time, final bool) {
	p.last, p.dirty = now, false
	st := Stats{Messages: p.msgs, Bytes: p.bytes, Elapsed: now.Sub(p.start)}
	mps, mbps := st.Rate()
	line := fmt.Sprintf("%d messages, %.1f MB, %.0f msg/s, %.1f MB/s", p.msgs, float64(p.bytes)/1e6, mps, mbps)
	if p.total > 0 && !final {
		line = fmt.Sprintf("%d/%d messages, %.1f MB, %.0f msg/s, %.1f MB/s", p.msgs, p.total, float64(p.bytes)/1e6, mps, mbps)
		if mps > 0 && p.total > p.msgs {
			eta := time.Duration(float64(p.total-p.msgs) / mps * float64(time.Second))
			line += ", ETA " + eta.Round(time.Second).String()
		}
	}
	if final {
		line = "done: " + line + " in " + st.Elapsed.Round(time.Millisecond).String()
	}
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K"+line)
		if final {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintln(p.w, line)
}
