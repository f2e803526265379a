package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// profileSeconds is how long each -profile CPU profile of the reads
// workload runs.
const profileSeconds = 8

// profileReads writes CPU profiles of letterbox s into cfg.profileDir,
// after every timed row (the extra work changes the mailbox): one while
// cfg.senders LMTP senders deliver the corpus again (lmtp-NAME.pprof),
// and one while one client alternates `STORE 1:* +FLAGS (\Seen)` and
// `-FLAGS` (store-NAME.pprof). These are the two rows of issue 7 that
// miss their target; the profiles show where their time goes.
func profileReads(cfg readsConfig, s *readsServer, msgs []string) error {
	if s.t.pprof == "" {
		return fmt.Errorf("no pprof address")
	}
	if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
		return err
	}
	file := func(kind string) string { return filepath.Join(cfg.profileDir, kind+"-"+s.name+".pprof") }
	path := "profile?seconds=" + strconv.Itoa(profileSeconds)

	// LMTP: deliver until the profile is taken.
	prof := make(chan error, 1)
	go func() { prof <- fetchProfile(s.t.pprof, path, file("lmtp")) }()
	deadline := time.Now().Add(profileSeconds * time.Second)
	delivered := 0
	for pass := 0; time.Now().Before(deadline); pass++ {
		// New content every pass, as in the fill: a repeated message is
		// only a reference to a stored blob, which skips most of the work.
		hi := min(len(msgs), 2000)
		fresh := make([]string, hi)
		for i, m := range msgs[:hi] {
			fresh[i] = fmt.Sprintf("X-Profile-Pass: %d\r\n", pass) + m
		}
		if _, _, err := deliverCorpus(s.t.lmtpAddr, s.t.user, fresh, 0, hi, cfg.senders); err != nil {
			return fmt.Errorf("LMTP: %w", err)
		}
		delivered += hi
	}
	if err := <-prof; err != nil {
		return err
	}
	log.Printf("profile: %s (%d messages delivered meanwhile)", file("lmtp"), delivered)

	// STORE 1:* ±FLAGS (\Seen), one client.
	c, err := dialLogin(s.t.imapAddr, s.t.user, s.t.pass, true)
	if err != nil {
		return err
	}
	defer c.logout()
	go func() { prof <- fetchProfile(s.t.pprof, path, file("store")) }()
	deadline = time.Now().Add(profileSeconds * time.Second)
	stores := 0
	for time.Now().Before(deadline) {
		op := "+"
		if stores%2 == 1 {
			op = "-"
		}
		if _, err := c.do(`STORE 1:* `+op+`FLAGS (\Seen)`, false, nil); err != nil {
			return fmt.Errorf("STORE: %w", err)
		}
		stores++
	}
	if err := <-prof; err != nil {
		return err
	}
	log.Printf("profile: %s (%d STOREs of every message meanwhile)", file("store"), stores)
	return nil
}

// fillProfileSeconds is how long the -profile CPU profile of the first
// fill slice runs: less than the slice takes at the defaults (10,000
// messages in 3 slices, about 5 s each), so it sees deliveries only.
const fillProfileSeconds = 2

// profileFill starts a CPU profile of letterbox s while it receives the
// first fill slice (fill-NAME.pprof in cfg.profileDir): the deliveries
// the LMTP row measures, into a mailbox that is still growing, which
// profileReads' redelivery at the end does not see. The channel reports
// when the profile is written; it is closed at once when there is none to
// take.
func profileFill(cfg readsConfig, s *readsServer, round int) <-chan error {
	done := make(chan error, 1)
	if cfg.profileDir == "" || round != 0 || s.t.pprof == "" {
		close(done)
		return done
	}
	if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
		done <- err
		return done
	}
	file := filepath.Join(cfg.profileDir, "fill-"+s.name+".pprof")
	go func() {
		err := fetchProfile(s.t.pprof, "profile?seconds="+strconv.Itoa(fillProfileSeconds), file)
		if err == nil {
			log.Printf("profile: %s (the first %d s of fill slice 1)", file, fillProfileSeconds)
		}
		done <- err
	}()
	return done
}
