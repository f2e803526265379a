package main

// The mixed workload's clients: one goroutine per client, each with its own
// seeded operation mix, checking every answer.

import (
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runScenario runs one scenario on one server and collects latencies,
// errors, throughput and memory.
func runScenario(t *target, sc scenario, cfg mixedConfig, round int, appendSeq *atomic.Int64) *runResult {
	res := &runResult{lat: map[string][]time.Duration{}, errs: map[string]int{}}
	workers := make([]*worker, sc.clients)
	for i := range workers {
		user := sharedUser
		if sc.spread {
			user = spreadUser(i % spreadUsers)
		}
		workers[i] = &worker{
			addr: t.imapAddr, user: user, cfg: cfg, appendSeq: appendSeq,
			rng: mrand.New(mrand.NewPCG(cfg.seed+uint64(round), uint64(i))),
			lat: map[string][]time.Duration{}, errs: map[string]int{},
			minKeep:   max(cfg.messages/2, 10),
			exclusive: sc.spread && sc.clients <= spreadUsers,
			done:      make(chan struct{}),
		}
	}
	smp := startSampler(t.name, t.pid, cfg.sampleEvery)
	var wg sync.WaitGroup
	var start, deadline time.Time
	if sc.stay {
		// Log every client in, then time the operations alone.
		ready := make(chan struct{})
		var loggedIn sync.WaitGroup
		loggedIn.Add(len(workers))
		release := make(chan struct{})
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok := w.open(false, time.Time{})
				loggedIn.Done()
				<-ready
				if ok {
					w.loop(deadline)
				}
				w.loopDone()
				<-release
				if ok {
					w.logout(false)
				}
			}()
		}
		loggedIn.Wait()
		start = time.Now()
		deadline = start.Add(cfg.duration)
		close(ready)
		for _, w := range workers {
			<-w.done
		}
		res.wall = time.Since(start)
		res.mem = smp.stop(sc.clients)
		close(release)
		wg.Wait()
	} else {
		start = time.Now()
		deadline = start.Add(cfg.duration)
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.cycles(deadline)
			}()
		}
		wg.Wait()
		res.wall = time.Since(start)
		res.mem = smp.stop(sc.clients)
	}
	for _, w := range workers {
		for k, v := range w.lat {
			res.lat[k] = append(res.lat[k], v...)
			if k != "CONNECT" {
				res.commands += len(v)
			}
		}
		for k, v := range w.errs {
			res.errs[k] += v
		}
		for _, s := range w.samples {
			if len(res.samples) < errorSamples {
				res.samples = append(res.samples, s)
			}
		}
	}
	return res
}

// worker is one client.
type worker struct {
	addr, user string
	cfg        mixedConfig
	rng        *mrand.Rand
	appendSeq  *atomic.Int64
	minKeep    int
	exclusive  bool // the only client of its mailbox: flag answers are checked exactly
	c          *mclient
	lat        map[string][]time.Duration
	errs       map[string]int
	samples    []string
	doneOnce   sync.Once
	done       chan struct{} // closed when the timed part is over
}

func (w *worker) loopDone() { w.doneOnce.Do(func() { close(w.done) }) }

func (w *worker) fail(cmd, format string, args ...any) {
	w.errs[cmd]++
	if len(w.samples) < 2 {
		w.samples = append(w.samples, fmt.Sprintf("%s (%s): %s", cmd, w.user, fmt.Sprintf(format, args...)))
	}
}

// run times one command and checks it with check (nil: OK is enough).
// It returns false when the connection is unusable.
func (w *worker) run(name, cmd string, literal []byte, check func(mresp) string) (mresp, bool) {
	t0 := time.Now()
	r, err := w.c.do(cmd, literal)
	d := time.Since(t0)
	if err != nil {
		w.fail(name, "%v", err)
		return r, false
	}
	w.lat[name] = append(w.lat[name], d)
	if r.expunged > 0 && (strings.HasPrefix(cmd, "FETCH ") || strings.HasPrefix(cmd, "STORE ") || strings.HasPrefix(cmd, "SEARCH ")) {
		w.fail(name, "%d EXPUNGE responses during %s (RFC 3501 §7.4.1 forbids them)", r.expunged, strings.Fields(cmd)[0])
	}
	if r.status != "OK" {
		w.fail(name, "%s %s", r.status, r.text)
		return r, r.status != "BAD"
	}
	if check != nil {
		if msg := check(r); msg != "" {
			w.fail(name, "%s", msg)
		}
	}
	return r, true
}

