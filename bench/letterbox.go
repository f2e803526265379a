package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
)

// startLetterbox builds ./cmd/letterbox, writes its default configuration
// with the listeners moved to free loopback ports, adds the bench user and
// starts `letterbox serve`.
func startLetterbox() (*target, error) {
	ws, err := os.MkdirTemp("", "letterbox-bench-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(ws, "letterbox")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/letterbox").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/letterbox (run from the repository root): %v\n%s", err, out)
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
	}{{"lmtp", 2424}, {"pop3", 1110}, {"imap", 1143}, {"smtp", 2525}, {"submission", 5587}, {"submissions", 5465}, {"pop3s", 1995}, {"imaps", 1993}}
	pool, err := loopback.FreePorts(len(services))
	if err != nil {
		return nil, err
	}
	for i, svc := range services {
		p := pool[i]
		ports[svc.key] = p
		cfg = strings.ReplaceAll(cfg, ":"+strconv.Itoa(svc.port)+`"`, ":"+strconv.Itoa(p)+`"`)
	}
	cfg = regexp.MustCompile(`(?m)^level\s*=.*$`).ReplaceAllString(cfg, `level = "warn"`)
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
	addr := func(k string) string { return loopback.Addr(ports[k]) }
	t := &target{name: "letterbox", lmtpAddr: addr("lmtp"), imapAddr: addr("imap"), pop3Addr: addr("pop3"),
		user: benchUser, pass: benchPass, stop: stop, workspace: ws}
	if err := loopback.Wait(30*time.Second, exited, t.lmtpAddr, t.imapAddr, t.pop3Addr); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(ws, "letterbox.log"))
		return nil, fmt.Errorf("%v\nletterbox output:\n%s", err, log)
	}
	return t, nil
}
