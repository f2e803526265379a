package main

// The scale workload: the same reads on one mailbox at several sizes
// (default 10,000 and 100,000 messages), on letterbox with each store
// driver asked for and optionally on Dovecot, and the ratio between the
// largest and the smallest size for every read. The mailbox grows in
// place: the corpus up to the first size is delivered, the reads are
// timed, the rest up to the next size is delivered, and so on. Every
// answer is checked (message counts, SEARCH hit counts). See
// bench/README.md.

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scaleConfig is the scale workload's flags.
type scaleConfig struct {
	sizes   []int    // ascending
	drivers []string // letterbox store drivers: sqlite, postgres
	dovecot bool
	rounds  int
	senders int
	seed    uint64
	attach  float64 // share of corpus messages with a 100-500 KB attachment
	subject string
	body    string
	argon2  string
	bin     string
	keep    bool
	lbSet   map[string]string
	pgDSN   string
	profile string // directory for letterbox CPU profiles of SELECT at each size
	// reuse is the workspace a -keep run left (one letterbox on SQLite):
	// it is served again with this run's binary, and only what the
	// mailbox lacks up to each size is delivered.
	reuse string
}

// scaleServer is one server under test.
type scaleServer struct {
	name   string // letterbox-sqlite, letterbox-postgres, dovecot
	kind   string // "letterbox" or "dovecot" (for readMemory)
	t      *target
	pprof  string
	pgDSN  string // letterbox-postgres: the DSN with its schema
	schema string
	drop   func() error
	filled int
}

// scaleWork is one timed read; it returns milliseconds.
type scaleWork struct {
	key, label string
	target     string // what the ratio must stay under, for the report
	limit      float64
}

var scaleWorks = []scaleWork{
	{key: "select", label: "SELECT INBOX (fresh session)", target: "≤ 2×", limit: 2},
	{key: "status", label: "STATUS INBOX (MESSAGES UIDNEXT UNSEEN), before SELECT", target: "≤ 10×", limit: 10},
	{key: "uid_flags", label: "UID FETCH 1:* (UID FLAGS)", target: "≤ 10×", limit: 10},
	{key: "fetch_env", label: "warm FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)", target: "≤ 10×", limit: 10},
	{key: "subject", label: "SEARCH SUBJECT", target: "≤ 10×", limit: 10},
	{key: "body", label: "SEARCH BODY", target: "≤ 10×", limit: 10},
	{key: "pop3", label: "POP3 STAT + LIST (after login)", target: "≤ 10×", limit: 10},
}

// scaleResult holds samples: server → size → work key → values.
type scaleResult map[string]map[int]map[string][]float64

func (r scaleResult) add(server string, size int, key string, v float64) {
	if r[server] == nil {
		r[server] = map[int]map[string][]float64{}
	}
	if r[server][size] == nil {
		r[server][size] = map[string][]float64{}
	}
	r[server][size][key] = append(r[server][size][key], v)
}

