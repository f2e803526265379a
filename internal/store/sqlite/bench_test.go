package sqlite

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// benchBody is a typical small message (~2 KB); the counter makes each
// body distinct so no delivery is deduplicated.
func benchBody(i int64) string {
	return "From: bench@example.com\r\nTo: alice@example.com\r\nSubject: bench " + strconv.FormatInt(i, 10) +
		"\r\nMessage-ID: <" + strconv.FormatInt(i, 10) + "@bench>\r\n\r\n" + strings.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 40)
}

func benchDeliver(b *testing.B, parallelism int) {
	s := openTest(b, Options{})
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := s.Deliver(ctx, strings.NewReader(benchBody(n.Add(1))), []store.Target{{Account: "alice@example.com"}})
			if err != nil || res[0].Err != nil {
				b.Errorf("Deliver: %v %+v", err, res)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	if c := s.batches.Load(); c > 0 {
		b.ReportMetric(float64(s.batchedJobs.Load())/float64(c), "deliveries/commit")
	}
}

// BenchmarkDeliverSerial: one delivery at a time per CPU, so every delivery
// pays its own WAL fsync (its body, 2 KB, goes through the blob journal:
// no file or directory fsync before the commit; see journal.go).
func BenchmarkDeliverSerial(b *testing.B) { benchDeliver(b, 1) }

// BenchmarkDeliverParallel: 32 concurrent deliveries per CPU share
// directory syncs and commits (group commit); each still returns only
// after its own commit.
func BenchmarkDeliverParallel(b *testing.B) { benchDeliver(b, 32) }
