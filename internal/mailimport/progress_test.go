package mailimport

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgress: plain lines every 5 s with rate and ETA; on a terminal one
// line rewritten in place; the final line has totals and the average.
func TestProgress(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		var out bytes.Buffer
		p := NewProgress(&out, terminal)
		now := time.Unix(1000, 0)
		p.now = func() time.Time { return now }
		p.SetTotal(1000, 10e6)
		now = now.Add(6 * time.Second)
		p.Add(300, 3e6)
		now = now.Add(4 * time.Second)
		p.Add(200, 2e6)
		st := p.Done()
		s := out.String()
		if st.Messages != 500 || st.Elapsed != 10*time.Second {
			t.Fatalf("stats %+v", st)
		}
		if !strings.Contains(s, "300/1000 messages, 3.0 MB, 50 msg/s, 0.5 MB/s, ETA 14s") {
			t.Errorf("terminal=%v: no progress line with rate and ETA:\n%q", terminal, s)
		}
		if !strings.Contains(s, "done: 500 messages, 5.0 MB, 50 msg/s, 0.5 MB/s in 10s") {
			t.Errorf("terminal=%v: final line:\n%q", terminal, s)
		}
		if terminal != strings.Contains(s, "\r\033[K") {
			t.Errorf("terminal=%v: in-place rewriting is %v:\n%q", terminal, !terminal, s)
		}
		if !terminal && strings.Count(s, "\n") != 2 {
			t.Errorf("plain output has %d lines, want 2 (the 4 s step is under the 5 s period):\n%s", strings.Count(s, "\n"), s)
		}
	}
}
