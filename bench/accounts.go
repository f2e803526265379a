package main

// The accounts workload: how many accounts and messages one node holds
// comfortably. letterbox (SQLite) and Dovecot each get -accounts accounts
// and -per-account messages in every INBOX (distinct content per account:
// letterbox deduplicates by content), then, in rounds alternating the
// servers, a sample of accounts is opened the way a client opens one,
// asked STATUS, read over POP3, and -sessions accounts are held in IDLE at
// once while deliveries to some of them are timed to their EXISTS. Every
// answer is checked. See bench/README.md.

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// accountsConfig is the accounts workload's flags.
type accountsConfig struct {
	accounts   int
	perAccount int
	sessions   int
	sample     int // accounts timed per round for open, STATUS and POP3
	rounds     int
	senders    int
	seed       uint64
	argon2     string
	bin        string
	keep       bool
	lbSet      map[string]string
	cliSample  int // letterbox accounts created with `letterbox user add`, timed one by one
	idleWait   time.Duration
	idleTarget int // IDLE sessions that get a delivery per round
}

// accountsServer is one server under test.
type accountsServer struct {
	name string // "letterbox" or "dovecot" (also readMemory's kind)
	t    *target
	// count is the messages in each account's INBOX, as delivered.
	count []int
}

func accountName(i int) string { return fmt.Sprintf("u%05d@example.com", i) }

// accountsDovecotConfig lifts Dovecot's process and client limits above
// the concurrent IDLE sessions (one imap process each) and its per-user
// connection limit, as for the other workloads.
func accountsDovecotConfig(sessions int) string {
	return dovecotLimitsConfig(sessions+100, max(1000, 2*sessions+400))
}

// sampler hands out accounts in a seeded order, each once until all have
// been handed out; reused counts the ones handed out again after that.
type accountSampler struct {
	perm   []int
	next   int
	reused int
}

func newAccountSampler(n int, seed uint64) *accountSampler {
	r := rand.New(rand.NewPCG(seed, seed^0x5deece66d))
	return &accountSampler{perm: r.Perm(n)}
}

func (s *accountSampler) take(n int) []int {
	out := make([]int, n)
	for i := range out {
		if s.next >= len(s.perm) {
			s.next = 0
			s.reused += n - i
		}
		out[i] = s.perm[s.next]
		s.next++
	}
	return out
}

