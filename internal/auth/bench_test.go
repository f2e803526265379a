//go:build linux

package auth

// Benchmarks behind docs/PASSWORDS.md. Run them alone, on an otherwise idle
// machine (about four minutes):
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/auth/
//
// "before" is the service as it was: argon2id m=64 MiB, t=1, p=2 and no
// login cache. "after" is DefaultParams with the cache; "after-nocache"
// shows the new parameters alone (every login hashes).

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// beforeParams were DefaultParams until the login cost was measured.
var beforeParams = Params{Memory: 64 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}

// benchParams: the old and new defaults, and the other candidates of
// docs/PASSWORDS.md (OWASP's first two, RFC 9106's second recommendation).
var benchParams = []struct {
	name string
	p    Params
}{
	{"before-m64MiB-t1-p2", beforeParams},
	{"after-m19MiB-t2-p2", DefaultParams},
	{"owasp-m19MiB-t2-p1", Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}},
	{"owasp-m46MiB-t1-p1", Params{Memory: 46 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
	{"rfc9106-m64MiB-t3-p4", Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}},
}

// minorFaults is the process's page faults served without I/O so far.
func minorFaults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

// cpuTime is the process's CPU time so far, user and system. Reported
// beside wall time because the benchmarks were run on a shared machine:
// CPU time per operation moves much less with other load than latency.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// One argon2id hash with its memory freshly mapped (cold: what a server
// that has been idle pays, after the runtime handed the freed memory back
// to the kernel) or reused from the previous hash (warm).
func BenchmarkHash(b *testing.B) {
	for _, bp := range benchParams {
		phc, err := HashPassword("correct horse", bp.p)
		if err != nil {
			b.Fatal(err)
		}
		for _, cold := range []bool{true, false} {
			name := bp.name + "/warm"
			if cold {
				name = bp.name + "/cold"
			}
			b.Run(name, func(b *testing.B) {
				// Two warm-ups: the heap alternates between two buffers.
				VerifyPassword(phc, "correct horse")
				VerifyPassword(phc, "correct horse")
				var faults int64
				var cpu time.Duration
				for b.Loop() {
					if cold {
						b.StopTimer()
						debug.FreeOSMemory()
						b.StartTimer()
					}
					f, c := minorFaults(), cpuTime()
					VerifyPassword(phc, "correct horse")
					faults += minorFaults() - f
					cpu += cpuTime() - c
				}
				b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
				b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

type benchService struct {
	name   string
	params Params
	opts   Options
}

var benchServices = []benchService{
	{"before", beforeParams, Options{Params: beforeParams, CacheTTL: -1}},
	{"after-nocache", DefaultParams, Options{Params: DefaultParams, CacheTTL: -1}},
	{"after", DefaultParams, Options{Params: DefaultParams}},
}

// benchStore holds n accounts u0…, all with password "pw" hashed with p.
func benchStore(b *testing.B, n int, p Params) *accountStore {
	b.Helper()
	phc, err := HashPassword("pw", p)
	if err != nil {
		b.Fatal(err)
	}
	st := &accountStore{accounts: map[string]store.Account{}}
	for i := range n {
		name := fmt.Sprintf("u%d@example.com", i)
		st.accounts[name] = store.Account{ID: int64(i + 1), Name: name, PasswordHash: phc}
	}
	return st
}

// Logins of one client after another (serial), with the hash memory warm
// or cold before each (cold: a login to a server that was idle), and of 8
// clients at once, each logging in again and again (a reconnecting mail
// client). ms/login is the latency of one login, logins/s the throughput.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	remote := netip.MustParseAddr("192.0.2.1")
	for _, bs := range benchServices {
		modes := []string{"serial-cold", "serial-warm"}
		if bs.opts.CacheTTL >= 0 {
			modes = []string{"serial"} // cache hits: no hash to be cold or warm
		}
		for _, mode := range modes {
			b.Run(bs.name+"/"+mode, func(b *testing.B) {
				svc := New(benchStore(b, 1, bs.params), bs.opts)
				for range 2 { // warm-up, as in BenchmarkHash
					if _, err := svc.Authenticate(ctx, Attempt{Remote: remote, Username: "u0@example.com", Password: "pw"}); err != nil {
						b.Fatal(err)
					}
				}
				var spent, cpu time.Duration
				for b.Loop() {
					if mode == "serial-cold" {
						b.StopTimer()
						debug.FreeOSMemory()
						b.StartTimer()
					}
					t0, c := time.Now(), cpuTime()
					if _, err := svc.Authenticate(ctx, Attempt{Remote: remote, Username: "u0@example.com", Password: "pw"}); err != nil {
						b.Fatal(err)
					}
					spent += time.Since(t0)
					cpu += cpuTime() - c
				}
				b.ReportMetric(spent.Seconds()*1000/float64(b.N), "ms/login")
				b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/login")
			})
		}
		b.Run(bs.name+"/8workers", func(b *testing.B) {
			const workers = 8
			svc := New(benchStore(b, workers, bs.params), bs.opts)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start, c, f := time.Now(), cpuTime(), minorFaults()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					user := fmt.Sprintf("u%d@example.com", w)
					for next.Add(1) <= int64(b.N) {
						if _, err := svc.Authenticate(ctx, Attempt{Remote: remote, Username: user, Password: "pw"}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed, cpu := time.Since(start), cpuTime()-c
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
			b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/login")
			b.ReportMetric(float64(minorFaults()-f)/float64(b.N), "faults/login")
		})
	}
}

// 50 clients log in at the same moment (distinct accounts, no cache):
// peak resident memory of the process during the burst. Hashes beyond
// MaxConcurrentHashes wait in the queue instead of holding their memory.
func BenchmarkLoginBurst50(b *testing.B) {
	ctx := context.Background()
	remote := netip.MustParseAddr("192.0.2.1")
	for _, bs := range benchServices[:2] {
		b.Run(bs.name, func(b *testing.B) {
			const clients = 50
			opts := bs.opts
			opts.MaxFailuresPerIP = 1000 // 50 attempts in flight from one address
			svc := New(benchStore(b, clients, bs.params), opts)
			var peak int64
			for b.Loop() {
				debug.FreeOSMemory()
				resetPeakRSS(b)
				var wg sync.WaitGroup
				for i := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := svc.Authenticate(ctx, Attempt{Remote: remote, Username: fmt.Sprintf("u%d@example.com", i), Password: "pw"}); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				peak = max(peak, peakRSS(b))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peakRSS-MiB")
			b.ReportMetric(float64(svc.hashes.peak), "max-hashes-at-once")
		})
	}
}

// resetPeakRSS resets VmHWM (Linux ≥ 4.0).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset peak RSS: %v", err)
	}
}

// peakRSS reads VmHWM in bytes.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Skip("no VmHWM")
	return 0
}