// open connects, logs in and selects INBOX; record says whether the
// times count. With a deadline, a connection greeted after it is closed
// before LOGIN.
func (w *worker) open(record bool, deadline time.Time) bool {
	t0 := time.Now()
	c, err := dialM(w.addr)
	if err != nil {
		w.fail("CONNECT", "%v", err)
		return false
	}
	if record {
		w.lat["CONNECT"] = append(w.lat["CONNECT"], time.Since(t0))
	}
	if !deadline.IsZero() && time.Now().After(deadline) {
		// The greeting came after the deadline: give up before LOGIN
		// rather than queue one more password hash behind the run.
		c.close()
		return false
	}
	w.c = c
	saved := w.lat
	if !record {
		w.lat = map[string][]time.Duration{}
	}
	defer func() { w.lat = saved }()
	if r, ok := w.run("LOGIN", "LOGIN "+strconv.Quote(w.user)+" "+strconv.Quote(mixedPass), nil, nil); !ok || r.status != "OK" {
		c.close()
		return false
	}
	r, ok := w.run("SELECT", "SELECT INBOX", nil, func(r mresp) string {
		if w.c.exists < 1 {
			return fmt.Sprintf("INBOX has %d messages", w.c.exists)
		}
		if !strings.Contains(r.text, "READ-WRITE") {
			return "not [READ-WRITE]: " + r.text
		}
		return ""
	})
	if !ok || r.status != "OK" {
		c.close()
		return false
	}
	return true
}

func (w *worker) logout(record bool) {
	saved := w.lat
	if !record {
		w.lat = map[string][]time.Duration{}
	}
	w.run("LOGOUT", "LOGOUT", nil, func(r mresp) string {
		for _, u := range r.untagged {
			if strings.HasPrefix(u, "* BYE") {
				return ""
			}
		}
		return "no * BYE"
	})
	w.lat = saved
	w.c.close()
}

// loop runs operations until the deadline (the logged-in clients).
func (w *worker) loop(deadline time.Time) {
	for time.Now().Before(deadline) {
		if !w.op() {
			return
		}
	}
}

