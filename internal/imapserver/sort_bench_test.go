package imapserver_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// sortBenchMessages makes n messages for the SORT/THREAD benchmark: about
// 1-4 KB each, subjects from 500 topics with Re:/Fwd:/[list] prefixes,
// 300 senders, dates spread over two years (2% without a Date), and 60%
// replying to an earlier message (References chains, some In-Reply-To
// only), so that THREAD REFERENCES builds real threads.
func sortBenchMessages(n int) []string {
	rng := rand.New(rand.NewPCG(7, 11))
	msgs := make([]string, n)
	base := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	refs := make([]string, n) // each message's References value for its replies
	for i := range msgs {
		var b strings.Builder
		topic := rng.IntN(500)
		prefix := []string{"", "", "Re: ", "RE: Re: ", "Fwd: ", "[list] ", "[list] Re: "}[rng.IntN(7)]
		fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\n", rng.IntN(300), rng.IntN(300))
		fmt.Fprintf(&b, "To: user%d@example.com\r\n", rng.IntN(50))
		if rng.IntN(4) == 0 {
			fmt.Fprintf(&b, "Cc: cc%d@example.net\r\n", rng.IntN(80))
		}
		fmt.Fprintf(&b, "Subject: %stopic number %d\r\n", prefix, topic)
		if rng.IntN(50) != 0 {
			d := base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
			fmt.Fprintf(&b, "Date: %s\r\n", d.Format(time.RFC1123Z))
		}
		id := fmt.Sprintf("<%d.%d@bench.example>", i, rng.IntN(1e6))
		fmt.Fprintf(&b, "Message-ID: %s\r\n", id)
		refs[i] = id
		if i > 0 && rng.IntN(10) < 6 {
			p := rng.IntN(i)
			if rng.IntN(8) == 0 {
				fmt.Fprintf(&b, "In-Reply-To: %s\r\n", strings.Fields(refs[p])[len(strings.Fields(refs[p]))-1])
			} else {
				chain := refs[p]
				if f := strings.Fields(chain); len(f) > 10 {
					chain = strings.Join(f[len(f)-10:], " ")
				}
				fmt.Fprintf(&b, "References: %s\r\n", chain)
				refs[i] = chain + " " + id
			}
		}
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
		for range 20 + rng.IntN(60) {
			b.WriteString("Some text of the message body, line by line.\r\n")
		}
		msgs[i] = b.String()
	}
	return msgs
}

// sortBenchCommands are what BenchmarkSort10k times.
var sortBenchCommands = []struct{ name, cmd string }{
	{"DATE", "SORT (REVERSE DATE) UTF-8 ALL"}, // Roundcube, every page view
	{"SUBJECT", "SORT (SUBJECT) UTF-8 ALL"},
	{"FROM", "SORT (FROM) UTF-8 ALL"},
	{"THREAD-REFERENCES", "THREAD REFERENCES UTF-8 ALL"},
}

// BenchmarkSort10k times SORT and THREAD over a 10,000-message INBOX
// through the IMAP server, warm (the first run after emptying the caches
// is reported as "first-ms"). With LETTERBOX_SORT_BENCH_DOVECOT=1 the same
// messages are appended to a throwaway Dovecot and the same commands
// timed there (wall clock per command, as "dovecot-ms" and "ratio",
// letterbox's wall clock over Dovecot's).
func BenchmarkSort10k(b *testing.B) {
	n := benchSearchSize()
	msgs := sortBenchMessages(n)
	m := newBenchMailboxWith(b, msgs)
	var dv *benchClient
	var dovecotPID int
	if os.Getenv("LETTERBOX_SORT_BENCH_DOVECOT") != "" {
		dv, dovecotPID = dovecotWith(b, msgs)
	}
	for _, tc := range sortBenchCommands {
		b.Run(tc.name, func(b *testing.B) {
			c := m.login(b)
			resetSearchCaches()
			start := time.Now()
			c.cmd("%s", tc.cmd)
			first := time.Since(start)
			b.ResetTimer()
			cpu0, k := cpuTime(), 0
			wall0 := time.Now()
			for b.Loop() {
				c.cmd("%s", tc.cmd)
				k++
			}
			wall := time.Since(wall0)
			b.StopTimer()
			lcpu := float64((cpuTime() - cpu0).Microseconds()) / 1000 / float64(k)
			b.ReportMetric(lcpu, "cpu-ms/op")
			b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
			if dv != nil {
				// Dovecot's CPU time is its processes' (the master's
				// children: imap, auth, ...) from /proc, at 10 ms
				// resolution; the loaded machine makes wall clocks
				// useless for a ratio.
				b.StopTimer()
				dv.cmd("%s", tc.cmd) // warm Dovecot's cache too
				d0, c0 := time.Now(), dovecotCPU(dovecotPID)
				const rounds = 20
				for range rounds {
					dv.cmd("%s", tc.cmd)
				}
				dms := float64(time.Since(d0).Microseconds()) / 1000 / rounds
				dcpu := float64((dovecotCPU(dovecotPID) - c0).Microseconds()) / 1000 / rounds
				lms := float64(wall.Microseconds()) / 1000 / float64(k)
				b.ReportMetric(dms, "dovecot-ms")
				b.ReportMetric(dcpu, "dovecot-cpu-ms")
				b.ReportMetric(lms/dms, "wall-ratio")
				b.ReportMetric(lcpu/dcpu, "cpu-ratio")
			}
		})
	}
}

// dovecotWith starts a throwaway Dovecot, appends msgs to its INBOX and
// returns a client with INBOX selected and the master's PID.
func dovecotWith(b *testing.B, msgs []string) (*benchClient, int) {
	s := dovecottest.StartT(b, dovecottest.Options{Users: map[string]string{"u": "p"}})
	nc, err := net.Dial("tcp", s.IMAP)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	c := &benchClient{tb: b, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	if _, err := c.br.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	c.cmd("LOGIN u p")
	for _, msg := range msgs {
		c.cmd("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
	}
	c.cmd("SELECT INBOX")
	return c, masterPID(filepath.Join(s.Dir, "dovecot.conf"))
}

// masterPID finds the Dovecot master started with the configuration
// conf, 0 when none.
func masterPID(conf string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), conf) && strings.HasSuffix(strings.Split(string(cmdline), "\x00")[0], "dovecot") {
			return pid
		}
	}
	return 0
}

// dovecotCPU sums the user and system CPU time of master's children.
func dovecotCPU(master int) time.Duration {
	var ticks int64
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" of the command: state ppid ... utime(14) stime(15).
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat)[i+1:])
		if len(f) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != master {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += ut + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
