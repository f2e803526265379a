package postgres

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// BenchmarkDeliver measures deliveries of distinct small messages to one
// mailbox from parallel goroutines (one UID/MODSEQ row lock, one commit
// and one notification round trip each).
func BenchmarkDeliver(b *testing.B) {
	s := openStore(b, freshSchema(b))
	if _, err := s.CreateAccount(ctx, "alice@example.com", "x"); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	text := strings.Repeat("line of text\r\n", 100)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := "Subject: bench " + strconv.FormatInt(n.Add(1), 10) + "\r\n\r\n" + text
			res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
			if err != nil || res[0].Err != nil {
				b.Fatal(err, res)
			}
		}
	})
}
