// Command bench runs letterbox and Dovecot side by side on this machine and
// prints how letterbox compares: LMTP delivery throughput, IMAP SELECT +
// FETCH 1:* (FLAGS ENVELOPE) on a large mailbox, and POP3 RETR of every
// message. Both servers get the same messages over the same loopback
// clients, with plaintext login on their cleartext ports. With -workload
// mixed it runs many concurrent IMAP clients instead (mixed.go).
//
//	go run ./bench [-n 2000] [-c 8] [-mailbox 10000] [-only letterbox|dovecot]
//	go run ./bench -workload mixed [-quick] [-rounds 3] [-duration 3s] [-clients 10,50]
//	go run ./bench -workload accounts [-accounts 2000] [-per-account 20] [-sessions 500]
//
// See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	benchUser = "bench@example.com"
	benchPass = "bench password"
)

// target is one running server under test.
type target struct {
	name      string
	lmtpAddr  string
	imapAddr  string
	pop3Addr  string
	user      string
	pass      string
	stop      func()
	workspace string
	pid       int    // the server's (Dovecot: the master's) process ID
	config    string // letterbox: the configuration it runs with
	// letterbox: its binary, data directory and configuration file (for
	// restartLetterbox)
	bin, dataDir, configPath string
	// letterbox: the `serve --pprof` address, kept across restartLetterbox
	pprof string
}

// results of one target.
type results struct {
	lmtpRate      float64       // messages per second
	selectCold    time.Duration // first SELECT + FETCH
	selectWarm    time.Duration // best of the repeats
	fetched       int
	pop3          time.Duration
	pop3Bytes     int64
	pop3Messages  int
	mailboxFilled int
}

