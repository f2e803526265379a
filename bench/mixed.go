package main

// The mixed workload: many IMAP clients at once, each running a seeded mix
// of LOGIN, SELECT, FETCH, STORE, APPEND, COPY, EXPUNGE, SEARCH, NOOP and
// LOGOUT against letterbox and Dovecot in alternation. See bench/README.md.

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
)

// mixedConfig is the mixed workload's flags.
type mixedConfig struct {
	rounds       int
	duration     time.Duration
	clients      []int
	messages     int // per mailbox before the first run
	size         int
	opsPerCycle  int // reconnect mode: operations between SELECT and LOGOUT
	seed         uint64
	only         string
	keep         bool
	profileDir   string
	bin          string
	argon2       string // "doveadm" or "letterbox"
	sampleEvery  time.Duration
	filter       *regexp.Regexp    // scenarios run; nil: all
	lbSet        map[string]string // extra letterbox configuration keys
	dovecotLogin string            // "security" (Dovecot's default) or "performance"
}

const (
	mixedPass    = "mixed bench password"
	sharedUser   = "shared@example.com"
	spreadUsers  = 20
	archiveBox   = "Archive"
	errorSamples = 8
)

func spreadUser(i int) string { return fmt.Sprintf("user%02d@example.com", i) }

// mixedUsers is every account: the shared one and the 20 of the spread
// layout.
func mixedUsers() map[string]string {
	u := map[string]string{sharedUser: mixedPass}
	for i := 0; i < spreadUsers; i++ {
		u[spreadUser(i)] = mixedPass
	}
	return u
}

// scenario is one measured configuration.
type scenario struct {
	stay    bool // clients log in once and stay (logins excluded)
	spread  bool // clients spread over 20 users instead of one shared INBOX
	clients int
}

func (s scenario) String() string {
	mode, layout := "reconnect", "shared"
	if s.stay {
		mode = "stay"
	}
	if s.spread {
		layout = "spread20"
	}
	return fmt.Sprintf("%s/%s/%d", mode, layout, s.clients)
}

func (s scenario) describe() string {
	mode := "clients reconnect every cycle (logins included)"
	if s.stay {
		mode = "clients log in once and stay (logins excluded)"
	}
	layout := "one shared INBOX"
	if s.spread {
		layout = "20 users, one INBOX each"
	}
	return fmt.Sprintf("%d clients, %s, %s", s.clients, layout, mode)
}

// runResult is one scenario run on one server.
type runResult struct {
	lat      map[string][]time.Duration
	errs     map[string]int
	samples  []string
	commands int
	wall     time.Duration
	mem      memStats
}

func (r *runResult) rate() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.commands) / r.wall.Seconds()
}

// command names, in report order.
var commandOrder = []string{"CONNECT", "LOGIN", "SELECT", "FETCH flags", "FETCH body", "STORE", "APPEND", "COPY", "EXPUNGE", "SEARCH", "NOOP", "LOGOUT"}

