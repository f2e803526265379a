package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Setup shared by the workloads.

// liftLetterboxLimits raises letterbox's connection limits and its
// failed-login allowance per address above what a workload opens from
// 127.0.0.1 (in-flight logins count against max_failures_per_ip, so more
// than 10 concurrent logins from one address would be refused), then
// applies the -letterbox-set keys, which win.
func liftLetterboxLimits(lbSet, user map[string]string) {
	lbSet["max_connections_per_ip"] = "10000"
	lbSet["max_connections_per_user"] = "10000"
	lbSet["max_connections"] = "10000"
	lbSet["max_failures_per_ip"] = "100000"
	for k, v := range user {
		lbSet[k] = v
	}
}

// inBackground runs f in its own goroutine (a corpus is generated while
// the servers start); the function it returns waits for f's result and
// says how long f took.
func inBackground[T any](f func() (T, error)) func() (T, time.Duration, error) {
	type result struct {
		v   T
		err error
		d   time.Duration
	}
	ch := make(chan result, 1)
	go func() {
		t0 := time.Now()
		v, err := f()
		ch <- result{v, err, time.Since(t0)}
	}()
	return func() (T, time.Duration, error) {
		r := <-ch
		return r.v, r.d, r.err
	}
}

// dovecotLimitsConfig lifts Dovecot's per-user-and-IP connection limit
// (10) and its process and client limits above what a workload opens:
// imapProcs imap processes (one per session), clients per service.
func dovecotLimitsConfig(imapProcs, clients int) string {
	return fmt.Sprintf(`default_process_limit = 200
default_client_limit = %d
service imap {
  process_limit = %d
}
service pop3 {
  process_limit = 64
}
protocol imap {
  mail_max_userip_connections = 10000
}
protocol pop3 {
  mail_max_userip_connections = 10000
}
`, clients, imapProcs)
}

// runWorkers runs worker in n goroutines and returns the wall time until
// all returned and the first error any of them returned (nil: none).
func runWorkers(n int, worker func() error) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Go(func() {
			if err := worker(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	return d, <-errs
}

// parallel calls fn(i) for every i in [0, n) from workers goroutines; a
// worker stops at its first error, which is returned.
func parallel(n, workers int, fn func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	return runWorkers(workers, func() error {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return nil
			}
			if err := fn(i); err != nil {
				return err
			}
		}
	})
}
