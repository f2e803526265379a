package imapserver_test

import "testing"

// BenchmarkUIDFetchFlags10k times `UID FETCH 1:* (UID FLAGS)` over a
// 10,000-message INBOX (LETTERBOX_SEARCH_BENCH_N overrides the size): the
// resynchronisation every client does when it opens a mailbox, answered
// from the session's view without a store query.
func BenchmarkUIDFetchFlags10k(b *testing.B) {
	n := benchSearchSize()
	m := newBenchMailbox(b, n)
	c := m.login(b)
	if got := len(c.cmd("UID FETCH 1:* (UID FLAGS)")); got != n {
		b.Fatalf("%d FETCH responses, want %d", got, n)
	}
	b.ResetTimer()
	cpu0, k := cpuTime(), 0
	for b.Loop() {
		c.cmd("UID FETCH 1:* (UID FLAGS)")
		k++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(k), "cpu-ms/op")
}