func runMixed(cfg mixedConfig) {
	var names []string
	switch cfg.only {
	case "":
		names = []string{"letterbox", "dovecot"}
	case "letterbox", "dovecot":
		names = []string{cfg.only}
	default:
		log.Fatalf("-only must be letterbox or dovecot")
	}
	users := mixedUsers()

	// The letterbox binary is built once: its defaults decide the
	// password parameters in -argon2 letterbox mode, and -profile asks it
	// whether it has a pprof flag.
	bin, cleanup := buildLetterbox(cfg.bin)
	defer cleanup()
	var pprofAddr string
	if cfg.profileDir != "" && cfg.only != "dovecot" {
		if !letterboxHasPprof(bin) {
			log.Fatalf("-profile: `letterbox serve -h` lists no pprof flag, so letterbox cannot be profiled from outside;" +
				" -profile expects `serve --pprof ADDR` serving net/http/pprof (with mutex and block profiling on)")
		}
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			log.Fatal(err)
		}
		p, err := loopback.FreePorts(1)
		if err != nil {
			log.Fatal(err)
		}
		pprofAddr = loopback.Addr(p[0])
	}

	hashes, lbSet, hashNote := passwordSetup(cfg.argon2, bin)
	log.Printf("passwords: %s", hashNote)

	targets := map[string]*target{}
	defer func() {
		for _, t := range targets {
			t.stop()
			if !cfg.keep {
				os.RemoveAll(t.workspace)
			} else {
				log.Printf("%s workspace kept in %s", t.name, t.workspace)
			}
		}
	}()
	liftLetterboxLimits(lbSet, cfg.lbSet)
	// Both servers start and fill at the same time: it is not measured.
	var startMu sync.Mutex
	var startWG sync.WaitGroup
	var startErr error
	for _, name := range names {
		startWG.Add(1)
		go func() {
			defer startWG.Done()
			var t *target
			var err error
			start := time.Now()
			if name == "letterbox" {
				t, err = startLetterboxWith(letterboxOptions{bin: bin, users: users, set: lbSet, pprof: pprofAddr})
			} else {
				extra := dovecotMixedConfig
				if cfg.dovecotLogin == "performance" {
					extra += dovecotPerformanceLogin
				}
				t, err = startDovecotWith(users, hashes, extra)
			}
			if err != nil {
				err = fmt.Errorf("start %s: %w", name, err)
			} else if err = prepareMixed(t, users, cfg); err != nil {
				err = fmt.Errorf("%s: preparing mailboxes: %w", name, err)
			} else {
				log.Printf("%s: started and filled in %.1fs (pid %d)", name, time.Since(start).Seconds(), t.pid)
			}
			startMu.Lock()
			defer startMu.Unlock()
			if t != nil {
				targets[name] = t
			}
			if err != nil && startErr == nil {
				startErr = err
			}
		}()
	}
	startWG.Wait()
	if startErr != nil {
		for _, t := range targets {
			t.stop()
			if !cfg.keep {
				os.RemoveAll(t.workspace)
			}
		}
		log.Fatal(startErr)
	}

	if t := targets["letterbox"]; t != nil {
		if m := regexp.MustCompile(`(?m)^login_cache_ttl\s*=\s*(.*)$`).FindStringSubmatch(t.config); m != nil {
			hashNote += fmt.Sprintf("; letterbox login_cache_ttl = %s (a verified login is remembered, so a reconnect skips the hash; \"0s\" turns it off)", m[1])
		} else {
			hashNote += "; this letterbox has no login cache"
		}
		hashNote += "; Dovecot: auth_cache_size = 0 (its default; its cache would still verify the hash)"
	}
	var scenarios []scenario
	for _, stay := range []bool{false, true} {
		for _, spread := range []bool{false, true} {
			for _, c := range cfg.clients {
				sc := scenario{stay: stay, spread: spread, clients: c}
				if cfg.filter == nil || cfg.filter.MatchString(sc.String()) {
					scenarios = append(scenarios, sc)
				}
			}
		}
	}
	res := map[string]map[string][]*runResult{} // scenario → server → rounds
	var appendSeq atomic.Int64
	benchStart := time.Now()
	for round := 0; round < cfg.rounds; round++ {
		order := names
		if round%2 == 1 && len(names) == 2 {
			order = []string{names[1], names[0]} // alternate who goes first
		}
		for _, sc := range scenarios {
			if res[sc.String()] == nil {
				res[sc.String()] = map[string][]*runResult{}
			}
			for _, name := range order {
				t := targets[name]
				var prof chan error
				if pprofAddr != "" && name == "letterbox" && round == 0 {
					prof = make(chan error, 1)
					secs := int(cfg.duration.Seconds() + 0.999)
					file := filepath.Join(cfg.profileDir, "cpu-"+strings.ReplaceAll(sc.String(), "/", "-")+".pprof")
					go func() { prof <- fetchProfile(pprofAddr, "profile?seconds="+strconv.Itoa(secs), file) }()
				}
				runStart := time.Now()
				r := runScenario(t, sc, cfg, round, &appendSeq)
				took := time.Since(runStart)
				if prof != nil {
					if err := <-prof; err != nil {
						log.Printf("cpu profile: %v", err)
					}
				}
				res[sc.String()][name] = append(res[sc.String()][name], r)
				nerr := 0
				for _, n := range r.errs {
					nerr += n
				}
				log.Printf("round %d %-22s %-9s %8.0f cmd/s %6d commands %4d errors  %4.1fs  mem %s",
					round+1, sc, name, r.rate(), r.commands, nerr, took.Seconds(), memShort(name, r.mem))
			}
		}
	}
	elapsed := time.Since(benchStart)
	if pprofAddr != "" {
		for _, p := range []string{"mutex", "block", "heap"} {
			if err := fetchProfile(pprofAddr, p, filepath.Join(cfg.profileDir, p+".pprof")); err != nil {
				log.Printf("%s profile: %v", p, err)
			}
		}
		log.Printf("profiles written to %s (go tool pprof FILE)", cfg.profileDir)
	}
	finalHWM := int64(0)
	if t := targets["letterbox"]; t != nil {
		finalHWM = readMemory("letterbox", t.pid).hwm
	}
	reportMixed(res, scenarios, names, cfg, hashNote, finalHWM, elapsed)
}