func runAccounts(cfg accountsConfig) error {
	began := time.Now()
	rep := &accountsReport{cfg: cfg, loads: []string{"start " + loadavg()}}
	log.Printf("accounts: %d accounts × %d messages, %d IDLE sessions, %d round(s); load average %s",
		cfg.accounts, cfg.perAccount, cfg.sessions, cfg.rounds, loadavg())

	waitCorpus := inBackground(func() (*accountsCorpus, error) { return generateAccountsCorpus(cfg) })

	bin, cleanup := buildLetterbox(cfg.bin)
	defer cleanup()
	hashes, lbSet, hashNote := passwordSetup(cfg.argon2, bin)
	rep.hashNote = hashNote
	liftLetterboxLimits(lbSet, cfg.lbSet)
	m, t, p, ok := phcParams(hashes[sharedUser])
	if !ok {
		return fmt.Errorf("cannot read the argon2 parameters of %q", hashes[sharedUser])
	}

	var servers []*accountsServer
	defer func() {
		for _, s := range servers {
			s.t.stop()
			if !cfg.keep {
				os.RemoveAll(s.t.workspace)
			} else {
				log.Printf("%s workspace kept in %s", s.name, s.t.workspace)
			}
		}
	}()

	// letterbox: served once with no account (to write its configuration
	// and check it starts), stopped, given the accounts, served again.
	lt, err := startLetterboxWith(letterboxOptions{bin: bin, users: map[string]string{}, set: lbSet})
	if err != nil {
		return fmt.Errorf("start letterbox: %w", err)
	}
	lb := &accountsServer{name: "letterbox", t: lt, count: make([]int, cfg.accounts)}
	servers = append(servers, lb)
	lt.stop()
	if rep.lbCreate, err = createLetterboxAccounts(lt, cfg); err != nil {
		return err
	}
	if err := serveLetterbox(lt, ""); err != nil {
		return fmt.Errorf("serve letterbox: %w", err)
	}
	log.Printf("letterbox: %s", rep.lbCreate.summary())

	// Dovecot: one passwd-file line per account, hashed here.
	rep.dcCreate, hashes = dovecotAccountHashes(cfg, m, t, p, hashes[sharedUser])
	users := map[string]string{}
	for i := 0; i < cfg.accounts; i++ {
		users[accountName(i)] = mixedPass
	}
	t0 := time.Now()
	dt, err := startDovecotWith(users, hashes, accountsDovecotConfig(cfg.sessions))
	if err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	rep.dcCreate.start = time.Since(t0)
	dc := &accountsServer{name: "dovecot", t: dt, count: make([]int, cfg.accounts)}
	servers = append(servers, dc)
	log.Printf("dovecot: %s", rep.dcCreate.summary())

	corpus, corpusTook, err := waitCorpus()
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	rep.corpus = corpus
	log.Printf("corpus: %d messages, %.1f MB, generated in %.1fs", len(corpus.msgs), float64(corpus.bytes)/1e6, corpusTook.Seconds())

	order := func(r int) []*accountsServer {
		out := slices.Clone(servers)
		if r%2 == 1 {
			slices.Reverse(out)
		}
		return out
	}
	rows := newAccountsRows(cfg)
	rep.rows = rows

	// Fill: message j of every account, for j in one slice of
	// [0, per-account) per round, to one server and then the other.
	for r := 0; r < cfg.rounds; r++ {
		lo, hi := r*cfg.perAccount/cfg.rounds, (r+1)*cfg.perAccount/cfg.rounds
		if lo == hi {
			continue
		}
		for _, s := range order(r) {
			syscall.Sync()
			d, sent, err := fillAccounts(s, corpus, cfg, lo, hi)
			if err != nil {
				return fmt.Errorf("%s: LMTP fill of messages %d-%d of each account: %w", s.name, lo, hi-1, err)
			}
			n := (hi - lo) * cfg.accounts
			rate := float64(n) / d.Seconds()
			rows.get("lmtp").add(s.name, rate)
			log.Printf("fill %d/%d %-9s %7d messages, %.1f MB in %.1fs: %.0f msg/s (load %s)",
				r+1, cfg.rounds, s.name, n, float64(sent)/1e6, d.Seconds(), rate, loadavg())
		}
	}
	rep.loads = append(rep.loads, "after the fill "+loadavg())
	for _, s := range servers {
		for a := range s.count {
			if s.count[a] != cfg.perAccount {
				return fmt.Errorf("%s: account %d got %d messages, want %d", s.name, a, s.count[a], cfg.perAccount)
			}
		}
		rep.memFill = append(rep.memFill, readMemory(s.name, s.t.pid))
		rep.diskFill = append(rep.diskFill, serverDisk(s))
	}

	sampler := newAccountSampler(cfg.accounts, cfg.seed)
	for r := 0; r < cfg.rounds; r++ {
		rep.loads = append(rep.loads, fmt.Sprintf("round %d %s", r+1, loadavg()))
		log.Printf("round %d/%d (load average %s)", r+1, cfg.rounds, loadavg())
		open, status, pop := sampler.take(cfg.sample), sampler.take(cfg.sample), sampler.take(cfg.sample)
		idle := sampler.take(cfg.sessions)
		for _, ph := range []struct {
			key   string
			accts []int
			run   func(s *accountsServer, a int) (time.Duration, error)
		}{
			{"open", open, func(s *accountsServer, a int) (time.Duration, error) { return openAccount(s, a, corpus) }},
			{"status", status, statusAccount},
			{"pop3", pop, pop3Account},
		} {
			for _, s := range order(r) {
				syscall.Sync()
				var ds []float64
				for _, a := range ph.accts {
					d, err := ph.run(s, a)
					if err != nil {
						return fmt.Errorf("round %d, %s, %s, account %s: %w", r+1, s.name, rows.get(ph.key).label, accountName(a), err)
					}
					ds = append(ds, ms(d))
					rows.get(ph.key).add(s.name, ms(d))
				}
				mid, lo, hi := readsStats(ds)
				log.Printf("round %d %-9s %-8s %d accounts: median %.1f ms (%.1f–%.1f)", r+1, s.name, ph.key, len(ds), mid, lo, hi)
			}
		}
		for _, s := range order(r) {
			syscall.Sync()
			res, err := idleSessions(s, idle, corpus, cfg, r)
			if err != nil {
				return fmt.Errorf("round %d, %s, %d IDLE sessions: %w", r+1, s.name, cfg.sessions, err)
			}
			rows.get("connect").add(s.name, res.connect.Seconds())
			rows.get("mem_sessions").add(s.name, float64(headline(s.name, res.mem))/1024)
			rows.get("per_session").add(s.name, float64(headline(s.name, res.mem)-headline(s.name, res.before))/float64(cfg.sessions))
			for _, d := range res.latency {
				rows.get("idle").add(s.name, ms(d))
			}
			rep.idleMem = append(rep.idleMem, idleMemNote{server: s.name, round: r + 1, before: res.before, with: res.mem})
			log.Printf("round %d %-9s %d sessions connected in %.1fs, %s; EXISTS after delivery p50 %.1f ms, max %.1f ms",
				r+1, s.name, cfg.sessions, res.connect.Seconds(), memText(s.name, res.mem),
				pctl(durMs(res.latency), 50), pctl(durMs(res.latency), 100))
		}
	}
	rep.reused = sampler.reused
	rep.loads = append(rep.loads, "end "+loadavg())
	for _, s := range servers {
		rep.memEnd = append(rep.memEnd, readMemory(s.name, s.t.pid))
		rep.diskEnd = append(rep.diskEnd, serverDisk(s))
		if s.name == "dovecot" {
			rep.dcInotify = countInLog(filepath.Join(s.t.workspace, "dovecot.log"), "notify instance limit")
		}
	}
	rep.inotifyMax = readSysctl("/proc/sys/fs/inotify/max_user_instances")
	rep.elapsed = time.Since(began)
	rep.print()
	return nil
}

// serverDisk is the bytes of the letterbox data directory or Dovecot's
// mail tree (Maildirs and their indexes).
func serverDisk(s *accountsServer) int64 {
	if s.name == "dovecot" {
		return duBytes(filepath.Join(s.t.workspace, "mail"))
	}
	return duBytes(s.t.dataDir)
}

func countInLog(file, needle string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	return strings.Count(strings.ToLower(string(b)), strings.ToLower(needle))
}

func readSysctl(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
