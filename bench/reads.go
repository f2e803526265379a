package main

// The reads workload: one mailbox of a deterministic corpus on letterbox
// and on Dovecot, and one client at a time timing the big reads (FETCH,
// SEARCH, BODY[] streaming, POP3), STORE over the whole mailbox, LOGIN
// latency and logins per second, and the LMTP delivery that filled it.
// Every answer is checked against the corpus. See bench/README.md.

import (
	"bytes"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
)

// readsConfig is the reads workload's flags.
type readsConfig struct {
	messages     int
	rounds       int
	senders      int // concurrent LMTP connections
	loginSamples int // sequential LOGINs timed per round and server
	logins       int // logins per round in the concurrent login run
	loginWorkers int
	seed         uint64
	subject      string
	from         string
	body         string
	text         string
	argon2       string
	bin          string
	keep         bool
	lbSet        map[string]string
	drivers      []string // letterbox store drivers: sqlite, postgres
	pgDSN        string   // database for the postgres driver
	profileDir   string   // -profile: CPU profiles of letterbox at the end (see profileReads)
}

// readsLetterboxName is the column of letterbox on driver: "letterbox"
// for SQLite (the default), "letterbox-pg" for PostgreSQL.
func readsLetterboxName(driver string) string {
	if driver == "postgres" {
		return "letterbox-pg"
	}
	return "letterbox"
}

// readsRow is one line of the result table.
type readsRow struct {
	key, label string
	unit       string
	higher     bool    // higher is better (a rate); otherwise a time
	info       bool    // shown with its ratio, but not held to the target
	target     float64 // letterbox/Dovecot ratio to reach
	note       string
	vals       map[string][]float64 // server name → samples
	errs       []string
}

func (r *readsRow) add(server string, v float64) {
	if r.vals == nil {
		r.vals = map[string][]float64{}
	}
	r.vals[server] = append(r.vals[server], v)
}

func (r *readsRow) fail(server string, err error) {
	msg := server + ": " + err.Error()
	if len(msg) > 600 {
		msg = msg[:600] + "…"
	}
	r.errs = append(r.errs, msg)
	log.Printf("CHECK FAILED %s: %s", r.label, msg)
}

// readsServer is one server under test and what the verification pass
// learned about its mailbox.
type readsServer struct {
	name   string
	t      *target
	seqIdx []int   // sequence number → corpus index (index 0 unused)
	size   []int64 // sequence number → RFC822.SIZE
	uid    []int64 // sequence number → UID
	total  int64   // sum of the sizes
	trace  [2]int  // fewest and most header bytes the server put in front of a message
	want   map[string][]int
	// letterbox on PostgreSQL: its schema (dropped at the end) and drop
	schema string
	drop   func() error
}

// readsDovecotConfig lifts Dovecot's per-user-and-IP connection limit (10)
// above the concurrent logins, as for the mixed workload.
var readsDovecotConfig = dovecotLimitsConfig(200, 1000)

