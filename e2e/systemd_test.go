//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contrib/systemd/letterbox.service passes systemd's own check (with
// ExecStart pointing at the built binary, which verify requires to exist)
// and keeps the hardening and the bind capability the issue asks for.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	unit, err := os.ReadFile("../contrib/systemd/letterbox.service")
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=letterbox"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	path := filepath.Join(t.TempDir(), "letterbox.service")
	writeFile(t, path, strings.ReplaceAll(text, "/usr/local/bin/letterbox", letterboxBin), 0o644)
	r := run(t, time.Minute, nil, "", analyze, "verify", path)
	if r.err != nil || strings.TrimSpace(r.stderr+r.stdout) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", r.err, r)
	}
}
