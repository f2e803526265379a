package imapserver_test

import "testing"

// BenchmarkStoreSeen10k times `STORE 1:* +FLAGS (\Seen)` and
// `STORE 1:* -FLAGS (\Seen)` in turn over a 10,000-message INBOX
// (LETTERBOX_SEARCH_BENCH_N overrides the size), each answered with one
// FETCH per message as bench/reads.go's STORE rows do.
func BenchmarkStoreSeen10k(b *testing.B) {
	n := benchSearchSize()
	m := newBenchMailbox(b, n)
	c := m.login(b)
	b.ResetTimer()
	cpu0, k := cpuTime(), 0
	for b.Loop() {
		op := "+"
		if k%2 == 1 {
			op = "-"
		}
		if got := len(c.cmd(`STORE 1:* %sFLAGS (\Seen)`, op)); got != n {
			b.Fatalf("%d FETCH responses, want %d", got, n)
		}
		k++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(k), "cpu-ms/op")
}
