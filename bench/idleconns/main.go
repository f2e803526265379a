// Command idleconns measures what idle IMAP connections cost a letterbox
// server: it starts `letterbox serve` (or uses a running server), opens -n
// connections spread over the source addresses 127.0.0.2 to 127.0.0.250 (so
// the per-address limit stays at its default), optionally logs each one in
// and SELECTs INBOX and IDLEs, and reports the server's resident memory
// (VmRSS, and its peak VmHWM, from /proc/PID/status) per connection and how
// fast the connections were set up.
//
//	go run ./bench/idleconns -n 1000                 # unauthenticated
//	go run ./bench/idleconns -n 10000 -mode idle     # LOGIN + SELECT + IDLE
//	go run ./bench/idleconns -mode idle -compress    # the same, COMPRESS=DEFLATE on
//	go run ./bench/idleconns -bin /tmp/old/letterbox # another build
//	go run ./bench/idleconns -addr 127.0.0.1:143 -pid 1234 -user u -pass p
//
// Logins pay the argon2id password check (64 MiB, about 70 ms of two cores
// by default); -argon2-memory makes the bench account's hash cheaper so the
// connection cost can be told apart from the password check's.
//
// The file-descriptor limit is raised to the hard limit for this process
// and the server it starts. Run from the repository root.
package main

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
)

const (
	benchUser = "idle@example.com"
	benchPass = "idle bench password"
)

type options struct {
	n        int
	mode     string
	conc     int
	settle   time.Duration
	bin      string
	addr     string
	pid      int
	user     string
	pass     string
	useTLS   bool
	compress bool
	argonMem string
	rounds   int
	keep     bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "connections to open")
	flag.StringVar(&o.mode, "mode", "unauth", `what each connection does before idling: "unauth" (greeting only), "login", or "idle" (LOGIN, SELECT INBOX, IDLE)`)
	flag.IntVar(&o.conc, "c", 32, "connections set up at once")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "wait this long after the last connection before the final memory reading")
	flag.StringVar(&o.bin, "bin", "", "letterbox binary to start (default: go build ./cmd/letterbox)")
	flag.StringVar(&o.addr, "addr", "", "use a running server at host:port instead of starting one (with -pid for memory readings)")
	flag.IntVar(&o.pid, "pid", 0, "process ID of the running server given with -addr")
	flag.StringVar(&o.user, "user", benchUser, "account for -addr")
	flag.StringVar(&o.pass, "pass", benchPass, "password for -addr")
	flag.BoolVar(&o.useTLS, "tls", false, "connect to the IMAPS port (implicit TLS) instead of plain IMAP")
	flag.BoolVar(&o.compress, "compress", false, "with -mode login or idle: COMPRESS DEFLATE (RFC 4978) right after LOGIN")
	flag.StringVar(&o.argonMem, "argon2-memory", "", `argon2id memory of the bench account's hash, e.g. "8MiB" (default: the server's default)`)
	flag.IntVar(&o.rounds, "rounds", 1, "open (and, but for the last round, close) the -n connections this many times; rounds after the first show a process whose memory has been used before, as in a server that has been running")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp directory (data, config, log)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("idleconns: ")
	switch o.mode {
	case "unauth", "login", "idle":
	default:
		log.Fatalf("-mode must be unauth, login or idle")
	}
	raiseFileLimit(o.n)

	var srv *server
	if o.addr != "" {
		srv = &server{addr: o.addr, pid: o.pid, user: o.user, pass: o.pass, stop: func() {}}
	} else {
		var err error
		if srv, err = startServer(o); err != nil {
			log.Fatal(err)
		}
	}
	defer srv.stop()

	time.Sleep(time.Second) // let the server finish starting
	before := readMem(srv.pid)
	for r := 1; r < o.rounds; r++ {
		start := time.Now()
		conns, failures := openAll(o, srv)
		elapsed := time.Since(start)
		m := readMem(srv.pid)
		for _, c := range conns {
			c.Close()
		}
		fmt.Printf("round %d: %d connections (%d failed) in %.1fs, server RSS %s\n", r, len(conns), failures, elapsed.Seconds(), mib(m.rss))
		time.Sleep(2 * time.Second) // let the server see the closes
	}
	start := time.Now()
	conns, failures := openAll(o, srv)
	elapsed := time.Since(start)
	atConnect := readMem(srv.pid)
	settled := atConnect
	deadline := time.Now().Add(o.settle)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if m := readMem(srv.pid); m.ok {
			settled.rss = m.rss
			settled.hwm = m.hwm
		}
	}
	alive := checkAlive(conns)

	fmt.Printf("server %s, mode %s, tls %v, compress %v: %d of %d connections (%d failed)\n", srv.describe(), o.mode, o.useTLS, o.compress, len(conns), o.n, failures)
	fmt.Printf("set up in %.1fs: %.0f connections/s\n", elapsed.Seconds(), float64(len(conns))/elapsed.Seconds())
	if before.ok && settled.ok && len(conns) > 0 {
		n := float64(len(conns))
		fmt.Printf("server RSS: %s before, %s when connected, %s after %v (%d still open)\n",
			mib(before.rss), mib(atConnect.rss), mib(settled.rss), o.settle, alive)
		fmt.Printf("per connection: %.1f KiB (RSS growth), %.1f KiB (whole RSS / n)\n",
			float64(settled.rss-before.rss)/n/1024, float64(settled.rss)/n/1024)
		fmt.Printf("server peak RSS (VmHWM): %s\n", mib(settled.hwm))
	} else {
		fmt.Println("no memory readings (give -pid with -addr)")
	}
	for _, c := range conns {
		c.Close()
	}
}