var msgIDRE = regexp.MustCompile(`(?m)^Message-ID: <(\d+)\.[0-9a-f]+@example\.org>\r$`)

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machineBusy is the CPU time all processors spent busy since boot (user,
// nice, system, interrupts; not idle or iowait), from /proc/stat; 0 where
// it cannot be read. The fill reports its difference per message: the
// CPU a delivery costs the whole machine (server, client and kernel),
// steadier than the rate on a noisy machine.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:8] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

func runReads(cfg readsConfig) error {
	began := time.Now()
	loads := []string{"start " + loadavg()}
	log.Printf("reads: %d messages, %d round(s); load average %s", cfg.messages, cfg.rounds, loadavg())

	queries := []*readsQuery{
		{key: "subject", criteria: "SUBJECT " + strconv.Quote(cfg.subject), needle: strings.ToLower(cfg.subject)},
		{key: "from", criteria: "FROM " + strconv.Quote(cfg.from), needle: strings.ToLower(cfg.from)},
		{key: "body", criteria: "BODY " + strconv.Quote(cfg.body), needle: strings.ToLower(cfg.body)},
		{key: "text", criteria: "TEXT " + strconv.Quote(cfg.text), needle: strings.ToLower(cfg.text)},
	}
	for _, q := range queries {
		if q.needle == "" || strings.ContainsAny(q.needle, "\"\\\r\n") || !isASCIIString(q.needle) {
			log.Fatalf("search word %q: must be non-empty ASCII without quotes or backslashes", q.needle)
		}
	}
	// The corpus is generated while letterbox builds and both servers
	// start.
	waitCorpus := inBackground(func() (*readsCorpus, error) { return generateCorpus(cfg.messages, cfg.seed, 0.1, queries) })

	bin, cleanup := buildLetterbox(cfg.bin)
	defer cleanup()
	hashes, lbSet, hashNote := passwordSetup(cfg.argon2, bin)
	log.Printf("passwords: %s", hashNote)
	liftLetterboxLimits(lbSet, cfg.lbSet)
	users := map[string]string{sharedUser: mixedPass}

	servers := map[string]*readsServer{}
	defer func() {
		for _, s := range servers {
			s.t.stop()
			if !cfg.keep {
				os.RemoveAll(s.t.workspace)
				if s.drop != nil {
					if err := s.drop(); err != nil {
						log.Printf("%s: dropping schema %s: %v", s.name, s.schema, err)
					}
				}
			} else {
				log.Printf("%s workspace kept in %s", s.name, s.t.workspace)
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var startErr error
	var names, lbNames []string
	for _, d := range cfg.drivers {
		lbNames = append(lbNames, readsLetterboxName(d))
	}
	names = append(append(names, lbNames...), "dovecot")
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t *target
			var err error
			s := &readsServer{name: name}
			if name == "dovecot" {
				t, err = startDovecotWith(users, hashes, readsDovecotConfig)
			} else {
				set := map[string]string{}
				for k, v := range lbSet {
					set[k] = v
				}
				if cfg.drivers[i] == "postgres" {
					var dsn string
					if dsn, s.schema, s.drop, err = pgSchema(cfg.pgDSN); err == nil {
						set["driver"] = `"postgres"`
						set["dsn"] = strconv.Quote(dsn)
					}
				}
				var pprof string
				if err == nil && cfg.profileDir != "" {
					var p []int
					if p, err = loopback.FreePorts(1); err == nil {
						pprof = loopback.Addr(p[0])
					}
				}
				if err == nil {
					t, err = startLetterboxWith(letterboxOptions{bin: bin, users: users, set: set, pprof: pprof})
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if s.drop != nil {
					s.drop()
				}
				startErr = fmt.Errorf("start %s: %w", name, err)
				return
			}
			t.user, t.pass = sharedUser, mixedPass
			s.t = t
			servers[name] = s
		}()
	}
	wg.Wait()
	if startErr != nil {
		return startErr
	}
	corpus, corpusTook, err := waitCorpus()
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	log.Printf("corpus: %d messages, %.1f MB (%d with an attachment, %d multipart/alternative, %d RFC 2047 subjects), generated in %.1fs",
		len(corpus.msgs), float64(corpus.bytes)/1e6, corpus.attach, corpus.alt, corpus.encSubj, corpusTook.Seconds())
	for _, q := range queries {
		log.Printf("corpus: SEARCH %s must find %d messages", q.criteria, q.hits)
		if q.hits == 0 {
			log.Printf("warning: SEARCH %s finds nothing in this corpus; pick another word", q.criteria)
		}
	}

	lbOn := "login_cache_ttl = ?"
	if m := regexp.MustCompile(`(?m)^login_cache_ttl\s*=\s*(.*)$`).FindStringSubmatch(servers[lbNames[0]].t.config); m != nil {
		lbOn = "login_cache_ttl = " + m[1]
	}
	rows := newReadsRows(cfg, queries, lbOn)
	row := map[string]*readsRow{}
	for _, r := range rows {
		row[r.key] = r
	}
	order := func(round int) []*readsServer {
		var out []*readsServer
		for _, n := range names {
			out = append(out, servers[n])
		}
		if round%2 == 1 {
			slices.Reverse(out)
		}
		return out
	}

	// Fill: the corpus in cfg.rounds slices, each delivered to one server
	// and then the other (who goes first alternates); each slice is one
	// sample of the LMTP row.
	for r := 0; r < cfg.rounds; r++ {
		lo, hi := r*cfg.messages/cfg.rounds, (r+1)*cfg.messages/cfg.rounds
		for _, s := range order(r) {
			syscall.Sync()
			busy0, server0, client0 := machineBusy(), processCPU(s.t.pid), processCPU(0)
			fillProf := profileFill(cfg, s, r)
			d, sent, err := deliverCorpus(s.t.lmtpAddr, s.t.user, corpus.msgs, lo, hi, cfg.senders)
			if perr := <-fillProf; perr != nil {
				return fmt.Errorf("%s: profile of the fill: %w", s.name, perr)
			}
			if err != nil {
				return fmt.Errorf("%s: LMTP delivery of messages %d-%d: %w", s.name, lo, hi-1, err)
			}
			busy, server, client := machineBusy()-busy0, processCPU(s.t.pid)-server0, processCPU(0)-client0
			rate := float64(hi-lo) / d.Seconds()
			row["lmtp"].add(s.name, rate)
			perMsg := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(hi-lo) }
			log.Printf("fill %d/%d %-9s LMTP %5d messages %7.1f MB in %5.2fs: %6.0f msg/s %6.1f MB/s; machine CPU %.2f ms/msg (server %.2f, client %.2f, rest %.2f)",
				r+1, cfg.rounds, s.name, hi-lo, float64(sent)/1e6, d.Seconds(), rate, float64(sent)/1e6/d.Seconds(),
				perMsg(busy), perMsg(server), perMsg(client), perMsg(busy-server-client))
		}
	}
	loads = append(loads, "after the fill "+loadavg())

	// Verification: every message, byte for byte, once per server.
	for _, s := range order(0) {
		t0 := time.Now()
		if err := s.verify(corpus, queries); err != nil {
			return fmt.Errorf("%s: verification: %w", s.name, err)
		}
		log.Printf("%s: verified %d messages (%.1f MB as served; %d-%d header bytes added in front of each) in %.1fs",
			s.name, cfg.messages, float64(s.total)/1e6, s.trace[0], s.trace[1], time.Since(t0).Seconds())
	}

	work := readsIMAPWork(queries)
	// Warm-up: every IMAP workload and a POP3 RETR pass once per server,
	// untimed (Dovecot builds its index cache here).
	for _, s := range order(0) {
		c, err := dialLogin(s.t.imapAddr, s.t.user, s.t.pass, true)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		var first []string
		for _, w := range work {
			v, err := w.run(s, c)
			if err != nil {
				row[w.key].fail(s.name, fmt.Errorf("warm-up: %w", err))
				continue
			}
			first = append(first, fmt.Sprintf("%s %.1f %s", w.short, v, row[w.key].unit))
		}
		c.logout()
		if v, err := s.pop3(); err != nil {
			row["pop3"].fail(s.name, fmt.Errorf("warm-up: %w", err))
		} else {
			first = append(first, fmt.Sprintf("pop3 %.0f MB/s", v))
		}
		log.Printf("warm-up %-9s %s", s.name, strings.Join(first, ", "))
	}

	// The rounds.
	for r := 0; r < cfg.rounds; r++ {
		ord := order(r)
		log.Printf("round %d/%d (load average %s)", r+1, cfg.rounds, loadavg())
		loads = append(loads, fmt.Sprintf("round %d %s", r+1, loadavg()))
		conns := map[string]*rconn{}
		for _, s := range ord {
			c, err := dialLogin(s.t.imapAddr, s.t.user, s.t.pass, true)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			conns[s.name] = c
		}
		for _, w := range work {
			for _, s := range ord {
				syscall.Sync() // the other server's writeback stays out of this run
				v, err := w.run(s, conns[s.name])
				if err != nil {
					row[w.key].fail(s.name, err)
					continue
				}
				row[w.key].add(s.name, v)
				log.Printf("round %d %-9s %-22s %9.1f %s", r+1, s.name, w.short, v, row[w.key].unit)
			}
		}
		for _, c := range conns {
			c.logout()
		}
		for _, s := range ord {
			syscall.Sync()
			v, err := s.pop3()
			if err != nil {
				row["pop3"].fail(s.name, err)
				continue
			}
			row["pop3"].add(s.name, v)
			log.Printf("round %d %-9s %-22s %9.1f MB/s", r+1, s.name, "POP3 RETR", v)
		}
		loginRound(cfg, r, ord, row["login_on"], row["logins_on"])
	}

	// letterbox again on the same data with its login cache off: every
	// login verifies the hash, as on Dovecot.
	for _, n := range lbNames {
		if err := restartLetterbox(servers[n].t, map[string]string{"login_cache_ttl": `"0s"`}); err != nil {
			return fmt.Errorf("restarting %s with login_cache_ttl = \"0s\": %w", n, err)
		}
		log.Printf("%s restarted with login_cache_ttl = \"0s\" (pid %d)", n, servers[n].t.pid)
	}
	for r := 0; r < cfg.rounds; r++ {
		loginRound(cfg, r, order(r), row["login_off"], row["logins_off"])
	}
	loads = append(loads, "end "+loadavg())

	disk := map[string]int64{}
	lbParts := map[string][]string{}
	for _, name := range lbNames {
		s := servers[name]
		disk[name] = duBytes(s.t.dataDir)
		if ents, err := os.ReadDir(s.t.dataDir); err == nil {
			for _, e := range ents {
				n := duBytes(filepath.Join(s.t.dataDir, e.Name()))
				lbParts[name] = append(lbParts[name], fmt.Sprintf("%s %.1f KB/msg", e.Name(), float64(n)/1e3/float64(cfg.messages)))
			}
		}
		if s.schema != "" {
			n, err := pgSchemaBytes(cfg.pgDSN, s.schema)
			if err != nil {
				log.Printf("%s: schema size: %v", name, err)
			}
			disk[name] += n
			lbParts[name] = append(lbParts[name], fmt.Sprintf("PostgreSQL schema %.1f KB/msg", float64(n)/1e3/float64(cfg.messages)))
		}
	}
	disk["dovecot"] = duBytes(filepath.Join(servers["dovecot"].t.workspace, "mail"))

	reportReads(cfg, corpus, rows, servers, lbNames, hashNote, loads, disk, lbParts, time.Since(began))
	if cfg.profileDir != "" {
		for _, n := range lbNames {
			if err := profileReads(cfg, servers[n], corpus.msgs); err != nil {
				return fmt.Errorf("%s: -profile: %w", n, err)
			}
		}
	}
	return nil
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}

func newReadsRows(cfg readsConfig, queries []*readsQuery, lbOn string) []*readsRow {
	rows := []*readsRow{
		{key: "fetch_env", label: "warm FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)", unit: "ms", target: 0.7},
		{key: "uid_flags", label: "UID FETCH 1:* (UID FLAGS)", unit: "ms", target: 0.7},
	}
	for _, q := range queries {
		t := 0.5
		if q.key == "body" || q.key == "text" {
			t = 0.1
		}
		rows = append(rows, &readsRow{key: q.key, label: fmt.Sprintf("SEARCH %s (%d hits)", q.criteria, q.hits), unit: "ms", target: t})
	}
	rows = append(rows,
		&readsRow{key: "body_all", label: "FETCH 1:* BODY.PEEK[] streamed", unit: "MB/s", higher: true, target: 1.2},
		&readsRow{key: "store_add", label: `STORE 1:* +FLAGS (\Seen)`, unit: "ms", target: 0.5},
		&readsRow{key: "store_del", label: `STORE 1:* -FLAGS (\Seen)`, unit: "ms", target: 0.5},
		&readsRow{key: "pop3", label: "POP3 RETR of every message", unit: "MB/s", higher: true, target: 1.5},
		&readsRow{key: "login_on", label: "LOGIN, one client, letterbox login cache on", unit: "ms", target: 1,
			note: "letterbox " + lbOn + ": after the first login every LOGIN is a cache hit (no hash); Dovecot verifies every time (auth_cache_size = 0)"},
		&readsRow{key: "login_off", label: `LOGIN, one client, letterbox login_cache_ttl = "0s"`, unit: "ms", target: 1,
			note: "both sides verify the hash on every login"},
		&readsRow{key: "logins_off", label: fmt.Sprintf("logins/s, %d workers, login cache off", cfg.loginWorkers), unit: "logins/s", higher: true, target: 1,
			note: "connect + LOGIN + LOGOUT; both sides verify the hash on every login"},
		&readsRow{key: "logins_on", label: fmt.Sprintf("logins/s, %d workers, letterbox login cache on", cfg.loginWorkers), unit: "logins/s", higher: true, target: 1, info: true,
			note: "letterbox's logins are cache hits: not a hash-for-hash comparison"},
		&readsRow{key: "lmtp", label: fmt.Sprintf("LMTP delivery, %d senders", cfg.senders), unit: "msg/s", higher: true, target: 3,
			note: "the fill: the corpus in one slice per round, each slice to both servers in turn"},
	)
	return rows
}

// readsWork is one timed IMAP command on a selected session.
type readsWork struct {
	key, short string
	run        func(s *readsServer, c *rconn) (float64, error)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func readsIMAPWork(queries []*readsQuery) []readsWork {
	w := []readsWork{
		{key: "fetch_env", short: "FETCH ENVELOPE...", run: func(s *readsServer, c *rconn) (float64, error) {
			return s.fetchAll(c, "FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)", func(seq int, p *rresp) error {
				if n, ok := numAfter(p.text, "RFC822.SIZE "); !ok || n != s.size[seq] {
					return fmt.Errorf("message %d: RFC822.SIZE %d, want %d", seq, n, s.size[seq])
				}
				for _, k := range []string{"ENVELOPE (", "BODYSTRUCTURE (", `INTERNALDATE "`} {
					if !bytes.Contains(p.text, []byte(k)) {
						return fmt.Errorf("message %d: no %s in %.200q", seq, strings.TrimRight(k, ` ("`), p.text)
					}
				}
				return nil
			})
		}},
		{key: "uid_flags", short: "UID FETCH (UID FLAGS)", run: func(s *readsServer, c *rconn) (float64, error) {
			return s.fetchAll(c, "UID FETCH 1:* (UID FLAGS)", func(seq int, p *rresp) error {
				if n, ok := numAfter(p.text, "UID "); !ok || n != s.uid[seq] {
					return fmt.Errorf("message %d: UID %d, want %d", seq, n, s.uid[seq])
				}
				if !bytes.Contains(p.text, []byte("FLAGS (")) {
					return fmt.Errorf("message %d: no FLAGS in %q", seq, p.text)
				}
				return nil
			})
		}},
	}
	for _, q := range queries {
		w = append(w, readsWork{key: q.key, short: "SEARCH " + strings.ToUpper(q.key), run: func(s *readsServer, c *rconn) (float64, error) {
			return s.search(c, q)
		}})
	}
	w = append(w,
		readsWork{key: "body_all", short: "FETCH BODY.PEEK[]", run: func(s *readsServer, c *rconn) (float64, error) {
			var total int64
			v, err := s.fetchAll(c, "FETCH 1:* BODY.PEEK[]", func(seq int, p *rresp) error {
				if len(p.litSizes) != 1 || int64(p.litSizes[0]) != s.size[seq] {
					return fmt.Errorf("message %d: literal sizes %v, want one of %d", seq, p.litSizes, s.size[seq])
				}
				total += int64(p.litSizes[0])
				return nil
			})
			if err != nil {
				return 0, err
			}
			return float64(total) / 1e6 / (v / 1000), nil
		}},
		readsWork{key: "store_add", short: `STORE +FLAGS \Seen`, run: func(s *readsServer, c *rconn) (float64, error) {
			// Start from no \Seen (POP3 RETR may have set it), untimed,
			// and let a NOOP settle it.
			if _, err := c.do(`STORE 1:* -FLAGS.SILENT (\Seen)`, false, nil); err != nil {
				return 0, err
			}
			if _, err := c.do("NOOP", false, nil); err != nil {
				return 0, err
			}
			syscall.Sync()
			return s.fetchAll(c, `STORE 1:* +FLAGS (\Seen)`, seenCheck(true))
		}},
		readsWork{key: "store_del", short: `STORE -FLAGS \Seen`, run: func(s *readsServer, c *rconn) (float64, error) {
			return s.fetchAll(c, `STORE 1:* -FLAGS (\Seen)`, seenCheck(false))
		}},
	)
	return w
}

func seenCheck(want bool) func(seq int, p *rresp) error {
	return func(seq int, p *rresp) error {
		i := bytes.Index(p.text, []byte("FLAGS ("))
		if i < 0 {
			return fmt.Errorf("message %d: no FLAGS in %q", seq, p.text)
		}
		flags := p.text[i:]
		if j := bytes.IndexByte(flags, ')'); j >= 0 {
			flags = flags[:j]
		}
		if bytes.Contains(flags, []byte(`\Seen`)) != want {
			return fmt.Errorf("message %d: %q after the STORE", seq, p.text)
		}
		return nil
	}
}

// fetchAll runs a command that must answer with exactly one FETCH response
// per message, checks each with check and returns the milliseconds.
func (s *readsServer) fetchAll(c *rconn, cmd string, check func(seq int, p *rresp) error) (float64, error) {
	n := len(s.seqIdx) - 1
	seen := make([]bool, n+1)
	count := 0
	d, err := c.do(cmd, false, func(p *rresp) error {
		seq, ok := fetchSeqOf(p.text)
		if !ok {
			return nil
		}
		if seq < 1 || seq > n || seen[seq] {
			return fmt.Errorf("FETCH response for message %d (mailbox of %d, seen before: %v)", seq, n, seq >= 1 && seq <= n && seen[seq])
		}
		seen[seq] = true
		count++
		return check(seq, p)
	})
	if err != nil {
		return 0, err
	}
	if count != n {
		return 0, fmt.Errorf("%s: %d FETCH responses, want %d", cmd, count, n)
	}
	return ms(d), nil
}

func (s *readsServer) search(c *rconn, q *readsQuery) (float64, error) {
	var got []int
	found := false
	d, err := c.do("SEARCH "+q.criteria, false, func(p *rresp) error {
		if nums, ok := searchNumbers(p.text); ok {
			got = append(got, nums...)
			found = true
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("SEARCH %s: no * SEARCH response", q.criteria)
	}
	sort.Ints(got)
	want := s.want[q.key]
	if !equalInts(got, want) {
		var extra, missing []int
		g, w := map[int]bool{}, map[int]bool{}
		for _, x := range got {
			g[x] = true
		}
		for _, x := range want {
			w[x] = true
			if !g[x] && len(missing) < 5 {
				missing = append(missing, s.seqIdx[x])
			}
		}
		for _, x := range got {
			if !w[x] && len(extra) < 5 && x >= 1 && x < len(s.seqIdx) {
				extra = append(extra, s.seqIdx[x])
			}
		}
		return 0, fmt.Errorf("SEARCH %s: %d hits, the corpus has %d (corpus messages missed, first few: %v; found but not matching: %v)",
			q.criteria, len(got), len(want), missing, extra)
	}
	return ms(d), nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pop3 retrieves every message and checks each size against IMAP's
// RFC822.SIZE; it returns MB/s.
func (s *readsServer) pop3() (float64, error) {
	d, sizes, err := pop3RetrAll(s.t.pop3Addr, s.t.user, s.t.pass)
	if err != nil {
		return 0, err
	}
	if len(sizes) != len(s.seqIdx)-1 {
		return 0, fmt.Errorf("POP3 STAT: %d messages, want %d", len(sizes), len(s.seqIdx)-1)
	}
	var total int64
	for i, n := range sizes {
		if n != s.size[i+1] {
			return 0, fmt.Errorf("POP3 RETR %d: %d bytes, IMAP says %d", i+1, n, s.size[i+1])
		}
		total += n
	}
	return float64(total) / 1e6 / d.Seconds(), nil
}

// verify fetches every message once and checks it is the corpus message
// it claims to be (its Message-ID), byte for byte, behind only the header
// fields the server adds at delivery (Return-Path, Received,
// Delivered-To); it records sequence numbers, UIDs and sizes for the
// checks of the timed runs, and what each SEARCH must return.
func (s *readsServer) verify(corpus *readsCorpus, queries []*readsQuery) error {
	c, err := dialLogin(s.t.imapAddr, s.t.user, s.t.pass, true)
	if err != nil {
		return err
	}
	defer c.logout()
	n := len(corpus.msgs)
	s.seqIdx, s.size, s.uid = make([]int, n+1), make([]int64, n+1), make([]int64, n+1)
	s.trace = [2]int{1 << 30, 0}
	have := make([]bool, n)
	count := 0
	_, err = c.do("FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])", true, func(p *rresp) error {
		seq, ok := fetchSeqOf(p.text)
		if !ok {
			return nil
		}
		if seq < 1 || seq > n || s.seqIdx[seq] != 0 || len(p.lits) != 1 {
			return fmt.Errorf("unexpected FETCH response %.200q", p.text)
		}
		uid, ok1 := numAfter(p.text, "UID ")
		size, ok2 := numAfter(p.text, "RFC822.SIZE ")
		body := p.lits[0]
		if !ok1 || !ok2 || size != int64(len(body)) {
			return fmt.Errorf("message %d: %q with a body of %d bytes", seq, p.text, len(body))
		}
		m := msgIDRE.FindSubmatch(body)
		if m == nil {
			return fmt.Errorf("message %d: no corpus Message-ID in %.300q", seq, body)
		}
		idx, _ := strconv.Atoi(string(m[1]))
		if idx < 0 || idx >= n || have[idx] {
			return fmt.Errorf("message %d: corpus message %d is not expected here (or twice)", seq, idx)
		}
		want := corpus.msgs[idx]
		if !bytes.HasSuffix(body, []byte(want)) {
			return fmt.Errorf("message %d (corpus %d): the content differs from the message delivered", seq, idx)
		}
		added := body[:len(body)-len(want)]
		if err := headerLines(added); err != nil {
			return fmt.Errorf("message %d (corpus %d): before the delivered message: %v", seq, idx, err)
		}
		have[idx] = true
		s.seqIdx[seq], s.size[seq], s.uid[seq] = idx, size, uid
		s.total += size
		s.trace[0], s.trace[1] = min(s.trace[0], len(added)), max(s.trace[1], len(added))
		count++
		return nil
	})
	if err != nil {
		return err
	}
	if count != n {
		return fmt.Errorf("FETCH 1:* returned %d messages, want %d", count, n)
	}
	s.want = map[string][]int{}
	for _, q := range queries {
		for seq := 1; seq <= n; seq++ {
			if q.hit[s.seqIdx[seq]] {
				s.want[q.key] = append(s.want[q.key], seq)
			}
		}
	}
	return nil
}

// headerLines checks b is whole header lines (fields and their
// continuations), CRLF-terminated.
func headerLines(b []byte) error {
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return fmt.Errorf("%q is not a whole line", b)
		}
		l := b[:i]
		if len(l) == 0 || (l[0] != ' ' && l[0] != '\t' && bytes.IndexByte(l, ':') < 1) {
			return fmt.Errorf("%q is not a header line", l)
		}
		b = b[i+2:]
	}
	return nil
}

// loginRound times cfg.loginSamples sequential LOGINs and one concurrent
// login run on each server.
func loginRound(cfg readsConfig, r int, ord []*readsServer, one, many *readsRow) {
	for _, s := range ord {
		syscall.Sync()
		var got []string
		for i := 0; i < cfg.loginSamples; i++ {
			d, err := loginOnce(s.t.imapAddr, s.t.user, s.t.pass)
			if err != nil {
				one.fail(s.name, err)
				break
			}
			one.add(s.name, ms(d))
			got = append(got, fmt.Sprintf("%.1f", ms(d)))
		}
		log.Printf("round %d %-9s %-22s %s ms (%s)", r+1, s.name, "LOGIN", strings.Join(got, " "), one.label)
	}
	for _, s := range ord {
		syscall.Sync()
		d, err := loginStorm(s.t.imapAddr, s.t.user, s.t.pass, cfg.loginWorkers, cfg.logins)
		if err != nil {
			many.fail(s.name, err)
			continue
		}
		v := float64(cfg.logins) / d.Seconds()
		many.add(s.name, v)
		log.Printf("round %d %-9s %-22s %9.1f logins/s (%d logins in %.2fs; %s)", r+1, s.name, "logins/s", v, cfg.logins, d.Seconds(), many.label)
	}
}

// duBytes is what du counts: allocated blocks of every file under dir.
func duBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return total
}

func readsStats(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return median(s), s[0], s[len(s)-1]
}

func fmtVal(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func reportReads(cfg readsConfig, corpus *readsCorpus, rows []*readsRow, servers map[string]*readsServer, lbNames []string, hashNote string,
	loads []string, disk map[string]int64, lbParts map[string][]string, elapsed time.Duration) {
	dc := servers["dovecot"]
	fmt.Printf("\nreads workload, %s vs Dovecot on this machine (%d CPUs): %d messages, %.1f MB (%d with a 100-500 KB attachment, %d multipart/alternative, %d RFC 2047 subjects; searchtest seed %d), %d round(s), %.0fs in all\n",
		strings.Join(lbNames, ", "), runtime.NumCPU(), len(corpus.msgs), float64(corpus.bytes)/1e6, corpus.attach, corpus.alt, corpus.encSubj, cfg.seed, cfg.rounds, elapsed.Seconds())
	fmt.Printf("passwords: %s\n", hashNote)
	fmt.Printf("load average (1, 5, 15 min): %s\n", strings.Join(loads, "; "))
	var served []string
	for _, n := range lbNames {
		lb := servers[n]
		served = append(served, fmt.Sprintf("%s %.1f MB (%d-%d header bytes added per message)", n, float64(lb.total)/1e6, lb.trace[0], lb.trace[1]))
	}
	fmt.Printf("as served: %s, Dovecot %.1f MB (%d-%d)\n\n", strings.Join(served, ", "), float64(dc.total)/1e6, dc.trace[0], dc.trace[1])
	head, sep := "| workload |", "| --- |"
	for _, n := range lbNames {
		head += " " + n + " median (min–max) |"
		sep += " --- |"
	}
	head += " Dovecot median (min–max) |"
	sep += " --- |"
	for _, n := range lbNames {
		head += " " + n + "/Dovecot |"
		sep += " --- |"
	}
	fmt.Println(head + " target | result |")
	fmt.Println(sep + " --- | --- |")
	var notes []string
	for _, r := range rows {
		cell := func(xs []float64) string {
			m, l, h := readsStats(xs)
			switch len(xs) {
			case 0:
				return "-"
			case 1:
				return fmtVal(m) + " " + r.unit
			}
			return fmt.Sprintf("%s %s (%s–%s)", fmtVal(m), r.unit, fmtVal(l), fmtVal(h))
		}
		dm, _, _ := readsStats(r.vals["dovecot"])
		line := "| " + r.label
		if r.note != "" {
			notes = append(notes, fmt.Sprintf("[%d] %s", len(notes)+1, r.note))
			line += fmt.Sprintf(" [%d]", len(notes))
		}
		line += " |"
		for _, n := range lbNames {
			line += " " + cell(r.vals[n]) + " |"
		}
		line += " " + cell(r.vals["dovecot"]) + " |"
		var results []string
		for _, n := range lbNames {
			lm, _, _ := readsStats(r.vals[n])
			ratio, res := "-", "-"
			if lm > 0 && dm > 0 {
				x := lm / dm
				ratio = fmt.Sprintf("%.2f×", x)
				switch {
				case r.info:
					res = "(info: not hash for hash)"
				case (r.higher && x >= r.target) || (!r.higher && x <= r.target):
					res = "pass"
				default:
					res = "miss"
				}
			}
			line += " " + ratio + " |"
			if len(lbNames) > 1 {
				res = n + " " + res
			}
			results = append(results, res)
		}
		res := strings.Join(results, ", ")
		if len(r.errs) > 0 {
			res = fmt.Sprintf("CHECK FAILED (%d)", len(r.errs))
		}
		op := "≤"
		if r.higher {
			op = "≥"
		}
		fmt.Printf("%s %s %.1f× | %s |\n", line, op, r.target, res)
	}
	fmt.Println()
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Printf("\nletterbox/Dovecot is the ratio of the medians: for ms lower is better, for MB/s, msg/s and logins/s higher is better; MB = 10^6 bytes.\n")
	fmt.Printf("samples per cell: %d round(s); LOGIN: %d per round; the rest one per round.\n", cfg.rounds, cfg.loginSamples)
	n := float64(len(corpus.msgs))
	fmt.Println()
	for _, name := range lbNames {
		fmt.Printf("disk: %s data %.1f MB = %.1f KB/message (%s)\n", name, float64(disk[name])/1e6, float64(disk[name])/1e3/n, strings.Join(lbParts[name], ", "))
	}
	fmt.Printf("disk: Dovecot Maildir %.1f MB = %.1f KB/message; the corpus itself %.1f KB/message\n",
		float64(disk["dovecot"])/1e6, float64(disk["dovecot"])/1e3/n, float64(corpus.bytes)/1e3/n)
	failed := 0
	for _, r := range rows {
		for _, e := range r.errs {
			if failed < 10 {
				fmt.Printf("check failed: %s: %s\n", r.label, e)
			}
			failed++
		}
	}
	if failed > 0 {
		fmt.Printf("%d failed checks\n", failed)
	}
}
