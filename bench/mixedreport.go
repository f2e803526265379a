package main

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"
)

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func msStr(d time.Duration) string {
	ms := float64(d.Microseconds()) / 1000
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.2f", ms)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

func memShort(name string, m memStats) string {
	if name == "letterbox" {
		return fmt.Sprintf("RSS %s→%s MiB (HWM %s)", mib(m.base.rss), mib(m.peak.rss), mib(m.hwmEnd))
	}
	return fmt.Sprintf("PSS %s→%s MiB in ≤%d procs", mib(m.base.pss), mib(m.peak.pss), m.maxProcs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratioStr(lb, dc float64) string {
	if lb <= 0 || dc <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", dc/lb)
}

func reportMixed(res map[string]map[string][]*runResult, scenarios []scenario, names []string, cfg mixedConfig, hashNote string, finalHWM int64, elapsed time.Duration) {
	both := len(names) == 2
	fmt.Printf("\nmixed IMAP workload, letterbox vs Dovecot on this machine: %d round(s) of %s per scenario, %d messages of ~%d bytes per INBOX at the start, seed %d (%.0fs in all)\n",
		cfg.rounds, cfg.duration, cfg.messages, cfg.size, cfg.seed, elapsed.Seconds())
	fmt.Printf("passwords: %s\n", hashNote)
	if cfg.dovecotLogin == "performance" {
		fmt.Printf("Dovecot login processes: high-performance mode (service_count = 0, process_min_avail = %d)\n", runtime.NumCPU())
	} else {
		fmt.Println("Dovecot login processes: its default high-security mode (one imap-login process per connection)")
	}
	fmt.Println("latency ratio = Dovecot median / letterbox median; throughput ratio = letterbox / Dovecot: above 1, letterbox is faster.")

	type summary struct {
		sc                 scenario
		lbRate, dcRate     float64
		lbRates, dcRates   []float64
		lbMem, dcMem       memStats
		lbPerSes, dcPerSes float64
		errors             int
	}
	var sums []summary
	for _, sc := range scenarios {
		per := res[sc.String()]
		lat := map[string]map[string][]time.Duration{}
		errs := map[string]map[string]int{}
		var sm summary
		sm.sc = sc
		var samples []string
		for _, name := range names {
			lat[name] = map[string][]time.Duration{}
			errs[name] = map[string]int{}
			var rates, perSes []float64
			var mem memStats
			for _, r := range per[name] {
				for k, v := range r.lat {
					lat[name][k] = append(lat[name][k], v...)
				}
				for k, v := range r.errs {
					errs[name][k] += v
					sm.errors += v
				}
				n := 0
				for _, s := range r.samples {
					if n < errorSamples/2 {
						samples = append(samples, name+": "+s)
						n++
					}
				}
				rates = append(rates, r.rate())
				perSes = append(perSes, r.mem.perSession)
				mem.base.rss = max(mem.base.rss, r.mem.base.rss)
				mem.base.pss = max(mem.base.pss, r.mem.base.pss)
				mem.peak.rss = max(mem.peak.rss, r.mem.peak.rss)
				mem.peak.pss = max(mem.peak.pss, r.mem.peak.pss)
				mem.hwmEnd = max(mem.hwmEnd, r.mem.hwmEnd)
				mem.maxProcs = max(mem.maxProcs, r.mem.maxProcs)
			}
			if name == "letterbox" {
				sm.lbRate, sm.lbRates, sm.lbMem, sm.lbPerSes = median(rates), rates, mem, median(perSes)
			} else {
				sm.dcRate, sm.dcRates, sm.dcMem, sm.dcPerSes = median(rates), rates, mem, median(perSes)
			}
		}
		sums = append(sums, sm)

		fmt.Printf("\n== %s: %s\n", sc, sc.describe())
		fmt.Printf("%-12s %13s | %21s %7s | %15s | %15s | %7s\n", "command", "count lb/dc", "median ms lb / dc", "ratio", "p90 ms lb / dc", "p99 ms lb / dc", "errors")
		fmt.Println(strings.Repeat("-", 107))
		for _, cmd := range commandOrder {
			l, d := lat["letterbox"][cmd], lat["dovecot"][cmd]
			if len(l) == 0 && len(d) == 0 && errs["letterbox"][cmd] == 0 && errs["dovecot"][cmd] == 0 {
				continue
			}
			sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			cell := func(s []time.Duration, p float64) string {
				if len(s) == 0 {
					return "-"
				}
				return msStr(percentile(s, p))
			}
			ratio := "-"
			if both && len(l) > 0 && len(d) > 0 {
				ratio = ratioStr(float64(percentile(l, 0.5)), float64(percentile(d, 0.5)))
			}
			fmt.Printf("%-12s %13s | %10s / %-8s %7s | %6s / %-6s | %6s / %-6s | %3d/%-3d\n", cmd,
				fmt.Sprintf("%d/%d", len(l), len(d)),
				cell(l, 0.5), cell(d, 0.5), ratio, cell(l, 0.9), cell(d, 0.9), cell(l, 0.99), cell(d, 0.99),
				errs["letterbox"][cmd], errs["dovecot"][cmd])
		}
		rates := func(rs []float64) string {
			var s []string
			for _, r := range rs {
				s = append(s, fmt.Sprintf("%.0f", r))
			}
			return strings.Join(s, ", ")
		}
		thr := "-"
		if both {
			thr = ratioStr(sm.dcRate, sm.lbRate)
		}
		what := "all commands, logins and logouts included"
		if sc.stay {
			what = "operations only, logins excluded"
		}
		fmt.Printf("throughput (%s): letterbox %.0f cmd/s [%s], Dovecot %.0f cmd/s [%s], ratio %s\n",
			what, sm.lbRate, rates(sm.lbRates), sm.dcRate, rates(sm.dcRates), thr)
		for _, s := range samples {
			fmt.Printf("  error: %s\n", s)
		}
	}

	fmt.Printf("\n== summary (median of rounds; memory: highest sample over the rounds)\n")
	fmt.Printf("%-22s | %9s %9s %7s | %20s | %21s | %15s | %s\n", "scenario", "lb cmd/s", "dc cmd/s", "ratio",
		"lb RSS MiB base→peak", "dc PSS MiB base→peak", "KiB/session lb/dc", "errors")
	fmt.Println(strings.Repeat("-", 130))
	for _, s := range sums {
		thr := "-"
		if both {
			thr = ratioStr(s.dcRate, s.lbRate)
		}
		fmt.Printf("%-22s | %9.0f %9.0f %7s | %20s | %21s | %15s | %d\n", s.sc, s.lbRate, s.dcRate, thr,
			mib(s.lbMem.base.rss)+"→"+mib(s.lbMem.peak.rss), mib(s.dcMem.base.pss)+"→"+mib(s.dcMem.peak.pss),
			perSession(s.lbPerSes)+"/"+perSession(s.dcPerSes), s.errors)
	}
	if finalHWM > 0 {
		fmt.Printf("\nletterbox peak RSS over the whole benchmark (VmHWM): %s MiB\n", mib(finalHWM))
	}
	fmt.Println("memory: letterbox = VmRSS of its one process; Dovecot = Pss summed over the master and all its children (smaps_rollup),")
	fmt.Println("sampled every", cfg.sampleEvery, "during each run; KiB/session = (peak − value before the clients connected) / clients;")
	fmt.Println("\"<0\": the process held less at its peak than before the run (Go's heap shrank after earlier garbage), so the")
	fmt.Println("sessions' share is below what a garbage-collected heap swings by.")
}

// perSession formats KiB per session; a negative delta says the sessions
// cost less than the heap's swing and is shown as "<0".
func perSession(kib float64) string {
	if kib < 0 {
		return "<0"
	}
	return fmt.Sprintf("%.0f", kib)
}