func main() {
	n := flag.Int("n", 2000, "messages delivered over LMTP for the throughput measurement")
	c := flag.Int("c", 8, "concurrent LMTP connections (reads: default 4)")
	mailbox := flag.Int("mailbox", 10000, "messages in the mailbox for the FETCH and RETR measurements")
	size := flag.Int("size", 4096, "approximate message size in bytes")
	repeats := flag.Int("repeats", 3, "SELECT+FETCH repetitions")
	only := flag.String("only", "", "run only \"letterbox\" or \"dovecot\"")
	keep := flag.Bool("keep", false, "keep the temp directories (data, configs, logs)")
	workload := flag.String("workload", "default", "\"default\" (LMTP, SELECT+FETCH, POP3 RETR), \"mixed\" (concurrent IMAP clients), \"reads\" (one 10,000-message corpus, every big read timed and checked), \"scale\" (the reads of one mailbox at 10,000 and 100,000 messages) or \"accounts\" (many accounts on one node; see bench/README.md)")
	// The mixed workload's flags.
	rounds := flag.Int("rounds", 3, "mixed: rounds, each running every scenario on both servers in turn; reads: rounds of every workload on both servers")
	duration := flag.Duration("duration", 3*time.Second, "mixed: how long each scenario runs per round and server")
	clients := flag.String("clients", "10,50", "mixed: concurrent client counts")
	messages := flag.Int("messages", 200, "mixed: messages in each INBOX at the start (default 200); reads: the corpus size (default 10000)")
	opsPerCycle := flag.Int("ops", 8, "mixed: operations between SELECT and LOGOUT for reconnecting clients")
	seed := flag.Uint64("seed", 1, "mixed: seed of the clients' operation mix; reads: seed of the corpus")
	quick := flag.Bool("quick", false, "a short run unless the flags are given: mixed -rounds 1 -duration 1s -messages 30 -argon2 light; reads -messages 1000 -rounds 1 -logins 16 -login-samples 3")
	profile := flag.String("profile", "", "mixed: write letterbox CPU (per scenario, first round), mutex, block and heap profiles to this directory; reads: CPU profiles of letterbox during LMTP delivery and STORE 1:* at the end of the run; needs `letterbox serve --pprof ADDR`")
	lbBin := flag.String("letterbox-bin", "", "use this letterbox binary instead of building ./cmd/letterbox (mixed and reads)")
	argon := flag.String("argon2", "doveadm", "mixed, reads: password hashes: \"doveadm\" (doveadm pw -s ARGON2ID parameters on both sides), \"letterbox\" (letterbox defaults on both sides) or \"light\" (m=4MiB,t=1,p=1 on both sides)")
	scenarioRE := flag.String("scenarios", "", "mixed: run only the scenarios matching this regexp (names like reconnect/shared/10, stay/spread20/50)")
	lbSet := flag.String("letterbox-set", "", "mixed, reads: letterbox configuration keys to set, as key=value,key=value (e.g. max_failures_per_ip=10 to keep that default)")
	dcLogin := flag.String("dovecot-login", "security", "mixed: Dovecot's login process mode: \"security\" (its default, a process per connection) or \"performance\" (service_count = 0)")
	sampleEvery := flag.Duration("sample", 250*time.Millisecond, "mixed: memory sampling interval")
	// The reads workload's flags (it also takes -messages, -rounds, -c,
	// -quick, -seed, -argon2, -letterbox-bin, -letterbox-set, -keep).
	subject := flag.String("subject", "water", "reads: the SEARCH SUBJECT word")
	from := flag.String("from", "sender7@example0.org", "reads: the SEARCH FROM address")
	bodyWord := flag.String("body", "quokka", "reads: the SEARCH BODY word")
	textWord := flag.String("text", "quokka", "reads: the SEARCH TEXT word")
	logins := flag.Int("logins", 40, "reads: logins per round in the concurrent login run")
	loginWorkers := flag.Int("login-workers", 8, "reads: concurrent clients in the concurrent login run")
	loginSamples := flag.Int("login-samples", 5, "reads: sequential LOGINs timed per round and server")
	// The scale workload's flags (it also takes -rounds, -c, -seed,
	// -subject, -body, -argon2, -letterbox-bin, -letterbox-set, -keep,
	// -profile).
	sizes := flag.String("sizes", "10000,100000", "scale: mailbox sizes, ascending; the mailbox grows from one to the next")
	drivers := flag.String("letterbox-drivers", "sqlite", "reads, scale: letterbox store drivers to run, comma-separated: sqlite, postgres")
	pgDSN := flag.String("postgres-dsn", "", "reads, scale: database for the postgres driver (each letterbox gets a fresh schema in it, dropped afterwards unless -keep); default $LETTERBOX_TEST_POSTGRES_DSN or "+defaultBenchPostgresDSN)
	scaleDovecot := flag.Bool("scale-dovecot", false, "scale: run Dovecot at every size too")
	attach := flag.Float64("attach-rate", 0.1, "scale: share of corpus messages with a 100-500 KB attachment")
	// The accounts workload's flags (it also takes -rounds, -c, -seed,
	// -argon2, -letterbox-bin, -letterbox-set, -keep).
	accounts := flag.Int("accounts", 2000, "accounts: accounts on each server")
	perAccount := flag.Int("per-account", 20, "accounts: messages delivered to each account's INBOX")
	sessions := flag.Int("sessions", 500, "accounts: concurrent IDLE sessions, each a different account")
	sample := flag.Int("account-sample", 50, "accounts: accounts timed per round for the open, STATUS and POP3 sequences")
	cliSample := flag.Int("cli-sample", 20, "accounts: letterbox accounts created with `letterbox user add` (timed one by one) instead of the store API")
	idleWait := flag.Duration("idle-wait", 45*time.Second, "accounts: how long an IDLE session may take to see its delivery before the run fails")
	reuse := flag.String("reuse", "", "scale: serve the workspace a -keep run of one SQLite letterbox left (same -seed and -attach-rate) with this run's binary, delivering only what its INBOX lacks")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	switch *workload {
	case "default":
	case "accounts":
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["c"] {
			*c = 4
		}
		if !set["argon2"] {
			*argon = "light"
		}
		if *accounts < 1 || *perAccount < 1 || *sessions < 1 || *sample < 1 || *rounds < 1 || *c < 1 || *cliSample < 0 || *idleWait <= 0 {
			log.Fatalf("need -accounts, -per-account, -sessions, -account-sample, -rounds, -c ≥ 1, -cli-sample ≥ 0, -idle-wait > 0")
		}
		if *sessions > *accounts {
			log.Fatalf("-sessions %d: each IDLE session is a different account, and there are %d (-accounts)", *sessions, *accounts)
		}
		lbKeys, err := parseKeyValues(*lbSet)
		if err != nil {
			log.Fatal(err)
		}
		err = runAccounts(accountsConfig{accounts: *accounts, perAccount: *perAccount, sessions: *sessions, sample: *sample,
			rounds: *rounds, senders: *c, seed: *seed, argon2: *argon, bin: *lbBin, keep: *keep, lbSet: lbKeys,
			cliSample: *cliSample, idleWait: *idleWait, idleTarget: 20})
		if err != nil {
			log.Fatal(err)
		}
		return
	case "reads":
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["messages"] {
			*messages = 10000
		}
		if !set["c"] {
			*c = 4
		}
		if *quick {
			if !set["messages"] {
				*messages = 1000
			}
			if !set["rounds"] {
				*rounds = 1
			}
			if !set["logins"] {
				*logins = 16
			}
			if !set["login-samples"] {
				*loginSamples = 3
			}
		}
		if *only != "" {
			log.Fatalf("-workload reads runs both servers; -only is not supported")
		}
		if *messages < 10 || *rounds < 1 || *c < 1 || *logins < 1 || *loginWorkers < 1 || *loginSamples < 1 {
			log.Fatalf("need -messages ≥ 10, -rounds ≥ 1, -c ≥ 1, -logins ≥ 1, -login-workers ≥ 1, -login-samples ≥ 1")
		}
		lbKeys, err := parseKeyValues(*lbSet)
		if err != nil {
			log.Fatal(err)
		}
		drv, err := parseDrivers(*drivers)
		if err != nil {
			log.Fatal(err)
		}
		err = runReads(readsConfig{messages: *messages, rounds: *rounds, senders: *c, loginSamples: *loginSamples,
			logins: *logins, loginWorkers: *loginWorkers, seed: *seed, subject: *subject, from: *from,
			body: *bodyWord, text: *textWord, argon2: *argon, bin: *lbBin, keep: *keep, lbSet: lbKeys,
			drivers: drv, pgDSN: benchPostgresDSN(*pgDSN), profileDir: *profile})
		if err != nil {
			log.Fatal(err)
		}
		return
	case "scale":
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["c"] {
			*c = 4
		}
		if !set["argon2"] {
			*argon = "light" // no login is timed
		}
		var ns []int
		for _, f := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 10 || (len(ns) > 0 && n <= ns[len(ns)-1]) {
				log.Fatalf("-sizes: %q: want ascending sizes of at least 10", *sizes)
			}
			ns = append(ns, n)
		}
		drv, err := parseDrivers(*drivers)
		if err != nil {
			log.Fatal(err)
		}
		if *reuse != "" && (len(drv) != 1 || drv[0] != "sqlite" || *scaleDovecot) {
			log.Fatalf("-reuse serves one SQLite letterbox: no -letterbox-drivers postgres, no -scale-dovecot")
		}
		if *rounds < 1 || *c < 1 || *attach < 0 || *attach > 1 {
			log.Fatalf("need -rounds ≥ 1, -c ≥ 1, 0 ≤ -attach-rate ≤ 1")
		}
		lbKeys, err := parseKeyValues(*lbSet)
		if err != nil {
			log.Fatal(err)
		}
		if *profile != "" {
			if err := os.MkdirAll(*profile, 0o755); err != nil {
				log.Fatal(err)
			}
		}
		err = runScale(scaleConfig{sizes: ns, drivers: drv, dovecot: *scaleDovecot, rounds: *rounds, senders: *c,
			seed: *seed, attach: *attach, subject: *subject, body: *bodyWord, argon2: *argon, bin: *lbBin,
			keep: *keep, lbSet: lbKeys, pgDSN: benchPostgresDSN(*pgDSN), profile: *profile, reuse: *reuse})
		if err != nil {
			log.Fatal(err)
		}
		return
	case "mixed":
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if *quick {
			if !set["rounds"] {
				*rounds = 1
			}
			if !set["duration"] {
				*duration = time.Second
			}
			if !set["messages"] {
				*messages = 30
			}
			if !set["argon2"] {
				*argon = "light"
			}
		}
		var cs []int
		for _, f := range strings.Split(*clients, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				log.Fatalf("-clients: %q is not a positive number", f)
			}
			cs = append(cs, n)
		}
		if *rounds < 1 || *duration <= 0 || *messages < 20 || *opsPerCycle < 1 {
			log.Fatalf("need -rounds ≥ 1, -duration > 0, -messages ≥ 20, -ops ≥ 1")
		}
		var filter *regexp.Regexp
		if *scenarioRE != "" {
			filter = regexp.MustCompile(*scenarioRE)
		}
		lbKeys, err := parseKeyValues(*lbSet)
		if err != nil {
			log.Fatal(err)
		}
		if *dcLogin != "security" && *dcLogin != "performance" {
			log.Fatalf("-dovecot-login must be security or performance")
		}
		runMixed(mixedConfig{dovecotLogin: *dcLogin, filter: filter, lbSet: lbKeys, rounds: *rounds, duration: *duration, clients: cs, messages: *messages, size: *size,
			opsPerCycle: *opsPerCycle, seed: *seed, only: *only, keep: *keep, profileDir: *profile, bin: *lbBin,
			argon2: *argon, sampleEvery: *sampleEvery})
		return
	default:
		log.Fatalf("-workload must be default, mixed, reads, scale or accounts")
	}
	if *mailbox < *n {
		*mailbox = *n
	}

	var names []string
	switch *only {
	case "":
		names = []string{"letterbox", "dovecot"}
	case "letterbox", "dovecot":
		names = []string{*only}
	default:
		log.Fatalf("-only must be letterbox or dovecot")
	}

	res := map[string]results{}
	for _, name := range names {
		var t *target
		var err error
		if name == "letterbox" {
			t, err = startLetterbox()
		} else {
			t, err = startDovecot()
		}
		if err != nil {
			log.Fatalf("start %s: %v", name, err)
		}
		r, err := measure(t, *n, *c, *mailbox, *size, *repeats)
		t.stop()
		if !*keep {
			os.RemoveAll(t.workspace)
		} else {
			log.Printf("%s workspace kept in %s", name, t.workspace)
		}
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		res[name] = r
	}
	report(res, *n, *c, *mailbox, *size)
}

