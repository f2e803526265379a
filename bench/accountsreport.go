package main

// The accounts workload's table and notes.

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

type accountsRows []*readsRow

func (rs accountsRows) get(key string) *readsRow {
	for _, r := range rs {
		if r.key == key {
			return r
		}
	}
	panic("accounts: no row " + key)
}

func newAccountsRows(cfg accountsConfig) accountsRows {
	return accountsRows{
		{key: "lmtp", label: fmt.Sprintf("LMTP fill, %d senders, one recipient per message (one sample per fill slice)", cfg.senders), unit: "msg/s", higher: true},
		{key: "open", label: "open an account: connect + LOGIN + SELECT INBOX + UID FETCH 1:* (UID FLAGS) + FETCH last 20 (ENVELOPE BODYSTRUCTURE) + LOGOUT", unit: "ms"},
		{key: "status", label: "connect + LOGIN + STATUS INBOX (MESSAGES UNSEEN) + LOGOUT", unit: "ms"},
		{key: "pop3", label: "POP3 connect + USER/PASS + STAT + LIST + QUIT", unit: "ms"},
		{key: "connect", label: fmt.Sprintf("%d IDLE sessions opened (connect + LOGIN + SELECT + IDLE, %d at a time), wall time", cfg.sessions, idleConnectWorkers), unit: "s"},
		{key: "mem_sessions", label: fmt.Sprintf("server memory with the %d sessions idling (letterbox RSS; Dovecot PSS summed over its processes)", cfg.sessions), unit: "MiB"},
		{key: "per_session", label: "memory per idle session ((with − before the sessions) / sessions)", unit: "KiB"},
		{key: "idle", label: fmt.Sprintf("delivery → * EXISTS on the IDLE session (%d deliveries per round, end of DATA to EXISTS)", cfg.idleTarget), unit: "ms"},
	}
}

type idleMemNote struct {
	server       string
	round        int
	before, with memSample
}

// accountsReport is everything the run printed at the end.
type accountsReport struct {
	cfg                accountsConfig
	hashNote           string
	loads              []string
	corpus             *accountsCorpus
	lbCreate, dcCreate accountsCreate
	rows               accountsRows
	memFill, memEnd    []memSample // letterbox, dovecot
	diskFill, diskEnd  []int64
	idleMem            []idleMemNote
	reused             int
	dcInotify          int
	inotifyMax         int
	elapsed            time.Duration
}

func memText(name string, m memSample) string {
	if name == "dovecot" {
		return fmt.Sprintf("PSS %.1f MiB (RSS %.1f MiB summed) over %d processes", float64(m.pss)/1024, float64(m.rss)/1024, m.procs)
	}
	return fmt.Sprintf("RSS %.1f MiB (peak %.1f MiB)", float64(m.rss)/1024, float64(m.hwm)/1024)
}

