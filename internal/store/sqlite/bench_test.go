package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
	busy0 := s.busy.Load()
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
	// The committer's time per delivery: the serial section every write
	// queues behind, what bounds LMTP's rate (docs/ARCHITECTURE.md).
	b.ReportMetric(float64(s.busy.Load()-busy0)/float64(b.N)/1e3, "committer-µs/delivery")
}

// BenchmarkDeliverSerial: one delivery at a time per CPU, so every delivery
// pays its own WAL fsync (its body, 2 KB, goes through the blob journal:
// no file or directory fsync before the commit; see journal.go).
func BenchmarkDeliverSerial(b *testing.B) { benchDeliver(b, 1) }

// BenchmarkDeliverParallel: 32 concurrent deliveries per CPU share
// directory syncs and commits (group commit); each still returns only
// after its own commit.
func BenchmarkDeliverParallel(b *testing.B) { benchDeliver(b, 32) }

// BenchmarkDeliverSizes: 4 concurrent deliveries of 4, 16 and 49 KB
// bodies (49 KB: the average of bench/reads.sh's corpus), with the blob
// journal taking every body and without it; cpu-µs/op is the process CPU
// per delivery, which a busy machine distorts less than the wall clock.
func BenchmarkDeliverSizes(b *testing.B) {
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"
	for _, size := range []int{4000, 16000, 49000} {
		pad := strings.Repeat(line, size/len(line))
		for _, tc := range []struct {
			name string
			max  int64
		}{{"journal", 1 << 20}, {"no-journal", -1}} {
			b.Run(fmt.Sprintf("%dKB/%s", size/1000, tc.name), func(b *testing.B) {
				s := openTest(b, Options{JournalMax: tc.max})
				ctx := context.Background()
				var n atomic.Int64
				b.SetParallelism(2) // 2 × GOMAXPROCS (2 here) = 4 senders
				cpu0 := processCPU()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						body := benchBody(n.Add(1)) + pad
						res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
						if err != nil || res[0].Err != nil {
							b.Errorf("Deliver: %v %+v", err, res)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			})
		}
	}
}

// processCPU is the user plus system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
