//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Service names, each with the port the zero-config server uses. The e2e
// harness moves every one of them to a free loopback port.
var defaultPorts = map[string]int{
	"smtp":        2525,
	"submission":  5587,
	"submissions": 5465,
	"lmtp":        2424,
	"pop3":        1110,
	"pop3s":       1995,
	"imap":        1143,
	"imaps":       1993,
	"jmap":        8443,
}

// cheapHashEnv makes `user add` hash with cheap argon2id parameters, and
// `serve` use them for the dummy hash it checks unknown users against (see
// cmd/letterbox's package comment), so tests do not spend 64 MiB per hash.
const cheapHashEnv = "LETTERBOX_TEST_CHEAP_HASH=1"

// cheapHash sets the same cheap parameters through the config's [auth] keys.
var cheapHash = map[string]string{
	"argon2_memory":  `"64KiB"`,
	"argon2_time":    "1",
	"argon2_threads": "1",
}

// server is one running letterbox process with its own data directory.
type server struct {
	t       testing.TB
	dataDir string
	config  string
	ports   map[string]int
	cmd     *exec.Cmd
	log     *syncBuffer
	exited  chan struct{}
}

// syncBuffer collects the server's output from its pipe goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer starts letterbox on a temp data directory with every listener on
// a free 127.0.0.1 port and waits until all of them accept connections.
func startServer(t testing.TB) *server {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith is startServer with a last edit of the config text (nil:
// none), e.g. to choose another store driver.
func startServerWith(t testing.TB, edit func(cfg string) string) *server {
	t.Helper()
	s := &server{t: t, dataDir: filepath.Join(t.TempDir(), "data"), log: &syncBuffer{}}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.writeConfig(edit)
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("letterbox output:\n%s", s.log.String())
		}
	})
	return s
}

// writeConfig asks the binary for its default configuration and rewrites
// every default port to a free one, keeping everything else as it is.
func (s *server) writeConfig(edit func(string) string) {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, letterboxBin, "config", "defaults").Output()
	if err != nil {
		t.Fatalf("letterbox config defaults: %v\n%s", err, exitStderr(err))
	}
	s.ports = map[string]int{}
	byDefault := map[int]string{}
	for name, p := range defaultPorts {
		byDefault[p] = name
	}
	used := map[string]bool{}
	pool := freePorts(t, len(defaultPorts))
	re := regexp.MustCompile(`(:|=\s*)(\d{4})\b`)
	cfg := re.ReplaceAllStringFunc(string(out), func(m string) string {
		sub := re.FindStringSubmatch(m)
		p, _ := strconv.Atoi(sub[2])
		name, ok := byDefault[p]
		if !ok {
			return m
		}
		if _, done := s.ports[name]; !done {
			s.ports[name], pool = pool[0], pool[1:]
		}
		used[name] = true
		return sub[1] + strconv.Itoa(s.ports[name])
	})
	for key, value := range cheapHash {
		re := regexp.MustCompile(`(?m)^` + key + `\s*=.*$`)
		if !re.MatchString(cfg) {
			t.Logf("letterbox config defaults has no %s key; password hashing stays expensive", key)
		}
		cfg = re.ReplaceAllString(cfg, key+" = "+value)
	}
	for name := range defaultPorts {
		if !used[name] {
			t.Fatalf("letterbox config defaults does not mention the %s port %d; output:\n%s", name, defaultPorts[name], out)
		}
	}
	if edit != nil {
		cfg = edit(cfg)
	}
	s.config = filepath.Join(filepath.Dir(s.dataDir), "letterbox.toml")
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago: all n listeners stay open until every port is chosen, so the kernel
// cannot hand out one port twice.
// freePortsNotIn is freePorts, skipping ports that text already names as
// "127.0.0.1:PORT" (a configuration's listeners).
func freePortsNotIn(t testing.TB, n int, text string) []int {
	t.Helper()
	var out []int
	for len(out) < n {
		for _, p := range freePorts(t, n-len(out)) {
			if !strings.Contains(text, "127.0.0.1:"+strconv.Itoa(p)+`"`) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// args puts the global options in front of a subcommand's arguments.
func (s *server) args(sub ...string) []string {
	return append([]string{"--data", s.dataDir, "--config", s.config}, sub...)
}

// start runs `letterbox serve` and waits for every port.
func (s *server) start() {
	t := s.t
	t.Helper()
	cmd := exec.Command(letterboxBin, s.args("serve")...)
	cmd.Env = append(os.Environ(), cheapHashEnv)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start letterbox: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(s.exited)
	deadline := time.Now().Add(30 * time.Second)
	for name, port := range s.ports {
		for {
			c, err := net.DialTimeout("tcp", s.addr(name), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.exited:
				t.Fatalf("letterbox serve exited before listening on %s (port %d): %v\noutput:\n%s", name, port, cmd.ProcessState, s.log.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("letterbox did not listen on %s (port %d) within 30s\noutput:\n%s", name, port, s.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// stop ends the server gracefully (SIGTERM), then forcibly after 10 seconds.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.t.Errorf("letterbox did not stop within 10s of SIGTERM; killing it")
		s.kill9()
	}
	s.cmd = nil
}

// kill9 kills the server with SIGKILL (no chance to clean up) and waits.
func (s *server) kill9() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// addr is "127.0.0.1:port" of a service.
func (s *server) addr(service string) string {
	p, ok := s.ports[service]
	if !ok {
		s.t.Fatalf("unknown service %q", service)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// port of a service, as a string for command lines.
func (s *server) port(service string) string {
	return strconv.Itoa(s.ports[service])
}

// certFile is the self-signed certificate made on first start.
func (s *server) certFile() string {
	return filepath.Join(s.dataDir, "tls", "cert.pem")
}

// tlsConfig trusts exactly the server's certificate and checks that it is
// valid for 127.0.0.1.
func (s *server) tlsConfig() *tls.Config {
	s.t.Helper()
	pem, err := os.ReadFile(s.certFile())
	if err != nil {
		s.t.Fatalf("read server certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		s.t.Fatalf("%s holds no PEM certificate", s.certFile())
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// addUser creates an account with `letterbox user add`, password on stdin.
func (s *server) addUser(name, password string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, letterboxBin, s.args("user", "add", name)...)
	cmd.Env = append(os.Environ(), cheapHashEnv)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within a minute, killed: %w", ctx.Err())
		}
		s.t.Fatalf("letterbox user add %s: %v\n%s", name, err, out)
	}
}

// exitStderr extracts stderr from an *exec.ExitError for messages.
func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// user is the account most tests use.
const (
	alice     = "alice@example.com"
	alicePass = "correct horse battery staple"
	bob       = "bob@example.com"
	bobPass   = "bob's secret 42"
)

// startWithUsers starts a server with alice and bob.
func startWithUsers(t testing.TB) *server {
	s := startServer(t)
	s.addUser(alice, alicePass)
	s.addUser(bob, bobPass)
	return s
}

func (s *server) String() string { return fmt.Sprintf("letterbox(%s)", s.dataDir) }