func (rep *accountsReport) print() {
	cfg := rep.cfg
	nMsgs := cfg.accounts * cfg.perAccount
	fmt.Printf("\naccounts workload, letterbox (SQLite) vs Dovecot on this machine (%d CPUs): %d accounts × %d messages = %d messages (%.1f MB, %.1f KB/message, searchtest seed %d, no attachments), %d IDLE sessions, %d account(s) per sample, %d round(s), %.0fs in all\n",
		runtime.NumCPU(), cfg.accounts, cfg.perAccount, nMsgs, float64(rep.corpus.bytes)/1e6, float64(rep.corpus.bytes)/1e3/float64(len(rep.corpus.msgs)), cfg.seed, cfg.sessions, cfg.sample, cfg.rounds, rep.elapsed.Seconds())
	fmt.Printf("passwords: %s\n", rep.hashNote)
	fmt.Printf("load average (1, 5, 15 min): %s\n\n", strings.Join(rep.loads, "; "))
	fmt.Println("| measurement | letterbox median (min–max) | Dovecot median (min–max) | letterbox/Dovecot |")
	fmt.Println("| --- | --- | --- | --- |")
	for _, r := range rep.rows {
		cell := func(xs []float64) string {
			m, l, h := readsStats(xs)
			switch {
			case len(xs) == 0:
				return "-"
			case r.key == "idle":
				return fmt.Sprintf("p50 %s, p99 %s ms (%s–%s)", fmtVal(pctl(xs, 50)), fmtVal(pctl(xs, 99)), fmtVal(l), fmtVal(h))
			case len(xs) == 1:
				return fmtVal(m) + " " + r.unit
			}
			return fmt.Sprintf("%s %s (%s–%s)", fmtVal(m), r.unit, fmtVal(l), fmtVal(h))
		}
		lm, _, _ := readsStats(r.vals["letterbox"])
		dm, _, _ := readsStats(r.vals["dovecot"])
		ratio := "-"
		if lm > 0 && dm > 0 {
			ratio = fmt.Sprintf("%.2f×", lm/dm)
			if lm/dm < 0.01 {
				ratio = fmt.Sprintf("%.2g×", lm/dm)
			}
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.label, cell(r.vals["letterbox"]), cell(r.vals["dovecot"]), ratio)
	}
	fmt.Println()
	fmt.Println("letterbox/Dovecot: ratio of the medians; for msg/s higher is better, for ms, s, MiB and KiB lower is better.")
	fmt.Printf("samples: open, STATUS, POP3: %d accounts per round and server (accounts drawn without repeat from a seeded permutation, the same on both servers", cfg.sample)
	if rep.reused > 0 {
		fmt.Printf("; %d draws repeated an account: too few accounts for every draw to be a first login", rep.reused)
	} else {
		fmt.Printf("; none drawn twice, so no letterbox login was a login-cache hit")
	}
	fmt.Printf("); IDLE: one sample per round for the connect and memory rows, %d latencies per round.\n\n", cfg.idleTarget)

	fmt.Printf("accounts, letterbox: %s\n", rep.lbCreate.summary())
	fmt.Printf("accounts, Dovecot: %s\n", rep.dcCreate.summary())
	names := []string{"letterbox", "dovecot"}
	for i, n := range names {
		fmt.Printf("memory after the fill, %s: %s; at the end: %s\n", n, memText(n, rep.memFill[i]), memText(n, rep.memEnd[i]))
	}
	for i, n := range names {
		where := "data directory"
		if n == "dovecot" {
			where = "Maildirs with their indexes"
		}
		fmt.Printf("disk, %s %s: after the fill %.1f MB = %.1f KB/message, %.1f KB/account; at the end %.1f MB\n",
			n, where, float64(rep.diskFill[i])/1e6, float64(rep.diskFill[i])/1e3/float64(nMsgs), float64(rep.diskFill[i])/1e3/float64(cfg.accounts), float64(rep.diskEnd[i])/1e6)
	}
	fmt.Printf("the corpus itself: %.1f KB/message as delivered\n", float64(rep.corpus.bytes)/1e3/float64(len(rep.corpus.msgs)))
	for _, m := range rep.idleMem {
		fmt.Printf("round %d %s: before the sessions %s; with %d idling %s\n", m.round, m.server, memText(m.server, m.before), cfg.sessions, memText(m.server, m.with))
	}
	fmt.Println()
	fmt.Println("What the two servers do differently:")
	fmt.Println("- Account creation: letterbox writes each account (INBOX and the default mailboxes) to its database in one transaction; Dovecot's accounts are lines of a passwd-file the bench writes, and their Maildirs appear at the first delivery. Both hash with the same argon2id parameters.")
	fmt.Println("- Durability: letterbox syncs before it acknowledges a delivery; Dovecot runs with its default mail_fsync = optimized.")
	fmt.Println("- Sessions: letterbox serves every session in its one process; Dovecot runs one imap process per session (its default), hence the per-process sums.")
	fmt.Println("- Logins: Dovecot verifies the hash at every login (auth_cache_size = 0, its default); letterbox remembers a verified login for login_cache_ttl, but every login here is a first login of its account (see samples).")
	note := fmt.Sprintf("- IDLE: letterbox wakes its sessions from the delivery in process; Dovecot's imap processes watch the Maildir with inotify, one inotify instance per process, and fs.inotify.max_user_instances is %d on this machine", rep.inotifyMax)
	switch {
	case rep.dcInotify > 0:
		note += fmt.Sprintf(": Dovecot logged %d times over %d round(s) (about %d per round of %d sessions) that the instance limit was exceeded, and those sessions fall back to checking every mailbox_idle_check_interval (30 s by default); a Dovecot admin with many IDLE users raises that sysctl",
			rep.dcInotify, cfg.rounds, rep.dcInotify/cfg.rounds, cfg.sessions)
	case rep.dcInotify == 0:
		note += "; Dovecot logged no instance-limit warning"
	}
	fmt.Println(note + ".")
	for _, n := range names {
		xs := rep.rows.get("idle").vals[n]
		fast := 0
		for _, x := range xs {
			if x < 1000 {
				fast++
			}
		}
		fmt.Printf("  %s: %d of %d deliveries reached their IDLE session within 1 s", n, fast, len(xs))
		if fast > 0 && fast < len(xs) {
			var lo, hi []float64
			for _, x := range xs {
				if x < 1000 {
					lo = append(lo, x)
				} else {
					hi = append(hi, x)
				}
			}
			fmt.Printf(" (those: median %s ms); the other %d: median %s ms, at most %s ms", fmtVal(median(lo)), len(hi), fmtVal(median(hi)), fmtVal(pctl(hi, 100)))
		}
		fmt.Println(".")
	}
	fmt.Println("- Connections: Dovecot logs in through its default high-security login mode (a new imap-login or pop3-login process per connection, then a new imap or pop3 process for the session); letterbox serves them in its one process. The open, STATUS and POP3 rows and the session opening include that.")
}
