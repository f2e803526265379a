package mailclient

import (
	"fmt"
	"io"
	"time"
)

// Progress reports a download on stderr: messages, octets, rate and the
// time left. On a terminal it redraws one line in place (at most ten
// times a second); otherwise it prints a plain line at most once a
// second, and always a last one, so logs stay readable.
type Progress struct {
	w          io.Writer
	tty        bool
	label      string
	total      int
	totalBytes int64
	done       int
	bytes      int64
	start      time.Time
	last       time.Time
	lastLine   string
	// Unit names what is counted ("messages" by default).
	Unit string
	// Now is the clock (tests replace it).
	Now func() time.Time
}

// NewProgress starts reporting a task; SetTotal says how big it is.
func NewProgress(w io.Writer, tty bool, label string) *Progress {
	p := &Progress{w: w, tty: tty, label: label, Unit: "messages", Now: time.Now}
	p.start = p.Now()
	return p
}

// SetTotal says how much there is to do.
func (p *Progress) SetTotal(messages int, octets int64) {
	p.total, p.totalBytes = messages, octets
	p.start = p.Now()
}

// Add counts one more item of n octets.
func (p *Progress) Add(n int64) {
	p.done++
	p.bytes += n
	now := p.Now()
	every := time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(p.last) < every && p.done < p.total && p.lastLine != "" {
		return
	}
	p.last = now
	p.draw(now)
}

// Clear takes the progress line off a terminal, so that output written
// next (to stdout, often the same terminal) starts on a clean line; the
// next Add or Finish draws it again below that output.
func (p *Progress) Clear() {
	if p.tty && p.lastLine != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.lastLine = ""
	}
}

// Finish prints the final figures and ends the line.
func (p *Progress) Finish() {
	p.draw(p.Now())
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) draw(now time.Time) {
	line := p.Line(now)
	if line == p.lastLine {
		return
	}
	p.lastLine = line
	if p.tty {
		// \r and "erase to end of line" (ECMA-48 EL) redraw in place.
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// Line is the progress text at time now, e.g. "unread: 3/10 messages,
// 12.0 KB of 40.0 KB, 6.0 KB/s, ETA 5s".
func (p *Progress) Line(now time.Time) string {
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.bytes) / elapsed.Seconds()
	}
	of := ""
	if p.total > 0 {
		of = fmt.Sprintf("/%d", p.total)
	}
	s := fmt.Sprintf("%s: %d%s %s, %s", p.label, p.done, of, p.Unit, HumanBytes(p.bytes))
	if p.totalBytes > 0 {
		s += " of " + HumanBytes(p.totalBytes)
	}
	s += fmt.Sprintf(", %s/s", HumanBytes(int64(rate)))
	switch {
	case p.total > 0 && p.done >= p.total:
		s += fmt.Sprintf(", done in %s", roundDuration(elapsed))
	case p.totalBytes > 0 && rate > 0:
		left := time.Duration(float64(p.totalBytes-p.bytes) / rate * float64(time.Second))
		s += ", ETA " + roundDuration(left)
	}
	return s
}

func roundDuration(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// HumanBytes shows an octet count as B, KB, MB or GB (powers of 1024).
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMG"[exp])
}
