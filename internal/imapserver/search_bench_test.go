package imapserver_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/search/searchtest"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// benchClient is a minimal IMAP client for benchmarks (tconn needs a
// *testing.T).
type benchClient struct {
	tb  testing.TB
	nc  net.Conn
	br  *bufio.Reader
	tag int
}

func dialBench(tb testing.TB, addr string) *benchClient {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	c := &benchClient{tb: tb, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	if _, err := c.br.ReadString('\n'); err != nil {
		tb.Fatal(err)
	}
	return c
}

// cmd sends one command and returns its untagged lines; it fails unless
// the answer is OK.
func (c *benchClient) cmd(format string, args ...any) []string {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	if _, err := fmt.Fprintf(c.nc, tag+" "+format+"\r\n", args...); err != nil {
		c.tb.Fatal(err)
	}
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.tb.Fatal(err)
		}
		l = strings.TrimSuffix(l, "\r\n")
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				c.tb.Fatalf("%s: %s", fmt.Sprintf(format, args...), l)
			}
			return lines
		}
		lines = append(lines, l)
	}
}

// searchCount runs a SEARCH and returns the number of matches.
func (c *benchClient) searchCount(criteria string) int {
	for _, l := range c.cmd("SEARCH %s", criteria) {
		if rest, ok := strings.CutPrefix(l, "* SEARCH"); ok {
			return len(strings.Fields(rest))
		}
	}
	c.tb.Fatalf("SEARCH %s: no SEARCH response", criteria)
	return 0
}

// benchMailbox is a store with one account whose INBOX holds n generated
// messages (see searchtest: mostly 2-8 KB text, some multipart/
// alternative, 10% with a 100-500 KB attachment, some non-ASCII
// subjects), delivered by 4 concurrent writers.
type benchMailbox struct {
	st      *sqlite.Store
	srv     *imapserver.Server
	addr    string
	deliver time.Duration // wall clock of the deliveries
	n       int
}

func newBenchMailbox(b *testing.B, n int) *benchMailbox {
	corpus := searchtest.New(1)
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = corpus.Message(i, searchtest.Options{AttachmentRate: 0.1})
	}
	return newBenchMailboxWith(b, msgs)
}

// newBenchMailboxWith is newBenchMailbox with the given messages.
func newBenchMailboxWith(b *testing.B, msgs []string) *benchMailbox {
	n := len(msgs)
	dir := b.TempDir()
	st, err := sqlite.Open(sqlite.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateAccount(context.Background(), testUser, hash); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				res, err := st.Deliver(context.Background(), strings.NewReader(msgs[i]), []store.Target{{Account: testUser}})
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range msgs {
		next <- i
	}
	close(next)
	wg.Wait()
	m := &benchMailbox{st: st, n: n, deliver: time.Since(start)}
	m.srv = imapserver.New(imapserver.Options{
		Store:    st,
		Auth:     auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond}),
		Hostname: "imap.test",
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	m.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.srv.Serve(l)
	}()
	b.Cleanup(func() {
		m.srv.Close()
		<-done
		st.Close()
	})
	return m
}

func (m *benchMailbox) login(tb testing.TB) *benchClient {
	c := dialBench(tb, m.addr)
	c.cmd(`LOGIN %q %q`, testUser, testPass)
	c.cmd("SELECT INBOX")
	return c
}

// benchSearchSize is the mailbox size of BenchmarkSearch10k; the
// environment variable LETTERBOX_SEARCH_BENCH_N overrides it.
func benchSearchSize() int {
	if v, err := strconv.Atoi(os.Getenv("LETTERBOX_SEARCH_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 10000
}

// BenchmarkSearch10k times SEARCH over a 10,000-message INBOX through the
// IMAP server, one selected connection, warm (the first search of each
// criterion is made before timing and reported as "first-ms").
func BenchmarkSearch10k(b *testing.B) {
	n := benchSearchSize()
	m := newBenchMailbox(b, n)
	b.Logf("delivered %d messages in %v (%.2f ms/message, 4 writers)", n, m.deliver, float64(m.deliver.Microseconds())/1000/float64(n))
	cases := []struct{ name, criteria string }{
		{"SUBJECT", `SUBJECT "topic 42"`},
		{"SUBJECT-utf8", `CHARSET UTF-8 SUBJECT "Straße"`},
		{"FROM", `FROM "sender7@"`},
		{"TO", `TO alice`},
		{"HEADER", `HEADER Message-ID "<77."`},
		{"BODY-rare", `BODY zanzibar`},
		{"BODY-5pct", `BODY quokka`},
		{"BODY-30pct", `BODY marmalade`},
		{"BODY-absent", `BODY xylophonic`},
		{"BODY-short", `BODY zq`},
		{"TEXT-rare", `TEXT zanzibar`},
		{"TEXT-5pct", `TEXT quokka`},
		{"TEXT-absent", `TEXT xylophonic`},
	}
	for _, tc := range cases {
		b.Run(tc.name+"-cold", func(b *testing.B) {
			// Every search after a restart: the process-wide caches are
			// empty, everything comes from the store.
			if !strings.HasPrefix(tc.name, "SUBJECT") && !strings.HasPrefix(tc.name, "BODY-rare") && !strings.HasPrefix(tc.name, "TEXT-rare") {
				b.Skip("cold: SUBJECT, BODY-rare and TEXT-rare only")
			}
			c := m.login(b)
			cpu0, n := cpuTime(), 0
			for b.Loop() {
				resetSearchCaches()
				c.searchCount(tc.criteria)
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
		})
		b.Run(tc.name, func(b *testing.B) {
			c := m.login(b)
			resetSearchCaches()
			start := time.Now()
			hits := c.searchCount(tc.criteria)
			first := time.Since(start)
			b.ResetTimer()
			cpu0, n := cpuTime(), 0
			for b.Loop() {
				c.searchCount(tc.criteria)
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
			b.ReportMetric(float64(hits), "hits")
			b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
		})
	}
}

func resetSearchCaches() { imapserver.ResetSearchCaches() }

// BenchmarkDeliverSearchCorpus times one delivery (serial, SQLite, fsync
// included) of the benchmark corpus's messages; cpu-µs/op is the process
// CPU time per delivery, which a busy machine distorts less than the wall
// clock.
func BenchmarkDeliverSearchCorpus(b *testing.B) {
	st, err := sqlite.Open(sqlite.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateAccount(context.Background(), testUser, "x"); err != nil {
		b.Fatal(err)
	}
	corpus := searchtest.New(2)
	msgs := make([]string, 500)
	for i := range msgs {
		msgs[i] = corpus.Message(i, searchtest.Options{AttachmentRate: 0.1})
	}
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		res, err := st.Deliver(context.Background(), strings.NewReader(msgs[i%len(msgs)]), []store.Target{{Account: testUser}})
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i), "cpu-µs/op")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