func runScale(cfg scaleConfig) error {
	began := time.Now()
	loads := []string{"start " + loadavg()}
	maxN := cfg.sizes[len(cfg.sizes)-1]
	log.Printf("scale: sizes %v, letterbox drivers %v, Dovecot %v, %d round(s); load average %s",
		cfg.sizes, cfg.drivers, cfg.dovecot, cfg.rounds, loadavg())
	queries := []*readsQuery{
		{key: "subject", criteria: "SUBJECT " + strconv.Quote(cfg.subject), needle: strings.ToLower(cfg.subject)},
		{key: "body", criteria: "BODY " + strconv.Quote(cfg.body), needle: strings.ToLower(cfg.body)},
	}
	waitCorpus := inBackground(func() (*readsCorpus, error) { return generateCorpus(maxN, cfg.seed, cfg.attach, queries) })

	bin, cleanup := buildLetterbox(cfg.bin)
	defer cleanup()
	hashes, lbSet, hashNote := passwordSetup(cfg.argon2, bin)
	liftLetterboxLimits(lbSet, cfg.lbSet)
	users := map[string]string{sharedUser: mixedPass}

	var servers []*scaleServer
	defer func() {
		for _, s := range servers {
			s.t.stop()
			if !cfg.keep && cfg.reuse == "" {
				os.RemoveAll(s.t.workspace)
				if s.drop != nil {
					if err := s.drop(); err != nil {
						log.Printf("%s: dropping schema %s: %v", s.name, s.schema, err)
					}
				}
			} else {
				log.Printf("%s workspace kept in %s (schema %s)", s.name, s.t.workspace, s.schema)
			}
		}
	}()
	for _, drv := range cfg.drivers {
		s := &scaleServer{name: "letterbox-" + drv, kind: "letterbox"}
		set := map[string]string{}
		for k, v := range lbSet {
			set[k] = v
		}
		if drv == "postgres" {
			dsn, schema, drop, err := pgSchema(cfg.pgDSN)
			if err != nil {
				return err
			}
			s.pgDSN, s.schema, s.drop = dsn, schema, drop
			set["driver"] = `"postgres"`
			set["dsn"] = strconv.Quote(dsn)
		}
		if cfg.profile != "" {
			ports, err := freePortAddr()
			if err != nil {
				return err
			}
			s.pprof = ports
		}
		var t *target
		var err error
		if cfg.reuse != "" {
			t, err = reuseLetterbox(cfg.reuse, bin, s.pprof)
		} else {
			t, err = startLetterboxWith(letterboxOptions{bin: bin, users: users, set: set, pprof: s.pprof})
		}
		if err != nil {
			if s.drop != nil {
				s.drop()
			}
			return fmt.Errorf("start %s: %w", s.name, err)
		}
		t.user, t.pass = sharedUser, mixedPass
		s.t = t
		servers = append(servers, s)
	}
	if cfg.dovecot {
		t, err := startDovecotWith(users, hashes, readsDovecotConfig)
		if err != nil {
			return fmt.Errorf("start dovecot: %w", err)
		}
		t.user, t.pass = sharedUser, mixedPass
		servers = append(servers, &scaleServer{name: "dovecot", kind: "dovecot", t: t})
	}
	corpus, corpusTook, err := waitCorpus()
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	log.Printf("corpus: %d messages, %.1f MB (%d with an attachment), generated in %.1fs; passwords: %s",
		len(corpus.msgs), float64(corpus.bytes)/1e6, corpus.attach, corpusTook.Seconds(), hashNote)

	res := scaleResult{}
	lmtp := map[string]map[int]float64{}
	mem := map[string]map[int]memSample{}
	disk := map[string]map[int]int64{}
	prev := 0
	for _, n := range cfg.sizes {
		hits := map[string]int{}
		for _, q := range queries {
			for _, h := range q.hit[:n] {
				if h {
					hits[q.key]++
				}
			}
		}
		for _, s := range servers {
			if cfg.reuse != "" {
				have, err := statusMessages(s.t)
				if err != nil {
					return err
				}
				if have > n || (have != 0 && have < prev) {
					return fmt.Errorf("%s: the reused mailbox has %d messages, between no size of %v", s.name, have, cfg.sizes)
				}
				if have == n {
					log.Printf("%s: the reused mailbox has its %d messages", s.name, n)
					s.filled = n
					continue
				}
				prev = max(prev, have)
			}
			syscall.Sync()
			d, sent, err := deliverCorpus(s.t.lmtpAddr, s.t.user, corpus.msgs, prev, n, cfg.senders)
			if err != nil {
				return fmt.Errorf("%s: LMTP delivery of messages %d-%d: %w", s.name, prev, n-1, err)
			}
			rate := float64(n-prev) / d.Seconds()
			if lmtp[s.name] == nil {
				lmtp[s.name] = map[int]float64{}
			}
			lmtp[s.name][n] = rate
			log.Printf("fill %-18s LMTP messages %d-%d, %.1f MB in %.1fs: %.0f msg/s (load %s)",
				s.name, prev, n-1, float64(sent)/1e6, d.Seconds(), rate, loadavg())
			s.filled = n
		}
		loads = append(loads, fmt.Sprintf("after the fill to %d: %s", n, loadavg()))
		// Warm-up, untimed: one pass of everything (Dovecot builds its
		// index cache; letterbox fills its structure caches).
		for _, s := range servers {
			t0 := time.Now()
			if _, err := scaleRound(s, n, hits, queries); err != nil {
				return fmt.Errorf("%s at %d messages, warm-up: %w", s.name, n, err)
			}
			log.Printf("warm-up %-18s at %d: %.1fs", s.name, n, time.Since(t0).Seconds())
		}
		for r := 0; r < cfg.rounds; r++ {
			loads = append(loads, fmt.Sprintf("%d round %d: %s", n, r+1, loadavg()))
			ord := servers
			if r%2 == 1 {
				ord = make([]*scaleServer, len(servers))
				for i := range servers {
					ord[i] = servers[len(servers)-1-i]
				}
			}
			for _, s := range ord {
				syscall.Sync()
				v, err := scaleRound(s, n, hits, queries)
				if err != nil {
					return fmt.Errorf("%s at %d messages, round %d: %w", s.name, n, r+1, err)
				}
				var parts []string
				for _, w := range scaleWorks {
					res.add(s.name, n, w.key, v[w.key])
					parts = append(parts, fmt.Sprintf("%s %.1f", w.key, v[w.key]))
				}
				log.Printf("round %d %-18s %6d msgs: %s ms", r+1, s.name, n, strings.Join(parts, ", "))
			}
		}
		for _, s := range servers {
			if mem[s.name] == nil {
				mem[s.name], disk[s.name] = map[int]memSample{}, map[int]int64{}
			}
			mem[s.name][n] = readMemory(s.kind, s.t.pid)
			switch {
			case s.schema != "":
				b, err := pgSchemaBytes(cfg.pgDSN, s.schema)
				if err != nil {
					log.Printf("%s: schema size: %v", s.name, err)
				}
				disk[s.name][n] = b + duBytes(s.t.dataDir)
			case s.kind == "dovecot":
				disk[s.name][n] = duBytes(filepath.Join(s.t.workspace, "mail"))
			default:
				disk[s.name][n] = duBytes(s.t.dataDir)
			}
			if s.pprof != "" {
				file := filepath.Join(cfg.profile, fmt.Sprintf("%s-select-%d.pprof", s.name, n))
				if err := profileSelects(s, file); err != nil {
					log.Printf("%s: profile: %v", s.name, err)
				} else {
					log.Printf("%s: CPU profile of repeated SELECTs at %d messages in %s", s.name, n, file)
				}
			}
		}
		prev = n
	}
	reportScale(cfg, corpus, servers, res, lmtp, mem, disk, loads, hashNote, time.Since(began))
	return nil
}

