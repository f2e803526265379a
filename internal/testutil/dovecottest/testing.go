package dovecottest

import (
	"errors"
	"os"
)

// TB is the part of testing.TB that StartT uses (so this package does not
// import testing, and bench can link it).
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
}

// StartT starts Dovecot for a test. Without Dovecot it skips the test with
// a message naming it, or fails it when CI=true (CI must not silently skip).
// At cleanup it stops Dovecot, logs its output if the test failed, and
// removes its directory.
func StartT(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: required)", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("dovecot output (%s):\n%s", s.Dir, s.Output())
		}
		os.RemoveAll(s.Dir)
	})
	return s
}
