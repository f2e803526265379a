//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// letterboxBin is the binary built once by TestMain.
var letterboxBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "letterbox-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	letterboxBin = filepath.Join(dir, "letterbox")
	build := exec.Command("go", "build", "-o", letterboxBin, "./cmd/letterbox")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building ./cmd/letterbox failed: %v\n%s\n", err, out)
		fmt.Fprintln(os.Stderr, "FAIL: every e2e test needs the binary")
		return 1
	}
	return m.Run()
}
