package main

// The accounts workload's setup: the corpus (searchtest messages, a
// distinct slice per account), the accounts on both servers, and the LMTP
// fill of every INBOX.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/search/searchtest"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// accountsCorpus is every message: account a's message j is msgs[a*M+j]
// (M = per-account); the messages after accounts*M are delivered to IDLE
// sessions, idleTarget per round. Each message's Message-ID is
// <index.HEX@example.org>.
type accountsCorpus struct {
	msgs  []string
	bytes int64
	m     int // per-account
	base  int // accounts × per-account
	mu    sync.Mutex
	extra map[int]int // index ≥ base → the account it was delivered to
}

// owner is the account corpus message idx belongs to, or -1.
func (c *accountsCorpus) owner(idx int) int {
	if idx < 0 {
		return -1
	}
	if idx < c.base {
		return idx / c.m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.extra[idx]; ok {
		return a
	}
	return -1
}

func generateAccountsCorpus(cfg accountsConfig) (*accountsCorpus, error) {
	base := cfg.accounts * cfg.perAccount
	n := base + cfg.rounds*cfg.idleTarget
	c := &accountsCorpus{msgs: make([]string, n), m: cfg.perAccount, base: base, extra: map[int]int{}}
	gen := searchtest.New(cfg.seed)
	for i := range c.msgs {
		// One seeded sequence, in order; no attachments (they would only
		// make the fill longer: the reads and scale workloads time them).
		c.msgs[i] = gen.Message(i, searchtest.Options{AttachmentRate: 0})
		c.bytes += int64(len(c.msgs[i]))
		// The Message-ID carries the index, so no two messages (and no
		// two accounts) share a content: letterbox stores a content once.
		id := msgIDRE.FindStringSubmatch(c.msgs[i])
		if id == nil || id[1] != fmt.Sprint(i) {
			return nil, fmt.Errorf("message %d: no Message-ID <%d.…@example.org>", i, i)
		}
	}
	return c, nil
}

// accountsCreate is how the accounts of one server were made.
type accountsCreate struct {
	what  string
	bulk  time.Duration // all but the CLI sample (letterbox) or the hashes (Dovecot)
	nBulk int
	cli   []float64     // letterbox: ms of each `letterbox user add`
	start time.Duration // Dovecot: its start with the passwd-file
}

func (c accountsCreate) summary() string {
	s := fmt.Sprintf("%s: %d in %.1fs (%.2f ms per account)", c.what, c.nBulk, c.bulk.Seconds(), ms(c.bulk)/float64(max(c.nBulk, 1)))
	if len(c.cli) > 0 {
		m, lo, hi := readsStats(c.cli)
		s += fmt.Sprintf("; %d more with `letterbox user add` one process each, one after the other: median %.0f ms (%.0f–%.0f) per account", len(c.cli), m, lo, hi)
	}
	if c.start > 0 {
		s += fmt.Sprintf("; Dovecot started with the file in %.1fs", c.start.Seconds())
	}
	return s
}

// createLetterboxAccounts makes cfg.accounts accounts in the data
// directory of t (not serving): the first cfg.cliSample with `letterbox
// user add` (password on stdin), one process after the other, each timed;
// the rest through the store API the CLI uses (sqlite.Open,
// auth.HashPassword with the configured argon2 parameters,
// CreateAccount), from NumCPU goroutines in this process: a process per
// account costs ~0.1 s of start-up and store opening, too slow for
// thousands.
func createLetterboxAccounts(t *target, cfg accountsConfig) (accountsCreate, error) {
	res := accountsCreate{what: "store API (sqlite.Open + CreateAccount, the code `letterbox user add` runs), NumCPU goroutines"}
	m, tm, p, err := letterboxArgon2(t.config)
	if err != nil {
		return res, err
	}
	params := auth.DefaultParams
	params.Memory, params.Time, params.Threads = uint32(m), uint32(tm), uint8(p)
	cli := min(cfg.cliSample, cfg.accounts)
	st, err := sqlite.Open(sqlite.Options{Dir: t.dataDir})
	if err != nil {
		return res, fmt.Errorf("opening the letterbox store: %w", err)
	}
	bulk, err := parallel(cfg.accounts-cli, runtime.NumCPU(), func(k int) error {
		i := cli + k
		h, err := auth.HashPassword(mixedPass, params)
		if err == nil {
			_, err = st.CreateAccount(context.Background(), accountName(i), h)
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", accountName(i), err)
		}
		return nil
	})
	res.bulk, res.nBulk = bulk, cfg.accounts-cli
	cerr := st.Close()
	if err != nil {
		return res, err
	}
	if cerr != nil {
		return res, cerr
	}
	for i := 0; i < cli; i++ {
		t0 := time.Now()
		add := exec.Command(t.bin, "--data", t.dataDir, "--config", t.configPath, "user", "add", accountName(i))
		add.Stdin = strings.NewReader(mixedPass + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			return res, fmt.Errorf("letterbox user add %s: %v\n%s", accountName(i), err, out)
		}
		res.cli = append(res.cli, ms(time.Since(t0)))
	}
	// Checked: the CLI lists every account.
	out, err := exec.Command(t.bin, "--data", t.dataDir, "--config", t.configPath, "user", "list").Output()
	if err != nil {
		return res, fmt.Errorf("letterbox user list: %v", err)
	}
	listed := strings.Fields(string(out))
	sort.Strings(listed)
	if len(listed) != cfg.accounts || listed[0] != accountName(0) || listed[len(listed)-1] != accountName(cfg.accounts-1) {
		return res, fmt.Errorf("letterbox user list: %d accounts (%q…), want %d", len(listed), listed[:min(len(listed), 3)], cfg.accounts)
	}
	return res, nil
}

// dovecotAccountHashes makes one passwd-file hash per account (argon2id
// m, t, p with its own salt, from NumCPU goroutines), or, when the
// parameters are doveadm's (-argon2 doveadm), reuses its one hash for
// every account as the other workloads do.
func dovecotAccountHashes(cfg accountsConfig, m, t, p int, doveadmHash string) (accountsCreate, map[string]string) {
	res := accountsCreate{what: "passwd-file lines, argon2id hashes made by the bench with per-account salts, NumCPU goroutines"}
	hashes := make(map[string]string, cfg.accounts)
	start := time.Now()
	if cfg.argon2 == "doveadm" {
		res.what = "passwd-file lines, one `doveadm pw` hash shared by every account"
		for i := 0; i < cfg.accounts; i++ {
			hashes[accountName(i)] = doveadmHash
		}
	} else {
		out := make([]string, cfg.accounts)
		parallel(cfg.accounts, runtime.NumCPU(), func(i int) error {
			salt := make([]byte, 16)
			rand.Read(salt)
			key := argon2.IDKey([]byte(mixedPass), salt, uint32(t), uint32(m), uint8(p), 32)
			b64 := base64.RawStdEncoding
			out[i] = fmt.Sprintf("{ARGON2ID}$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key))
			return nil
		})
		for i, h := range out {
			hashes[accountName(i)] = h
		}
	}
	res.bulk, res.nBulk = time.Since(start), cfg.accounts
	return res, hashes
}

// fillAccounts delivers message j of every account, for j in [lo, hi),
// over cfg.senders LMTP connections, one transaction per message, in the
// order j-major (every account's message lo, then every account's lo+1...).
func fillAccounts(s *accountsServer, c *accountsCorpus, cfg accountsConfig, lo, hi int) (time.Duration, int64, error) {
	n := (hi - lo) * cfg.accounts
	d, sent, err := deliverEach(s.t.lmtpAddr, n, cfg.senders, func(k int) (string, int) {
		a, j := k%cfg.accounts, lo+k/cfg.accounts
		return accountName(a), a*cfg.perAccount + j
	}, c.msgs)
	if err != nil {
		return 0, 0, err
	}
	for a := range s.count {
		s.count[a] += hi - lo
	}
	return d, sent, nil
}

// deliverEach delivers n messages over senders concurrent LMTP
// connections; item k is msgs[idx] to rcpt. It returns the wall time and
// the bytes sent.
func deliverEach(addr string, n, senders int, item func(k int) (rcpt string, idx int), msgs []string) (time.Duration, int64, error) {
	var next, sent atomic.Int64
	d, err := runWorkers(senders, func() error {
		l, err := dialLMTP(addr)
		if err != nil {
			return err
		}
		defer l.close()
		for {
			k := int(next.Add(1)) - 1
			if k >= n {
				return nil
			}
			rcpt, idx := item(k)
			if err := l.deliver(rcpt, msgs[idx], nil); err != nil {
				return fmt.Errorf("message %d to %s: %w", idx, rcpt, err)
			}
			sent.Add(int64(len(msgs[idx])))
		}
	})
	if err != nil {
		return 0, 0, err
	}
	return d, sent.Load(), nil
}

// lmtpConn is one LMTP client connection after LHLO.
type lmtpConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func dialLMTP(addr string) (*lmtpConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &lmtpConn{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriterSize(conn, 64<<10)}
	if err := expect(l.r, 220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := l.send("LHLO bench.example", 250); err != nil {
		conn.Close()
		return nil, err
	}
	return l, nil
}

func (l *lmtpConn) send(s string, want int) error {
	l.w.WriteString(s + "\r\n")
	if err := l.w.Flush(); err != nil {
		return err
	}
	if err := expect(l.r, want); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	return nil
}

// deliver sends one message to one recipient; sent, when not nil, is
// called just before the end of the data is flushed.
func (l *lmtpConn) deliver(rcpt, m string, sent func()) error {
	if err := l.send("MAIL FROM:<sender@remote.example>", 250); err != nil {
		return err
	}
	if err := l.send("RCPT TO:<"+rcpt+">", 250); err != nil {
		return err
	}
	if err := l.send("DATA", 354); err != nil {
		return err
	}
	if strings.HasPrefix(m, ".") || strings.Contains(m, "\n.") {
		writeDotStuffed(l.w, []byte(m))
	} else {
		l.w.WriteString(m)
	}
	if !strings.HasSuffix(m, "\r\n") {
		l.w.WriteString("\r\n")
	}
	l.w.WriteString(".\r\n")
	if sent != nil {
		sent()
	}
	if err := l.w.Flush(); err != nil {
		return err
	}
	if err := expect(l.r, 250); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

func (l *lmtpConn) close() {
	l.w.WriteString("QUIT\r\n")
	l.w.Flush()
	l.conn.Close()
}
