package main

// The accounts workload's timed client sequences: opening an account as a
// mail client does, LOGIN + STATUS, a POP3 check, and many IDLE sessions
// at once with deliveries timed to their EXISTS. Each checks every answer
// against what was delivered to that account.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var envMsgIDRE = regexp.MustCompile(`<(\d+)\.[0-9a-f]+@example\.org>`)

func loginCmd(a int) string {
	return "LOGIN " + strconv.Quote(accountName(a)) + " " + strconv.Quote(mixedPass)
}

// logoutBye sends LOGOUT and checks the * BYE.
func logoutBye(c *rconn) error {
	bye := false
	if _, err := c.do("LOGOUT", false, func(p *rresp) error {
		bye = bye || bytes.HasPrefix(p.text, []byte("* BYE"))
		return nil
	}); err != nil {
		return err
	}
	if !bye {
		return errors.New("LOGOUT without * BYE")
	}
	return nil
}

// selectExists SELECTs INBOX and returns its EXISTS.
func selectExists(c *rconn) (int, error) {
	exists := -1
	_, err := c.do("SELECT INBOX", false, func(p *rresp) error {
		f := bytes.Fields(p.text)
		if len(f) == 3 && string(f[2]) == "EXISTS" {
			exists, _ = strconv.Atoi(string(f[1]))
		}
		return nil
	})
	return exists, err
}

