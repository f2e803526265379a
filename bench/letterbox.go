package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
)

// letterboxOptions shape one letterbox under test. The zero value is the
// default benchmark's: the bench user, the default configuration.
type letterboxOptions struct {
	// bin is a prebuilt letterbox binary; "" builds ./cmd/letterbox.
	bin string
	// users maps user names to passwords; nil means the bench user.
	users map[string]string
	// set replaces "key = value" lines of the default configuration:
	// set["argon2_time"] = "3" rewrites every line whose key is
	// argon2_time (keys are unique per section; a key present in several
	// sections, such as max_connections_per_ip, is set in all of them).
	set map[string]string
	// pprof, when not "", is passed as `serve --pprof ADDR`.
	pprof string
}

// startLetterbox builds ./cmd/letterbox, writes its default configuration
// with the listeners moved to free loopback ports, adds the bench user and
// starts `letterbox serve`.
func startLetterbox() (*target, error) {
	return startLetterboxWith(letterboxOptions{})
}

// startLetterboxWith is startLetterbox with options (see letterboxOptions).
func startLetterboxWith(o letterboxOptions) (*target, error) {
	ws, err := os.MkdirTemp("", "letterbox-bench-")
	if err != nil {
		return nil, err
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(ws, "letterbox")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/letterbox").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/letterbox (run from the repository root): %v\n%s", err, out)
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	defaults, err := exec.Command(bin, "config", "defaults").Output()
	if err != nil {
		return nil, fmt.Errorf("letterbox config defaults: %v", err)
	}
	ports := map[string]int{}
	cfg := string(defaults)
	services := []struct {
		key  string
		port int
	}{{"lmtp", 2424}, {"pop3", 1110}, {"imap", 1143}, {"smtp", 2525}, {"submission", 5587}, {"submissions", 5465}, {"pop3s", 1995}, {"imaps", 1993}, {"jmap", 8443}}
	pool, err := loopback.FreePorts(len(services))
	if err != nil {
		return nil, err
	}
	for i, svc := range services {
		p := pool[i]
		ports[svc.key] = p
		cfg = strings.ReplaceAll(cfg, ":"+strconv.Itoa(svc.port)+`"`, ":"+strconv.Itoa(p)+`"`)
	}
	set := map[string]string{"level": `"warn"`}
	for k, v := range o.set {
		set[k] = v
	}
	if cfg, err = setConfigKeys(cfg, set); err != nil {
		return nil, err
	}
	config := filepath.Join(ws, "letterbox.toml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(ws, "data")
	args := func(sub ...string) []string { return append([]string{"--data", data, "--config", config}, sub...) }
	users := o.users
	if users == nil {
		users = map[string]string{benchUser: benchPass}
	}
	// Two at a time: each hashes its password, which is most of the time.
	names := sortedKeys(users)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, u := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			add := exec.Command(bin, args("user", "add", u)...)
			add.Stdin = strings.NewReader(users[u] + "\n")
			if out, err := add.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("letterbox user add %s: %v\n%s", u, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	addr := func(k string) string { return loopback.Addr(ports[k]) }
	t := &target{name: "letterbox", lmtpAddr: addr("lmtp"), imapAddr: addr("imap"), pop3Addr: addr("pop3"),
		user: benchUser, pass: benchPass, workspace: ws, config: cfg, bin: bin, dataDir: data, configPath: config}
	t.pprof = o.pprof
	if err := serveLetterbox(t, o.pprof); err != nil {
		return nil, err
	}
	return t, nil
}

// setConfigKeys replaces "key = value" lines of cfg (see
// letterboxOptions.set).
func setConfigKeys(cfg string, set map[string]string) (string, error) {
	for k, v := range set {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(k) + `\s*=\s*(.*)$`)
		m := re.FindStringSubmatch(cfg)
		if m == nil {
			return "", fmt.Errorf("letterbox config defaults has no key %q", k)
		}
		if strings.HasPrefix(m[1], `"`) && !strings.HasPrefix(v, `"`) {
			v = strconv.Quote(v) // a string key given bare: login_cache_ttl=0s
		}
		cfg = re.ReplaceAllLiteralString(cfg, k+" = "+v)
	}
	return cfg, nil
}

// restartLetterbox stops t, changes keys of its configuration and serves
// the same data directory again on the same ports.
func restartLetterbox(t *target, set map[string]string) error {
	t.stop()
	cfg, err := setConfigKeys(t.config, set)
	if err != nil {
		return err
	}
	if err := os.WriteFile(t.configPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	t.config = cfg
	return serveLetterbox(t, t.pprof)
}

// serveLetterbox runs `letterbox serve` for t (its binary, data directory
// and configuration file), sets t.stop and t.pid and waits until the
// LMTP, IMAP and POP3 listeners accept connections.
func serveLetterbox(t *target, pprof string) error {
	ws := t.workspace
	args := func(sub ...string) []string {
		return append([]string{"--data", t.dataDir, "--config", t.configPath}, sub...)
	}
	logf, err := os.OpenFile(filepath.Join(ws, "letterbox.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	serveArgs := args("serve")
	if pprof != "" {
		serveArgs = append(serveArgs, "--pprof", pprof)
	}
	cmd := exec.Command(t.bin, serveArgs...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	}
	t.stop, t.pid = stop, cmd.Process.Pid
	wait := []string{t.lmtpAddr, t.imapAddr, t.pop3Addr}
	if pprof != "" {
		wait = append(wait, pprof)
	}
	if err := loopback.Wait(30*time.Second, exited, wait...); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(ws, "letterbox.log"))
		return fmt.Errorf("%v\nletterbox output:\n%s", err, log)
	}
	return nil
}

// letterboxHasPprof reports whether `letterbox serve -h` mentions a pprof
// flag.
func letterboxHasPprof(bin string) bool {
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	return strings.Contains(string(out), "pprof")
}

// buildLetterbox returns prebuilt, or builds ./cmd/letterbox once into a
// temp directory that cleanup removes (the mixed and reads workloads).
func buildLetterbox(prebuilt string) (bin string, cleanup func()) {
	if prebuilt != "" {
		return prebuilt, func() {}
	}
	dir, err := os.MkdirTemp("", "letterbox-bin-")
	if err != nil {
		log.Fatal(err)
	}
	bin = filepath.Join(dir, "letterbox")
	log.Printf("building ./cmd/letterbox")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/letterbox").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		log.Fatalf("go build ./cmd/letterbox (run from the repository root; -letterbox-bin takes a prebuilt one): %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }
}