// server is the letterbox under test.
type server struct {
	addr       string
	pid        int
	user, pass string
	bin        string
	stop       func()
}

func (s *server) describe() string {
	if s.bin != "" {
		return s.bin
	}
	return s.addr
}

// raiseFileLimit lifts this process's (and so the server's) open-file limit
// to the hard limit, which must leave room for n connections on each side.
func raiseFileLimit(n int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Fatal(err)
	}
	if lim.Cur < uint64(n)+200 {
		log.Fatalf("open-file hard limit %d is too low for %d connections (raise it: ulimit -Hn)", lim.Max, n)
	}
}

// startServer writes a configuration with free loopback ports and the
// connection limits raised to -n, adds the bench account and starts
// `letterbox serve`.
func startServer(o options) (*server, error) {
	ws, err := os.MkdirTemp("", "letterbox-idleconns-")
	if err != nil {
		return nil, err
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(ws, "letterbox")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/letterbox").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/letterbox (run from the repository root): %v\n%s", err, out)
		}
	}
	defaults, err := exec.Command(bin, "config", "defaults").Output()
	if err != nil {
		return nil, fmt.Errorf("letterbox config defaults: %v", err)
	}
	cfg := string(defaults)
	services := []struct {
		key  string
		port int
	}{{"lmtp", 2424}, {"pop3", 1110}, {"imap", 1143}, {"smtp", 2525}, {"submission", 5587}, {"submissions", 5465}, {"pop3s", 1995}, {"imaps", 1993}, {"jmap", 8443}}
	pool, err := loopback.FreePorts(len(services))
	if err != nil {
		return nil, err
	}
	ports := map[string]int{}
	for i, svc := range services {
		ports[svc.key] = pool[i]
		cfg = strings.ReplaceAll(cfg, ":"+strconv.Itoa(svc.port)+`"`, ":"+strconv.Itoa(pool[i])+`"`)
	}
	limit := strconv.Itoa(max(o.n+100, 1000))
	cfg = setKey(cfg, "imap", "max_connections", limit)
	cfg = setKey(cfg, "imap", "max_connections_per_user", limit)
	cfg = regexp.MustCompile(`(?m)^level\s*=.*$`).ReplaceAllString(cfg, `level = "warn"`)
	if o.argonMem != "" {
		cfg = regexp.MustCompile(`(?m)^argon2_memory\s*=.*$`).ReplaceAllString(cfg, `argon2_memory = "`+o.argonMem+`"`)
	}
	config := filepath.Join(ws, "letterbox.toml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(ws, "data")
	args := func(sub ...string) []string { return append([]string{"--data", data, "--config", config}, sub...) }
	add := exec.Command(bin, args("user", "add", benchUser)...)
	add.Stdin = strings.NewReader(benchPass + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("letterbox user add: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(ws, "letterbox.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args("serve")...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	key := "imap"
	if o.useTLS {
		key = "imaps"
	}
	s := &server{addr: loopback.Addr(ports[key]), pid: cmd.Process.Pid, user: benchUser, pass: benchPass, bin: bin}
	s.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if o.keep {
			fmt.Println("kept", ws)
		} else {
			os.RemoveAll(ws)
		}
	}
	if err := loopback.Wait(30*time.Second, exited, s.addr); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// setKey sets key = value in [section] of a TOML text written by
// `letterbox config defaults`.
func setKey(cfg, section, key, value string) string {
	start := strings.Index(cfg, "["+section+"]")
	if start < 0 {
		log.Fatalf("no [%s] in the default configuration", section)
	}
	end := len(cfg)
	if i := strings.Index(cfg[start+1:], "\n["); i >= 0 {
		end = start + 1 + i
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=.*$`)
	body := cfg[start:end]
	if !re.MatchString(body) {
		log.Fatalf("no %s in [%s]", key, section)
	}
	return cfg[:start] + re.ReplaceAllString(body, key+" = "+value) + cfg[end:]
}

// openAll opens o.n connections with o.conc workers, each from the next
// source address in 127.0.0.2 .. 127.0.0.250.
func openAll(o options, srv *server) ([]net.Conn, int) {
	var (
		mu       sync.Mutex
		conns    = make([]net.Conn, 0, o.n)
		failures int
		next     atomic.Int64
		wg       sync.WaitGroup
		firstErr sync.Once
	)
	for w := 0; w < o.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					return
				}
				c, err := openOne(o, srv, i)
				mu.Lock()
				if err != nil {
					failures++
					firstErr.Do(func() { log.Printf("connection %d: %v", i, err) })
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return conns, failures
}

// openOne opens connection i and takes it to the state -mode asks for.
func openOne(o options, srv *server, i int) (net.Conn, error) {
	src := net.IPv4(127, 0, 0, byte(2+i%249))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: time.Minute}
	nc, err := d.Dial("tcp", srv.addr)
	if err != nil {
		return nil, err
	}
	if o.useTLS {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	nc.SetDeadline(time.Now().Add(10 * time.Minute))
	br := bufio.NewReaderSize(nc, 4096)
	fail := func(err error) (net.Conn, error) { nc.Close(); return nil, err }
	line, err := br.ReadString('\n')
	if err != nil {
		return fail(err)
	}
	if !strings.HasPrefix(line, "* OK") {
		return fail(fmt.Errorf("greeting: %q", strings.TrimSpace(line)))
	}
	compressed := false
	cmd := func(tag, text, want string) error {
		out := []byte(tag + " " + text + "\r\n")
		if compressed {
			out = storedBlock(out)
		}
		if _, err := nc.Write(out); err != nil {
			return err
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.HasPrefix(line, want) {
				return nil
			}
			if strings.HasPrefix(line, tag+" ") {
				return errors.New(strings.TrimSpace(line))
			}
		}
	}
	if o.mode == "login" || o.mode == "idle" {
		if err := cmd("a1", "LOGIN "+quote(srv.user)+" "+quote(srv.pass), "a1 OK"); err != nil {
			return fail(fmt.Errorf("LOGIN: %v", err))
		}
	}
	if o.compress && (o.mode == "login" || o.mode == "idle") {
		if err := cmd("z", "COMPRESS DEFLATE", "z OK"); err != nil {
			return fail(fmt.Errorf("COMPRESS: %v", err))
		}
		// This side stays cheap: stored blocks out, and a decompressor
		// only until the connection idles.
		compressed = true
		br = bufio.NewReaderSize(flate.NewReader(io.MultiReader(br, nc)), 4096)
	}
	if o.mode == "idle" {
		if err := cmd("a2", "SELECT INBOX", "a2 OK"); err != nil {
			return fail(fmt.Errorf("SELECT: %v", err))
		}
		if err := cmd("a3", "IDLE", "+"); err != nil {
			return fail(fmt.Errorf("IDLE: %v", err))
		}
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

// storedBlock is data as a raw DEFLATE stored block followed by the empty
// stored block of a sync flush (RFC 1951 §3.2.4): COMPRESS=DEFLATE input
// that needs no compressor.
func storedBlock(data []byte) []byte {
	n := len(data)
	b := append([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}, data...)
	return append(b, 0, 0, 0, 0xff, 0xff)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// checkAlive counts connections the server has not closed: a read with a
// very short deadline must time out rather than see EOF. Data (an IDLE
// keepalive) counts as alive too.
func checkAlive(conns []net.Conn) int {
	alive := 0
	var buf [512]byte
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(buf[:])
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			alive++
		}
		c.SetReadDeadline(time.Time{})
	}
	return alive
}

type mem struct {
	rss, hwm int64 // bytes
	ok       bool
}

// readMem reads VmRSS and VmHWM of pid.
func readMem(pid int) mem {
	if pid <= 0 {
		return mem{}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}
	}
	var m mem
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb << 10
			m.ok = true
		case "VmHWM:":
			m.hwm = kb << 10
		}
	}
	return m
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
