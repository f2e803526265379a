//go:build e2e

package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestZeroConfigServe starts `letterbox serve` with nothing but a data
// directory: every listener comes up on its documented 127.0.0.1 port, a
// self-signed certificate appears under DATA/tls, and the start-up message
// says how to add a user. Skipped when one of those ports is taken (a
// developer's own server, say).
func TestZeroConfigServe(t *testing.T) {
	for name, p := range defaultPorts {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Skipf("default %s port %d is in use on this machine", name, p)
		}
		l.Close()
	}
	data := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(letterboxBin, "serve", "--data", data)
	cmd.Env = append(os.Environ(), cheapHashEnv, "LETTERBOX_DATA=")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for name, p := range defaultPorts {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				t.Fatalf("serve exited before listening on %s:\n%s", addr, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("nothing listens on %s (%s) after 30s:\n%s", addr, name, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The listeners accept as soon as they are bound; give the start-up
	// message a moment to follow.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !strings.Contains(out.String(), "user add"); {
		time.Sleep(50 * time.Millisecond)
	}
	for name, p := range defaultPorts {
		if addr := "127.0.0.1:" + strconv.Itoa(p); !strings.Contains(out.String(), addr) {
			t.Errorf("start-up message does not mention %s (%s):\n%s", addr, name, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(data, "tls", "cert.pem")); err != nil {
		t.Errorf("no self-signed certificate: %v", err)
	}
	if !strings.Contains(out.String(), "user add") {
		t.Errorf("start-up message does not say how to add a user:\n%s", out.String())
	}
}
