//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// inCI reports whether missing clients must fail the run (CI=true).
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// requireTool returns the path of a client program. When it is missing the
// test is skipped with a message naming it, or fails under CI=true.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if inCI() {
		t.Fatalf("%s not installed (CI=true: a missing client is a failure; .ci/run installs it)", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

// result of one client run.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return "stdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// run executes a client with a deadline, extra environment and optional
// stdin, and returns its output; it does not fail the test by itself.
func run(t testing.TB, timeout time.Duration, env []string, stdin string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return result{stdout: out.String(), stderr: errb.String(), err: err}
}

// mustRun is run that fails the test when the client fails.
func mustRun(t testing.TB, timeout time.Duration, env []string, stdin string, name string, args ...string) result {
	t.Helper()
	r := run(t, timeout, env, stdin, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), r.err, r)
	}
	return r
}

// writeFile writes content to path with the given mode or fails the test.
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