// dovecotMixedConfig lifts Dovecot's per-user-and-IP connection limit (10
// by default) and its process limits above the client count: every client
// comes from 127.0.0.1 and up to 50 share one user.
// Archive is created with every account, as letterbox does.
const dovecotMixedConfig = `default_process_limit = 200
service imap {
  process_limit = 200
}
protocol imap {
  mail_max_userip_connections = 10000
}
namespace inbox {
  inbox = yes
  mailbox Archive {
    auto = create
    special_use = \Archive
  }
}
`

// dovecotPerformanceLogin is Dovecot's "high-performance" login mode
// (doc.dovecot.org, login processes): a few long-lived imap-login
// processes serve many connections, instead of one process per connection
// (the default "high-security" mode). Dovecot merges it into the
// configuration's imap-login service.
var dovecotPerformanceLogin = fmt.Sprintf(`service imap-login {
  service_count = 0
  process_min_avail = %d
}
`, runtime.NumCPU())

// passwordSetup decides the argon2id parameters of both sides and returns
// Dovecot's passwd-file hashes, the letterbox configuration keys to set
// and a one-line description.
func passwordSetup(mode, bin string) (map[string]string, map[string]string, string) {
	users := mixedUsers()
	hashes := map[string]string{}
	set := map[string]string{}
	switch mode {
	case "doveadm":
		// Dovecot 2.3 takes its parameters from libsodium: doveadm cannot
		// go below m=64MiB,t=3 and always uses one lane, so letterbox is
		// configured to the parameters doveadm chose. One hash serves every
		// user (all have the same password); Dovecot caches nothing by
		// default (auth_cache_size = 0), so each login still verifies.
		out, err := exec.Command("doveadm", "pw", "-s", "ARGON2ID", "-p", mixedPass).Output()
		if err != nil {
			log.Fatalf("doveadm pw -s ARGON2ID: %v (is Dovecot installed? which doveadm)", err)
		}
		h := strings.TrimSpace(string(out))
		m, t, p, ok := phcParams(h)
		if !ok {
			log.Fatalf("doveadm pw gave %q, not an argon2id PHC string", h)
		}
		for u := range users {
			hashes[u] = h
		}
		set["argon2_memory"] = strconv.Quote(strconv.Itoa(m) + "KiB")
		set["argon2_time"] = strconv.Itoa(t)
		set["argon2_threads"] = strconv.Itoa(p)
		return hashes, set, fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d on both sides (Dovecot: `doveadm pw -s ARGON2ID`, its lowest cost; letterbox configured to match)", m, t, p)
	case "letterbox", "light":
		// letterbox keeps its defaults (or, "light", both sides use a
		// cheap m=4MiB,t=1,p=1 so that logins do not dominate a quick
		// run); Dovecot gets hashes with the same parameters made here
		// with golang.org/x/crypto/argon2 (libsodium verifies any lane
		// count; doveadm makes only its own parameters).
		m, t, p := 4096, 1, 1
		what := "a light setting for quick runs, not a real one"
		if mode == "letterbox" {
			out, err := exec.Command(bin, "config", "defaults").Output()
			if err != nil {
				log.Fatalf("letterbox config defaults: %v", err)
			}
			if m, t, p, err = letterboxArgon2(string(out)); err != nil {
				log.Fatal(err)
			}
			what = "letterbox's defaults"
		} else {
			set["argon2_memory"] = strconv.Quote(strconv.Itoa(m) + "KiB")
			set["argon2_time"] = strconv.Itoa(t)
			set["argon2_threads"] = strconv.Itoa(p)
		}
		for u := range users {
			salt := make([]byte, 16)
			rand.Read(salt)
			key := argon2.IDKey([]byte(mixedPass), salt, uint32(t), uint32(m), uint8(p), 32)
			b64 := base64.RawStdEncoding
			hashes[u] = fmt.Sprintf("{ARGON2ID}$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key))
		}
		return hashes, set, fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d on both sides (%s; Dovecot's hashes made by the bench, not doveadm)", m, t, p, what)
	}
	log.Fatalf("-argon2 must be doveadm, letterbox or light")
	return nil, nil, ""
}

var phcRE = regexp.MustCompile(`\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$`)

func phcParams(h string) (m, t, p int, ok bool) {
	s := phcRE.FindStringSubmatch(h)
	if s == nil {
		return 0, 0, 0, false
	}
	m, _ = strconv.Atoi(s[1])
	t, _ = strconv.Atoi(s[2])
	p, _ = strconv.Atoi(s[3])
	return m, t, p, true
}

// letterboxArgon2 reads argon2_memory (in KiB), argon2_time and
// argon2_threads from `letterbox config defaults`.
func letterboxArgon2(cfg string) (m, t, p int, err error) {
	get := func(k string) string {
		s := regexp.MustCompile(`(?m)^` + k + `\s*=\s*"?([^"\n]*)"?`).FindStringSubmatch(cfg)
		if s == nil {
			return ""
		}
		return strings.TrimSpace(s[1])
	}
	mem := get("argon2_memory")
	units := []struct {
		suffix string
		kib    int
	}{{"GiB", 1 << 20}, {"MiB", 1 << 10}, {"KiB", 1}}
	for _, u := range units {
		if n, found := strings.CutSuffix(mem, u.suffix); found {
			v, e := strconv.Atoi(n)
			if e == nil {
				m = v * u.kib
			}
			break
		}
	}
	t, _ = strconv.Atoi(get("argon2_time"))
	p, _ = strconv.Atoi(get("argon2_threads"))
	if m == 0 || t == 0 || p == 0 {
		return 0, 0, 0, fmt.Errorf("cannot read the argon2 defaults from `letterbox config defaults` (memory %q)", mem)
	}
	return m, t, p, nil
}

// prepareMixed fills every user's INBOX with cfg.messages messages (one
// LMTP transaction per message, every user a recipient) and checks the
// result.
func prepareMixed(t *target, users map[string]string, cfg mixedConfig) error {
	names := sortedKeys(users)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lmtpMultiWorker(t.lmtpAddr, names, cfg.messages, cfg.size, &next); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("LMTP: %w", err)
	}
	// Every login costs a password hash, so only two accounts are checked.
	for _, u := range []string{sharedUser, spreadUser(spreadUsers - 1)} {
		if err := checkFilled(t.imapAddr, u, users[u], cfg.messages); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
	}
	return nil
}

// checkFilled logs in and checks the INBOX holds want messages and that
// Archive exists (both servers create it with every account).
func checkFilled(addr, user, pass string, want int) error {
	c, err := dialM(addr)
	if err != nil {
		return err
	}
	defer c.close()
	for _, cmd := range []string{"LOGIN " + strconv.Quote(user) + " " + strconv.Quote(pass), "STATUS " + archiveBox + " (MESSAGES)", "SELECT INBOX"} {
		r, err := c.do(cmd, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		if r.status != "OK" {
			return fmt.Errorf("%s: %s %s", strings.Fields(cmd)[0], r.status, r.text)
		}
	}
	if c.exists != want {
		return fmt.Errorf("INBOX has %d messages after the fill, want %d", c.exists, want)
	}
	c.do("LOGOUT", nil)
	return nil
}

// lmtpMultiWorker delivers messages numbered from next up to n, each to
// every user in one transaction.
func lmtpMultiWorker(addr string, users []string, n, size int, next *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	if err := expect(r, 220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	send := func(s string, want int) error {
		w.WriteString(s + "\r\n")
		w.Flush()
		if err := expect(r, want); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		return nil
	}
	if err := send("LHLO bench.example", 250); err != nil {
		return err
	}
	for {
		i := int(next.Add(1)) - 1
		if i >= n {
			break
		}
		if err := send("MAIL FROM:<sender@remote.example>", 250); err != nil {
			return err
		}
		for _, u := range users {
			if err := send("RCPT TO:<"+u+">", 250); err != nil {
				return err
			}
		}
		if err := send("DATA", 354); err != nil {
			return err
		}
		writeDotStuffed(w, benchMessage(i, size))
		w.WriteString(".\r\n")
		w.Flush()
		for range users { // one reply per recipient (RFC 2033 §4.2)
			if err := expect(r, 250); err != nil {
				return fmt.Errorf("end of DATA: %w", err)
			}
		}
	}
	w.WriteString("QUIT\r\n")
	w.Flush()
	return nil
}

// fetchProfile saves http://addr/debug/pprof/path to file.
func fetchProfile(addr, path, file string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