// openAccount is what a client does when it opens an account: connect,
// LOGIN, SELECT INBOX, UID FETCH 1:* (UID FLAGS), FETCH of the last 20
// messages' (ENVELOPE BODYSTRUCTURE), LOGOUT; timed from the dial to the
// LOGOUT's tagged OK. Checked: EXISTS and the FETCH counts are the
// account's messages, and each fetched ENVELOPE's Message-ID is a message
// delivered to this account.
func openAccount(s *accountsServer, a int, corpus *accountsCorpus) (time.Duration, error) {
	want := s.count[a]
	start := time.Now()
	c, err := loginAccount(s, a)
	if err != nil {
		return 0, err
	}
	defer c.conn.Close()
	exists, err := selectExists(c)
	if err != nil {
		return 0, err
	}
	if exists != want {
		return 0, fmt.Errorf("SELECT: %d EXISTS, want %d", exists, want)
	}
	seen := make([]bool, want+1)
	count := 0
	if _, err := c.do("UID FETCH 1:* (UID FLAGS)", false, func(p *rresp) error {
		seq, ok := fetchSeqOf(p.text)
		if !ok {
			return nil
		}
		if seq < 1 || seq > want || seen[seq] {
			return fmt.Errorf("FETCH response for message %d of %d (or twice)", seq, want)
		}
		if _, ok := numAfter(p.text, "UID "); !ok || !bytes.Contains(p.text, []byte("FLAGS (")) {
			return fmt.Errorf("message %d: no UID or FLAGS in %q", seq, p.text)
		}
		seen[seq] = true
		count++
		return nil
	}); err != nil {
		return 0, err
	}
	if count != want {
		return 0, fmt.Errorf("UID FETCH 1:*: %d responses, want %d", count, want)
	}
	lo := max(1, want-19)
	clear(seen)
	count = 0
	if _, err := c.do(fmt.Sprintf("FETCH %d:%d (ENVELOPE BODYSTRUCTURE)", lo, want), true, func(p *rresp) error {
		seq, ok := fetchSeqOf(p.text)
		if !ok {
			return nil
		}
		if seq < lo || seq > want || seen[seq] {
			return fmt.Errorf("FETCH response for message %d, asked %d:%d (or twice)", seq, lo, want)
		}
		if !bytes.Contains(p.text, []byte("ENVELOPE (")) || !bytes.Contains(p.text, []byte("BODYSTRUCTURE (")) {
			return fmt.Errorf("message %d: no ENVELOPE or BODYSTRUCTURE in %.300q", seq, p.text)
		}
		m := envMsgIDRE.FindSubmatch(p.text)
		for _, l := range p.lits {
			if m == nil {
				m = envMsgIDRE.FindSubmatch(l)
			}
		}
		if m == nil {
			return fmt.Errorf("message %d: no corpus Message-ID in the ENVELOPE %.300q", seq, p.text)
		}
		idx, _ := strconv.Atoi(string(m[1]))
		if o := corpus.owner(idx); o != a {
			return fmt.Errorf("message %d is corpus message %d, delivered to account %d, not to this one", seq, idx, o)
		}
		seen[seq] = true
		count++
		return nil
	}); err != nil {
		return 0, err
	}
	if count != want-lo+1 {
		return 0, fmt.Errorf("FETCH %d:%d: %d responses, want %d", lo, want, count, want-lo+1)
	}
	if err := logoutBye(c); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// loginAccount connects to s's IMAP port and logs in as account a, with a
// minute for everything that follows.
func loginAccount(s *accountsServer, a int) (*rconn, error) {
	c, err := dialR(s.t.imapAddr)
	if err != nil {
		return nil, err
	}
	c.conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.do(loginCmd(a), false, nil); err != nil {
		c.conn.Close()
		return nil, err
	}
	return c, nil
}

// statusAccount times connect, LOGIN, STATUS INBOX (MESSAGES UNSEEN) and
// LOGOUT; both counts must be the account's messages (none is ever
// marked seen).
func statusAccount(s *accountsServer, a int) (time.Duration, error) {
	want := int64(s.count[a])
	start := time.Now()
	c, err := loginAccount(s, a)
	if err != nil {
		return 0, err
	}
	defer c.conn.Close()
	messages, unseen := int64(-1), int64(-1)
	if _, err := c.do("STATUS INBOX (MESSAGES UNSEEN)", false, func(p *rresp) error {
		if !bytes.HasPrefix(p.text, []byte("* STATUS ")) {
			return nil
		}
		messages, _ = numAfter(p.text, "MESSAGES ")
		unseen, _ = numAfter(p.text, "UNSEEN ")
		return nil
	}); err != nil {
		return 0, err
	}
	if messages != want || unseen != want {
		return 0, fmt.Errorf("STATUS: MESSAGES %d UNSEEN %d, want %d and %d", messages, unseen, want, want)
	}
	if err := logoutBye(c); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// pop3Account times connect, USER/PASS, STAT, LIST and QUIT; STAT and
// LIST must count the account's messages.
func pop3Account(s *accountsServer, a int) (time.Duration, error) {
	want := s.count[a]
	start := time.Now()
	c, err := pop3Login(s.t.pop3Addr, accountName(a), mixedPass, 16<<10)
	if err != nil {
		return 0, err
	}
	defer c.conn.Close()
	c.conn.SetDeadline(time.Now().Add(time.Minute))
	stat, err := c.stat()
	if err != nil {
		return 0, err
	}
	if _, err := c.cmd("LIST"); err != nil {
		return 0, err
	}
	listed := 0
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("LIST: %w", err)
		}
		if l == ".\r\n" {
			break
		}
		if f := strings.Fields(l); len(f) != 2 || f[0] != strconv.Itoa(listed+1) {
			return 0, fmt.Errorf("LIST line %q after %d", l, listed)
		}
		listed++
	}
	if stat != want || listed != want {
		return 0, fmt.Errorf("STAT %d, LIST %d messages, want %d", stat, listed, want)
	}
	if _, err := c.cmd("QUIT"); err != nil {
		return 0, fmt.Errorf("QUIT: %w", err)
	}
	return time.Since(start), nil
}

// idleResult is one run of many IDLE sessions on one server.
type idleResult struct {
	connect     time.Duration // all sessions connected, logged in, selected, idling
	before, mem memSample     // before the first session, and with all idling
	latency     []time.Duration
}

type idleSess struct {
	c   *rconn
	a   int
	tag string
}

const idleConnectWorkers = 10