// measure runs every benchmark against one target.
func measure(t *target, n, c, mailbox, size, repeats int) (results, error) {
	var r results
	log.Printf("%s: delivering %d messages over LMTP with %d connections", t.name, n, c)
	d, err := deliverLMTP(t.lmtpAddr, t.user, n, c, size, 0)
	if err != nil {
		return r, fmt.Errorf("LMTP: %w", err)
	}
	r.lmtpRate = float64(n) / d.Seconds()
	if mailbox > n {
		log.Printf("%s: filling the mailbox to %d messages", t.name, mailbox)
		if _, err := deliverLMTP(t.lmtpAddr, t.user, mailbox-n, c, size, n); err != nil {
			return r, fmt.Errorf("LMTP fill: %w", err)
		}
	}
	r.mailboxFilled = mailbox
	for i := 0; i < repeats; i++ {
		d, count, err := selectFetch(t.imapAddr, t.user, t.pass)
		if err != nil {
			return r, fmt.Errorf("IMAP: %w", err)
		}
		if count != mailbox {
			return r, fmt.Errorf("IMAP FETCH 1:* returned %d messages, want %d", count, mailbox)
		}
		r.fetched = count
		if i == 0 {
			r.selectCold, r.selectWarm = d, d
		} else if d < r.selectWarm {
			r.selectWarm = d
		}
	}
	log.Printf("%s: POP3 RETR of %d messages", t.name, mailbox)
	d, msgs, bytes, err := retrAll(t.pop3Addr, t.user, t.pass)
	if err != nil {
		return r, fmt.Errorf("POP3: %w", err)
	}
	if msgs != mailbox {
		return r, fmt.Errorf("POP3 STAT says %d messages, want %d", msgs, mailbox)
	}
	r.pop3, r.pop3Messages, r.pop3Bytes = d, msgs, bytes
	return r, nil
}

