package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSample is one reading of a server's memory, in KiB.
type memSample struct {
	rss   int64 // letterbox: VmRSS; Dovecot: summed VmRSS of its processes
	pss   int64 // Dovecot: summed Pss of its processes (smaps_rollup); letterbox: its Pss
	hwm   int64 // letterbox: VmHWM (peak RSS since start); Dovecot: 0
	procs int   // processes counted
}

// procStatusKiB reads "Key:   N kB" fields of /proc/PID/status (or
// smaps_rollup).
func procKiB(path string, keys ...string) map[string]int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := sc.Text()
		for _, k := range keys {
			if strings.HasPrefix(l, k+":") {
				f := strings.Fields(l[len(k)+1:])
				if len(f) > 0 {
					n, _ := strconv.ParseInt(f[0], 10, 64)
					out[k] = n
				}
			}
		}
	}
	return out
}

// processTree is pid and all its descendants, from the kernel's
// /proc/PID/task/TID/children lists (only the tree's own entries are read).
func processTree(pid int) []int {
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(tree[i]), "task", "*", "children"))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					tree = append(tree, c)
				}
			}
		}
	}
	return tree
}

// readMemory samples the server: one process for letterbox, the master
// and every descendant for Dovecot.
func readMemory(name string, pid int) memSample {
	var m memSample
	if pid == 0 {
		return m
	}
	if name == "letterbox" {
		st := procKiB(filepath.Join("/proc", strconv.Itoa(pid), "status"), "VmRSS", "VmHWM")
		sr := procKiB(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"), "Pss")
		m.rss, m.hwm, m.pss, m.procs = st["VmRSS"], st["VmHWM"], sr["Pss"], 1
		return m
	}
	for _, p := range processTree(pid) {
		sr := procKiB(filepath.Join("/proc", strconv.Itoa(p), "smaps_rollup"), "Rss", "Pss")
		if sr == nil {
			continue // exited meanwhile
		}
		m.rss += sr["Rss"]
		m.pss += sr["Pss"]
		m.procs++
	}
	return m
}

// memStats summarises the samples taken during one run.
type memStats struct {
	base       memSample // before the clients connected
	peak       memSample // largest value of each field during the run
	mean       memSample // mean of rss and pss during the run
	hwmEnd     int64     // letterbox: VmHWM after the run
	samples    int
	maxProcs   int
	perSession float64 // KiB: (peak − base) of the headline figure / clients
}

// sampler reads a server's memory every interval until stopped.
type sampler struct {
	name     string
	pid      int
	interval time.Duration
	stopc    chan struct{}
	done     sync.WaitGroup
	base     memSample
	samples  []memSample
}

func startSampler(name string, pid int, interval time.Duration) *sampler {
	s := &sampler{name: name, pid: pid, interval: interval, stopc: make(chan struct{})}
	s.base = readMemory(name, pid)
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
				s.samples = append(s.samples, readMemory(name, pid))
			}
		}
	}()
	return s
}

// stop ends sampling (taking a last sample) and summarises; clients is
// the number of concurrent sessions the run held.
func (s *sampler) stop(clients int) memStats {
	last := readMemory(s.name, s.pid)
	close(s.stopc)
	s.done.Wait()
	all := append(s.samples, last)
	st := memStats{base: s.base, samples: len(all), hwmEnd: last.hwm}
	for _, m := range all {
		st.peak.rss = max(st.peak.rss, m.rss)
		st.peak.pss = max(st.peak.pss, m.pss)
		st.maxProcs = max(st.maxProcs, m.procs)
		st.mean.rss += m.rss
		st.mean.pss += m.pss
	}
	st.mean.rss /= int64(len(all))
	st.mean.pss /= int64(len(all))
	if clients > 0 {
		st.perSession = float64(headline(s.name, st.peak)-headline(s.name, st.base)) / float64(clients)
	}
	return st
}

// headline is the figure compared: RSS for letterbox (one process), PSS
// summed over Dovecot's processes (their shared pages counted once).
func headline(name string, m memSample) int64 {
	if name == "letterbox" {
		return m.rss
	}
	return m.pss
}