// idleSessions opens one session per account in accts (connect, LOGIN,
// SELECT INBOX with its EXISTS checked, IDLE until the continuation), 10
// at a time, samples the server's memory with all of them idling, then
// delivers one new message each to cfg.idleTarget of them spread over the
// list, one after the other over one LMTP connection, and times each from
// the end of its DATA to the "* n EXISTS" (n = the new count) on its
// session. Every session then gets DONE (tagged OK) and LOGOUT.
func idleSessions(s *accountsServer, accts []int, corpus *accountsCorpus, cfg accountsConfig, round int) (idleResult, error) {
	var res idleResult
	res.before = readMemory(s.name, s.t.pid)
	sess := make([]*idleSess, len(accts))
	defer func() {
		for _, x := range sess {
			if x != nil {
				x.c.conn.Close()
			}
		}
	}()
	start := time.Now()
	var next atomic.Int64
	_, err := runWorkers(idleConnectWorkers, func() error {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(accts) {
				return nil
			}
			a := accts[i]
			c, err := dialR(s.t.imapAddr)
			if err != nil {
				return fmt.Errorf("session %d: %w", i, err)
			}
			sess[i] = &idleSess{c: c, a: a}
			c.conn.SetDeadline(time.Now().Add(5 * time.Minute))
			if _, err := c.do(loginCmd(a), false, nil); err != nil {
				return fmt.Errorf("%s: %w", accountName(a), err)
			}
			exists, err := selectExists(c)
			if err != nil {
				return fmt.Errorf("%s: %w", accountName(a), err)
			}
			if exists != s.count[a] {
				return fmt.Errorf("%s: SELECT: %d EXISTS, want %d", accountName(a), exists, s.count[a])
			}
			c.tag++
			sess[i].tag = "r" + strconv.Itoa(c.tag)
			if _, err := io.WriteString(c.conn, sess[i].tag+" IDLE\r\n"); err != nil {
				return err
			}
			for {
				if err := c.read(false); err != nil {
					return fmt.Errorf("%s: IDLE: %w", accountName(a), err)
				}
				if bytes.HasPrefix(c.resp.text, []byte("+")) {
					break
				}
				if !bytes.HasPrefix(c.resp.text, []byte("* ")) {
					return fmt.Errorf("%s: IDLE: %q", accountName(a), c.resp.text)
				}
			}
		}
	})
	if err != nil {
		return res, err
	}
	res.connect = time.Since(start)
	time.Sleep(time.Second) // let forked processes and the heap settle
	res.mem = readMemory(s.name, s.t.pid)

	k := min(cfg.idleTarget, len(sess))
	sent := make([]time.Time, k)
	seen := make([]time.Time, k)
	targets := make([]*idleSess, k)
	var wg sync.WaitGroup
	deadline := time.Now().Add(cfg.idleWait)
	for i := range targets {
		x := sess[i*len(sess)/k]
		targets[i] = x
		want := s.count[x.a] + 1
		x.c.conn.SetReadDeadline(deadline)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := x.c.read(false); err != nil {
					return // seen[i] stays zero: reported below
				}
				f := bytes.Fields(x.c.resp.text)
				if len(f) == 3 && string(f[0]) == "*" && string(f[2]) == "EXISTS" {
					if n, _ := strconv.Atoi(string(f[1])); n == want {
						seen[i] = time.Now()
						return
					}
				}
			}
		}()
	}
	l, err := dialLMTP(s.t.lmtpAddr)
	if err != nil {
		return res, err
	}
	for i, x := range targets {
		idx := corpus.base + round*cfg.idleTarget + i
		corpus.mu.Lock()
		corpus.extra[idx] = x.a
		corpus.mu.Unlock()
		if err := l.deliver(accountName(x.a), corpus.msgs[idx], func() { sent[i] = time.Now() }); err != nil {
			l.close()
			return res, fmt.Errorf("LMTP to %s: %w", accountName(x.a), err)
		}
		s.count[x.a]++
	}
	l.close()
	wg.Wait()
	for i, x := range targets {
		if seen[i].IsZero() {
			return res, fmt.Errorf("the IDLE session of %s saw no * %d EXISTS within %s of the deliveries' start", accountName(x.a), s.count[x.a], cfg.idleWait)
		}
		res.latency = append(res.latency, seen[i].Sub(sent[i]))
	}
	next.Store(0)
	_, err = runWorkers(idleConnectWorkers, func() error {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(sess) {
				return nil
			}
			x := sess[i]
			x.c.conn.SetDeadline(time.Now().Add(time.Minute))
			if _, err := io.WriteString(x.c.conn, "DONE\r\n"); err != nil {
				return err
			}
			for {
				if err := x.c.read(false); err != nil {
					return fmt.Errorf("%s: DONE: %w", accountName(x.a), err)
				}
				if t, ok := bytes.CutPrefix(x.c.resp.text, []byte(x.tag+" ")); ok {
					if !bytes.HasPrefix(t, []byte("OK")) {
						return fmt.Errorf("%s: IDLE ended with %q", accountName(x.a), x.c.resp.text)
					}
					break
				}
			}
			if err := logoutBye(x.c); err != nil {
				return fmt.Errorf("%s: %w", accountName(x.a), err)
			}
		}
	})
	return res, err
}

func durMs(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}

// percentile is the nearest-rank p-th percentile of xs (p in 0..100).
func pctl(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(r, 1), len(s))-1]
}
