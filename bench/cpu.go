package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// processCPU is the CPU time (user and system) the process tree of pid
// has used: every live process of processTree, plus the root's reaped
// children (Dovecot's master reaps the lmtp and auth processes it
// started). pid 0 is this process alone (the benchmark's own clients). 0
// where /proc cannot be read.
//
// Beside machineBusy it splits the CPU of a delivery into the server's,
// the client's and the rest (kernel threads: writeback, the file system's
// journal, network softirqs run outside a process).
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return statCPU(filepath.Join("/proc", "self", "stat"), false)
	}
	var total time.Duration
	for i, p := range processTree(pid) {
		total += statCPU(filepath.Join("/proc", strconv.Itoa(p), "stat"), i == 0)
	}
	return total
}

// statCPU reads utime and stime (and cutime and cstime when children is
// set) from a /proc/PID/stat file.
func statCPU(path string, children bool) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// fields are counted after its closing one, from field 3 (state).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	last := 15 // stime is field 15, at f[12]; cstime field 17, at f[14]
	if len(f) < last {
		return 0
	}
	ticks := int64(0)
	add := func(k int) {
		if n, err := strconv.ParseInt(f[k], 10, 64); err == nil {
			ticks += n
		}
	}
	add(11) // utime
	add(12) // stime
	if children {
		add(13) // cutime
		add(14) // cstime
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