// scaleRound runs every read once on s (n messages in INBOX) and returns
// the milliseconds of each.
func scaleRound(s *scaleServer, n int, hits map[string]int, queries []*readsQuery) (map[string]float64, error) {
	out := map[string]float64{}
	c, err := dialLogin(s.t.imapAddr, s.t.user, s.t.pass, false)
	if err != nil {
		return nil, err
	}
	defer c.logout()
	var messages int64 = -1
	d, err := c.do("STATUS INBOX (MESSAGES UIDNEXT UNSEEN)", false, func(p *rresp) error {
		if v, ok := numAfter(p.text, "MESSAGES "); ok {
			messages = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if messages != int64(n) {
		return nil, fmt.Errorf("STATUS: MESSAGES %d, want %d", messages, n)
	}
	out["status"] = ms(d)
	exists := -1
	d, err = c.do("SELECT INBOX", false, func(p *rresp) error {
		f := bytes.Fields(p.text)
		if len(f) == 3 && string(f[2]) == "EXISTS" {
			exists, _ = strconv.Atoi(string(f[1]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if exists != n {
		return nil, fmt.Errorf("SELECT: %d EXISTS, want %d", exists, n)
	}
	out["select"] = ms(d)
	for _, f := range []struct{ key, cmd, must string }{
		{"uid_flags", "UID FETCH 1:* (UID FLAGS)", "FLAGS ("},
		{"fetch_env", "FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)", "BODYSTRUCTURE ("},
	} {
		seen := make([]bool, n+1)
		count := 0
		d, err := c.do(f.cmd, false, func(p *rresp) error {
			seq, ok := fetchSeqOf(p.text)
			if !ok {
				return nil
			}
			if seq < 1 || seq > n || seen[seq] {
				return fmt.Errorf("FETCH response for message %d of %d (or twice)", seq, n)
			}
			if !bytes.Contains(p.text, []byte(f.must)) {
				return fmt.Errorf("message %d: no %q in %.200q", seq, f.must, p.text)
			}
			seen[seq] = true
			count++
			return nil
		})
		if err != nil {
			return nil, err
		}
		if count != n {
			return nil, fmt.Errorf("%s: %d FETCH responses, want %d", f.cmd, count, n)
		}
		out[f.key] = ms(d)
	}
	for _, q := range queries {
		got := 0
		d, err := c.do("SEARCH "+q.criteria, false, func(p *rresp) error {
			if nums, ok := searchNumbers(p.text); ok {
				got += len(nums)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if got != hits[q.key] {
			return nil, fmt.Errorf("SEARCH %s: %d hits, the corpus has %d", q.criteria, got, hits[q.key])
		}
		out[q.key] = ms(d)
	}
	pd, count, err := pop3StatList(s.t.pop3Addr, s.t.user, s.t.pass)
	if err != nil {
		return nil, fmt.Errorf("POP3: %w", err)
	}
	if count != n {
		return nil, fmt.Errorf("POP3 STAT/LIST: %d messages, want %d", count, n)
	}
	out["pop3"] = ms(pd)
	return out, nil
}

// pop3StatList logs in over POP3 (untimed) and times STAT and LIST to the
// end of LIST's listing; it returns the number of messages LIST listed,
// after checking STAT agrees.
func pop3StatList(addr, user, pass string) (time.Duration, int, error) {
	c, err := pop3Login(addr, user, pass, readsBufSize)
	if err != nil {
		return 0, 0, err
	}
	defer c.quit()
	start := time.Now()
	stat, err := c.stat()
	if err != nil {
		return 0, 0, err
	}
	if _, err := c.cmd("LIST"); err != nil {
		return 0, 0, err
	}
	listed := 0
	for {
		l, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, 0, fmt.Errorf("LIST: %w", err)
		}
		if string(l) == ".\r\n" {
			break
		}
		listed++
	}
	d := time.Since(start)
	if stat != listed {
		return 0, 0, fmt.Errorf("STAT says %d messages, LIST lists %d", stat, listed)
	}
	return d, listed, nil
}

// profileSelects takes a 10-second CPU profile of s while one session
// SELECTs INBOX over and over.
func profileSelects(s *scaleServer, file string) error {
	c, err := dialLogin(s.t.imapAddr, s.t.user, s.t.pass, false)
	if err != nil {
		return err
	}
	defer c.logout()
	done := make(chan error, 1)
	go func() { done <- fetchProfile(s.pprof, "profile?seconds=10", file) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.do("SELECT INBOX", false, nil); err != nil {
			return err
		}
	}
	return <-done
}

func freePortAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func reportScale(cfg scaleConfig, corpus *readsCorpus, servers []*scaleServer, res scaleResult,
	lmtp map[string]map[int]float64, mem map[string]map[int]memSample, disk map[string]map[int]int64,
	loads []string, hashNote string, elapsed time.Duration) {
	lo, hi := cfg.sizes[0], cfg.sizes[len(cfg.sizes)-1]
	fmt.Printf("\nscale workload on this machine (%d CPUs): one INBOX grown to %s messages (corpus %.1f MB at %d, %d with a 100-500 KB attachment: attachment rate %.2f; searchtest seed %d), median of %d round(s), %.0fs in all\n",
		runtime.NumCPU(), joinInts(cfg.sizes), float64(corpus.bytes)/1e6, hi, corpus.attach, cfg.attach, cfg.seed, cfg.rounds, elapsed.Seconds())
	fmt.Printf("passwords: %s\n", hashNote)
	fmt.Printf("load average (1, 5, 15 min): %s\n", strings.Join(loads, "; "))
	for _, s := range servers {
		fmt.Printf("\n%s\n\n", s.name)
		head := "| read |"
		sep := "| --- |"
		for _, n := range cfg.sizes {
			head += fmt.Sprintf(" %d messages, ms median (min–max) |", n)
			sep += " --- |"
		}
		fmt.Printf("%s %d/%d | target | result |\n%s --- | --- | --- |\n", head, hi, lo, sep)
		for _, w := range scaleWorks {
			line := "| " + w.label + " |"
			for _, n := range cfg.sizes {
				m, l, h := readsStats(res[s.name][n][w.key])
				line += fmt.Sprintf(" %s (%s–%s) |", fmtVal(m), fmtVal(l), fmtVal(h))
			}
			ml, _, _ := readsStats(res[s.name][lo][w.key])
			mh, _, _ := readsStats(res[s.name][hi][w.key])
			ratio, result := "-", "-"
			if ml > 0 {
				x := mh / ml
				ratio = fmt.Sprintf("%.2f×", x)
				result = "pass"
				if x > w.limit {
					result = "miss"
				}
			}
			fmt.Printf("%s %s | %s | %s |\n", line, ratio, w.target, result)
		}
		for _, n := range cfg.sizes {
			m := mem[s.name][n]
			memText := fmt.Sprintf("RSS %.1f MiB, peak RSS %.1f MiB", float64(m.rss)/1024, float64(m.hwm)/1024)
			if s.kind == "dovecot" {
				memText = fmt.Sprintf("RSS %.1f MiB, PSS %.1f MiB over %d processes", float64(m.rss)/1024, float64(m.pss)/1024, m.procs)
			}
			where := "data directory"
			if s.schema != "" {
				where = "PostgreSQL schema + data directory"
			} else if s.kind == "dovecot" {
				where = "Maildir"
			}
			fmt.Printf("\nat %d messages: LMTP fill %.0f msg/s (%d senders); %s after the reads; %s %.1f MB = %.1f KB/message",
				n, lmtp[s.name][n], cfg.senders, memText, where, float64(disk[s.name][n])/1e6, float64(disk[s.name][n])/1e3/float64(n))
		}
		fmt.Println()
	}
	fmt.Println("\nEvery read is timed from the command to its tagged OK (POP3: from STAT to the end of LIST) on one session at a time, after an untimed warm-up pass at each size; the ratio is the median at the largest size over the median at the smallest.")
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ", ")
}

// reuseLetterbox serves the workspace of an earlier -keep run again with
// bin: its data directory and configuration (ports included).
func reuseLetterbox(ws, bin, pprof string) (*target, error) {
	configPath := filepath.Join(ws, "letterbox.toml")
	b, err := os.ReadFile(configPath)
	if err != nil {
		return nil, err
	}
	cfg := string(b)
	addr := func(key string) (string, error) {
		for _, l := range strings.Split(cfg, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
				return strings.Trim(strings.TrimSpace(v), `"`), nil
			}
		}
		return "", fmt.Errorf("%s: no %s listener", configPath, key)
	}
	t := &target{name: "letterbox", user: sharedUser, pass: mixedPass, workspace: ws, config: cfg, bin: bin,
		dataDir: filepath.Join(ws, "data"), configPath: configPath}
	for _, x := range []struct {
		key string
		p   *string
	}{{"lmtp", &t.lmtpAddr}, {"imap", &t.imapAddr}, {"pop3", &t.pop3Addr}} {
		if *x.p, err = addr(x.key); err != nil {
			return nil, err
		}
	}
	if err := serveLetterbox(t, pprof); err != nil {
		return nil, err
	}
	return t, nil
}

// statusMessages is the number of messages in t's INBOX.
func statusMessages(t *target) (int, error) {
	c, err := dialLogin(t.imapAddr, t.user, t.pass, false)
	if err != nil {
		return 0, err
	}
	defer c.logout()
	n := int64(-1)
	if _, err := c.do("STATUS INBOX (MESSAGES)", false, func(p *rresp) error {
		if v, ok := numAfter(p.text, "MESSAGES "); ok {
			n = v
		}
		return nil
	}); err != nil {
		return 0, err
	}
	return int(n), nil
}
