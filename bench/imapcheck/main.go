// Command imapcheck runs the model-based multi-session IMAP checker
// (internal/imapcheck) for as long as asked, as a soak test and a
// benchmark: it prints the commands per second and every violation.
//
//	go run ./bench/imapcheck -duration 5m -sessions 12           # in-process SQLite server
//	go run ./bench/imapcheck -postgres "$DSN" -nodes 2 -duration 5m
//	go run ./bench/imapcheck -addr 127.0.0.1:1143,127.0.0.1:2143 -user u -pass p
//
// With -postgres a fresh schema is made in the database and dropped after.
// A failure prints its seed; -seed replays the same choices (the
// interleaving of sessions is the scheduler's, so it is likely, not
// certain, to fail the same way).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/imapcheck"
)

func main() { os.Exit(run()) }

func run() int {
	addr := flag.String("addr", "", "comma-separated IMAP servers sharing one store (default: start one in-process)")
	user := flag.String("user", "", "account for -addr (it must not have the checker's mailboxes yet)")
	pass := flag.String("pass", "", "password for -addr")
	pg := flag.String("postgres", "", "PostgreSQL DSN: start -nodes in-process servers on a fresh schema")
	nodes := flag.Int("nodes", 2, "servers with -postgres")
	duration := flag.Duration("duration", time.Minute, "random phase")
	sessions := flag.Int("sessions", 6, "concurrent sessions")
	seed := flag.Uint64("seed", 0, "seed (0: from the clock)")
	keepGoing := flag.Bool("keepgoing", false, "record up to -max violations instead of stopping at the first")
	maxV := flag.Int("max", 20, "violations recorded with -keepgoing")
	size := flag.Int("size", 30, "message count the mailbox hovers around")
	verbose := flag.Bool("v", false, "log progress")
	flag.Parse()

	ctx := context.Background()
	var cluster *imapcheck.Cluster
	cfg := imapcheck.Config{
		Sessions: *sessions, Duration: *duration, Seed: *seed,
		KeepGoing: *keepGoing, MaxViolations: *maxV, TargetSize: *size,
	}
	if *verbose {
		cfg.Logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	}
	switch {
	case *addr != "":
		cfg.Addrs = strings.Split(*addr, ",")
		cfg.User, cfg.Password = *user, *pass
	case *pg != "":
		dsn, drop, err := imapcheck.FreshSchema(ctx, *pg)
		if err != nil {
			fatal(err)
		}
		defer drop()
		tmp, err := os.MkdirTemp("", "imapcheck-spool")
		if err != nil {
			fatal(err)
		}
		defer os.RemoveAll(tmp)
		n := 0
		spool := func() string {
			n++
			d := fmt.Sprintf("%s/%d", tmp, n)
			os.MkdirAll(d, 0o700)
			return d
		}
		if cluster, err = imapcheck.StartPostgres(ctx, dsn, *nodes, spool); err != nil {
			fatal(err)
		}
	default:
		dir, err := os.MkdirTemp("", "imapcheck-sqlite")
		if err != nil {
			fatal(err)
		}
		defer os.RemoveAll(dir)
		if cluster, err = imapcheck.StartSQLite(ctx, dir); err != nil {
			fatal(err)
		}
	}
	if cluster != nil {
		defer cluster.Close()
		cfg.Addrs, cfg.User, cfg.Password = cluster.Addrs, cluster.User, cluster.Password
	}
	res, err := imapcheck.Run(ctx, cfg)
	if err != nil {
		fatal(err)
	}
	fmt.Println(res.Summary())
	for _, v := range res.Violations {
		fmt.Println(v)
	}
	if len(res.Violations) == 0 {
		return 0
	}
	if cluster != nil {
		if lines := cluster.Log.Lines(40); len(lines) > 0 {
			fmt.Printf("server log (last lines):\n  %s\n", strings.Join(lines, "\n  "))
		}
	}
	fmt.Printf("replay: -seed %d\n", res.Seed)
	return 1
}

// fatal ends a set-up failure (before anything needs cleaning up but a
// temp directory or schema, which a failed set-up may leave behind).
func fatal(err error) {
	fmt.Fprintln(os.Stderr, "imapcheck:", err)
	os.Exit(2)
}