// report prints the numbers and, when both ran, letterbox/Dovecot ratios
// where above 1 means letterbox is faster.
func report(res map[string]results, n, c, mailbox, size int) {
	lb, hasLB := res["letterbox"]
	dc, hasDC := res["dovecot"]
	fmt.Printf("\nletterbox vs Dovecot on this machine (%d messages of ~%d bytes; LMTP with %d connections; mailbox of %d)\n\n", n, size, c, mailbox)
	fmt.Printf("%-50s %14s %14s %10s\n", "measurement", "letterbox", "dovecot", "ratio")
	fmt.Println(strings.Repeat("-", 91))
	row := func(name string, l, d float64, unit string, higherIsBetter bool) {
		ls, ds, rs := "-", "-", "-"
		if hasLB {
			ls = fmt.Sprintf("%.1f %s", l, unit)
		}
		if hasDC {
			ds = fmt.Sprintf("%.1f %s", d, unit)
		}
		if hasLB && hasDC && l > 0 && d > 0 {
			if higherIsBetter {
				rs = fmt.Sprintf("%.2fx", l/d)
			} else {
				rs = fmt.Sprintf("%.2fx", d/l)
			}
		}
		fmt.Printf("%-50s %14s %14s %10s\n", name, ls, ds, rs)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	row("LMTP delivery throughput", lb.lmtpRate, dc.lmtpRate, "msg/s", true)
	row("IMAP SELECT + FETCH 1:* (FLAGS ENVELOPE), first", ms(lb.selectCold), ms(dc.selectCold), "ms", false)
	row("IMAP SELECT + FETCH 1:* (FLAGS ENVELOPE), best", ms(lb.selectWarm), ms(dc.selectWarm), "ms", false)
	row("POP3 RETR of every message", ms(lb.pop3), ms(dc.pop3), "ms", false)
	fmt.Println()
	fmt.Println("ratio: how many times faster letterbox is (above 1: letterbox wins).")
}

// parseKeyValues parses -letterbox-set: key=value,key=value.
func parseKeyValues(s string) (map[string]string, error) {
	keys := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("-letterbox-set: %q is not key=value", kv)
		}
		keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return keys, nil
}

// parseDrivers checks -letterbox-drivers.
func parseDrivers(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f != "sqlite" && f != "postgres" {
			return nil, fmt.Errorf("-letterbox-drivers: %q is not sqlite or postgres", f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}
