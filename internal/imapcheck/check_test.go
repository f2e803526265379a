package imapcheck

import (
	"context"
	"flag"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Longer runs, or a replay of a failure's seed:
//
//	go test ./internal/imapcheck -run TestCheckSQLite -check.duration=5m -check.sessions=12
//	go test ./internal/imapcheck -run TestCheckSQLite -check.seed=12345
var (
	flagDuration  = flag.Duration("check.duration", 0, "random phase of each checker run (default 8s)")
	flagSeed      = flag.Uint64("check.seed", 0, "seed of the random choices (default: from the clock, logged)")
	flagSessions  = flag.Int("check.sessions", 0, "concurrent IMAP sessions (default 6)")
	flagKeepGoing = flag.Bool("check.keepgoing", false, "record up to 20 violations instead of stopping at the first")
	flagTarget    = flag.Int("check.size", 0, "message count the mailbox hovers around (default 30)")
)

func testConfig(t *testing.T, c *Cluster) Config {
	d := *flagDuration
	if d == 0 {
		d = 8 * time.Second
	}
	return Config{
		Addrs:      c.Addrs,
		User:       c.User,
		Password:   c.Password,
		Sessions:   *flagSessions,
		Duration:   d,
		Seed:       *flagSeed,
		KeepGoing:  *flagKeepGoing,
		TargetSize: *flagTarget,
		Logf:       t.Logf,
	}
}

func report(t *testing.T, c *Cluster, res *Result) {
	t.Helper()
	t.Log(res.Summary())
	if len(res.Violations) == 0 {
		return
	}
	for _, v := range res.Violations {
		t.Errorf("%s", v)
	}
	if lines := c.Log.Lines(40); len(lines) > 0 {
		t.Logf("server log (last lines):\n  %s", strings.Join(lines, "\n  "))
	}
	t.Errorf("replay with: go test ./internal/imapcheck -run '%s$' -check.seed=%d", t.Name(), res.Seed)
}

// closeCluster stops the servers; a server that cannot stop (a session
// stuck in a loop or a lock) fails the test with every goroutine's stack
// instead of hanging it.
func closeCluster(t *testing.T, c *Cluster) {
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("the servers did not stop within 30s; goroutines:\n%s", buf)
	}
}

func TestCheckSQLite(t *testing.T) {
	ctx := context.Background()
	c, err := StartSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer closeCluster(t, c)
	res, err := Run(ctx, testConfig(t, c))
	if err != nil {
		t.Fatal(err)
	}
	report(t, c, res)
}