// cycles connects, logs in, selects, runs opsPerCycle operations and logs
// out, again and again until the deadline (the reconnecting clients). A
// cycle stopped by the deadline still logs out.
func (w *worker) cycles(deadline time.Time) {
	defer w.loopDone()
	for time.Now().Before(deadline) {
		if !w.open(true, deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		ok := true
		for i := 0; i < w.cfg.opsPerCycle && ok && time.Now().Before(deadline); i++ {
			ok = w.op()
		}
		if ok {
			w.logout(true)
		} else {
			w.c.close()
		}
	}
}

// The operation mix, in percent.
var opMix = []struct {
	name   string
	weight int
}{
	{"FETCH flags", 24}, {"FETCH body", 16}, {"STORE", 14}, {"SEARCH", 10},
	{"APPEND", 10}, {"COPY", 8}, {"EXPUNGE", 10}, {"NOOP", 8},
}

// op runs one operation drawn from the mix; false means the connection
// broke.
func (w *worker) op() bool {
	n := w.rng.IntN(100)
	var name string
	for _, o := range opMix {
		if n < o.weight {
			name = o.name
			break
		}
		n -= o.weight
	}
	// Numbers drawn whatever the operation, so each client's sequence of
	// draws does not depend on the server's answers.
	a, b, c := w.rng.IntN(1<<20), w.rng.IntN(1<<20), w.rng.IntN(1<<20)
	exists := w.c.exists
	if exists < 1 || (name == "EXPUNGE" && exists <= w.minKeep) {
		name = "APPEND"
	}
	seq := 1 + a%max(exists, 1)
	var ok bool
	switch name {
	case "FETCH flags":
		lo := seq
		hi := min(exists, lo+19)
		_, ok = w.run(name, fmt.Sprintf("FETCH %d:%d (FLAGS)", lo, hi), nil, func(r mresp) string {
			seen := map[int]bool{}
			for _, f := range r.fetches() {
				if s := fetchSeq(f); s >= lo && s <= hi && strings.Contains(f, "FLAGS (") {
					seen[s] = true
				}
			}
			if len(seen) != hi-lo+1 {
				return fmt.Sprintf("FETCH %d:%d returned flags of %d messages", lo, hi, len(seen))
			}
			return ""
		})
	case "FETCH body":
		_, ok = w.run(name, fmt.Sprintf("FETCH %d BODY.PEEK[]", seq), nil, func(r mresp) string {
			for _, f := range r.fetches() {
				if fetchSeq(f) == seq {
					if n := literalLen(f); n < 100 {
						return fmt.Sprintf("FETCH %d BODY.PEEK[] answered %.80q", seq, f)
					}
					return ""
				}
			}
			return fmt.Sprintf("FETCH %d BODY.PEEK[] got OK and no FETCH response for %d", seq, seq)
		})
	case "STORE":
		op := "+FLAGS"
		if b%2 == 1 {
			op = "-FLAGS"
		}
		// A FETCH comes back only when the flags changed (both servers):
		// when it does, it must show the change, unless another client
		// may have changed them too.
		_, ok = w.run(name, fmt.Sprintf("STORE %d %s (\\Flagged)", seq, op), nil, func(r mresp) string {
			for _, f := range r.fetches() {
				if fetchSeq(f) == seq && strings.Contains(f, "FLAGS (") && w.exclusive {
					if strings.Contains(f, `\Flagged`) != (op == "+FLAGS") {
						return fmt.Sprintf("STORE %d %s answered %q", seq, op, strings.TrimSpace(f))
					}
				}
			}
			return ""
		})
	case "SEARCH":
		var q string
		switch b % 3 {
		case 0:
			q = "FLAGGED"
		case 1:
			q = fmt.Sprintf("SUBJECT \"topic %d\"", c%97)
		default:
			q = fmt.Sprintf("FROM \"sender%d@\"", c%50)
		}
		_, ok = w.run(name, "SEARCH "+q, nil, func(r mresp) string {
			nums, found := r.searchResults()
			if !found {
				return "no * SEARCH response"
			}
			for _, n := range nums {
				if n < 1 || n > w.c.exists {
					return fmt.Sprintf("SEARCH %s returned %d, mailbox has %d", q, n, w.c.exists)
				}
			}
			return ""
		})
	case "APPEND":
		msg := benchMessage(1_000_000+int(w.appendSeq.Add(1)), w.cfg.size)
		_, ok = w.run(name, fmt.Sprintf("APPEND INBOX {%d}", len(msg)), msg, func(r mresp) string {
			if !strings.Contains(r.text, "APPENDUID") {
				return "no APPENDUID: " + r.text
			}
			return ""
		})
	case "COPY":
		// No COPYUID is allowed when nothing was copied: another client
		// expunged the message meanwhile (RFC 4315 §3).
		_, ok = w.run(name, fmt.Sprintf("COPY %d %s", seq, archiveBox), nil, nil)
	case "EXPUNGE":
		// The last message (most likely one a client appended) gets
		// \Deleted, then EXPUNGE; the STORE is timed as a STORE.
		if _, ok = w.run("STORE", fmt.Sprintf("STORE %d +FLAGS.SILENT (\\Deleted)", exists), nil, nil); !ok {
			return false
		}
		_, ok = w.run(name, "EXPUNGE", nil, func(r mresp) string {
			if r.expunged < 1 {
				return "no message expunged after STORE \\Deleted"
			}
			return ""
		})
	case "NOOP":
		_, ok = w.run(name, "NOOP", nil, nil)
	}
	return ok
}
