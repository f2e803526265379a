package main

// The reads workload's clients: an IMAP connection that reads large
// responses without copying what it does not keep, a POP3 RETR loop that
// scans for the terminating dot a buffer at a time, LMTP senders of the
// corpus, and login loops.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const readsBufSize = 256 << 10

// rconn is one IMAP connection of the reads workload.
type rconn struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
	resp rresp // reused between responses
}

// rresp is one response: its text with any literal left as the "{n}" that
// announced it, the literals kept (keep mode) and every literal's size.
type rresp struct {
	text     []byte
	lits     [][]byte
	litSizes []int
}

func dialR(addr string) (*rconn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &rconn{conn: conn, r: bufio.NewReaderSize(conn, readsBufSize)}
	if err := c.read(false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(c.resp.text, []byte("* OK")) {
		conn.Close()
		return nil, fmt.Errorf("greeting: %q", c.resp.text)
	}
	return c, nil
}

// dialLogin connects, logs in and selects INBOX (when sel).
func dialLogin(addr, user, pass string, sel bool) (*rconn, error) {
	c, err := dialR(addr)
	if err != nil {
		return nil, err
	}
	if _, err := c.do("LOGIN "+strconv.Quote(user)+" "+strconv.Quote(pass), false, nil); err != nil {
		c.conn.Close()
		return nil, err
	}
	if sel {
		if _, err := c.do("SELECT INBOX", false, nil); err != nil {
			c.conn.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *rconn) logout() {
	c.do("LOGOUT", false, nil)
	c.conn.Close()
}

// read reads one response; literals are kept when keep is set and skipped
// otherwise.
func (c *rconn) read(keep bool) error {
	p := &c.resp
	p.text, p.lits, p.litSizes = p.text[:0], p.lits[:0], p.litSizes[:0]
	for {
		l, err := c.r.ReadSlice('\n')
		p.text = append(p.text, l...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return err
		}
		n, ok := literalAtEnd(p.text)
		if !ok {
			return nil
		}
		p.litSizes = append(p.litSizes, n)
		if keep {
			b := make([]byte, n)
			if _, err := io.ReadFull(c.r, b); err != nil {
				return err
			}
			p.lits = append(p.lits, b)
		} else if _, err := c.r.Discard(n); err != nil {
			return err
		}
	}
}

// literalAtEnd returns n when text ends with "{n}\r\n" (or {n+}, ~{n}).
func literalAtEnd(text []byte) (int, bool) {
	t := bytes.TrimSuffix(text, []byte("\r\n"))
	if len(t) < 3 || t[len(t)-1] != '}' {
		return 0, false
	}
	open := bytes.LastIndexByte(t, '{')
	if open < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(string(t[open+1:len(t)-1]), "+"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// do sends a command and hands every untagged response to each (which
// must not keep p's slices); it returns the time to the tagged answer and
// an error unless that answer is OK.
func (c *rconn) do(cmd string, keep bool, each func(p *rresp) error) (time.Duration, error) {
	c.tag++
	tag := "r" + strconv.Itoa(c.tag) + " "
	start := time.Now()
	if _, err := io.WriteString(c.conn, tag+cmd+"\r\n"); err != nil {
		return 0, err
	}
	var first error
	for {
		if err := c.read(keep); err != nil {
			return 0, fmt.Errorf("%s: %w", firstWord(cmd), err)
		}
		if bytes.HasPrefix(c.resp.text, []byte(tag)) {
			d := time.Since(start)
			if !bytes.HasPrefix(c.resp.text[len(tag):], []byte("OK")) {
				return d, fmt.Errorf("%s: %s", firstWord(cmd), bytes.TrimSpace(c.resp.text))
			}
			return d, first
		}
		if each != nil && first == nil {
			first = each(&c.resp)
		}
	}
}

func firstWord(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) > 1 && f[0] == "UID" {
		return "UID " + f[1]
	}
	if len(f) > 0 {
		return f[0]
	}
	return cmd
}

// fetchSeqOf returns n for "* n FETCH ...".
func fetchSeqOf(text []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(text, []byte("* "))
	if !ok {
		return 0, false
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp < 1 || !bytes.HasPrefix(rest[sp:], []byte(" FETCH ")) {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:sp]))
	return n, err == nil
}

// numAfter returns the number following key in text.
func numAfter(text []byte, key string) (int64, bool) {
	i := bytes.Index(text, []byte(key))
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	k := j
	for k < len(text) && text[k] >= '0' && text[k] <= '9' {
		k++
	}
	n, err := strconv.ParseInt(string(text[j:k]), 10, 64)
	return n, err == nil
}

// searchNumbers parses "* SEARCH n n n".
func searchNumbers(text []byte) ([]int, bool) {
	rest, ok := bytes.CutPrefix(text, []byte("* SEARCH"))
	if !ok {
		return nil, false
	}
	var out []int
	for _, f := range bytes.Fields(rest) {
		n, err := strconv.Atoi(string(f))
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// pop3RetrAll logs in over POP3 and retrieves every message with RETR,
// one at a time; the clock runs from STAT to the last byte. It returns the
// unstuffed size of each message (without the terminating line).
func pop3RetrAll(addr, user, pass string) (time.Duration, []int64, error) {
	c, err := pop3Login(addr, user, pass, readsBufSize)
	if err != nil {
		return 0, nil, err
	}
	defer c.quit()
	start := time.Now()
	count, err := c.stat()
	if err != nil {
		return 0, nil, err
	}
	sizes := make([]int64, count)
	for i := 1; i <= count; i++ {
		if _, err := c.cmd("RETR " + strconv.Itoa(i)); err != nil {
			return 0, nil, fmt.Errorf("RETR %d: %w", i, err)
		}
		if sizes[i-1], err = readDotBody(c.r); err != nil {
			return 0, nil, fmt.Errorf("RETR %d: %w", i, err)
		}
	}
	return time.Since(start), sizes, nil
}

// readDotBody reads a POP3 multi-line body through its terminating
// ".\r\n" line and returns its size with dot-stuffing undone. It looks at
// whole buffers for "\n." rather than at every line.
func readDotBody(r *bufio.Reader) (int64, error) {
	var n int64
	lineStart := true
	for {
		if lineStart {
			b, err := r.Peek(3)
			if len(b) > 0 && b[0] == '.' {
				if len(b) == 3 && b[1] == '\r' && b[2] == '\n' {
					r.Discard(3)
					return n, nil
				}
				if len(b) >= 2 && b[1] == '.' {
					r.Discard(1) // the stuffed dot
				} else if err != nil {
					return n, err
				}
			} else if len(b) == 0 {
				return n, err
			}
		}
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil {
				return n, err
			}
		}
		b, _ := r.Peek(r.Buffered())
		// Skip to just past the next "\n" followed by a dot; the rest of
		// the buffer cannot start a line with a dot.
		if i := bytes.Index(b, []byte("\n.")); i >= 0 {
			r.Discard(i + 1)
			n += int64(i + 1)
			lineStart = true
			continue
		}
		// Keep a final "\n" for the next round: its line might start
		// with the dot not yet read.
		k := len(b)
		if b[k-1] == '\n' {
			r.Discard(k)
			n += int64(k)
			lineStart = true
			continue
		}
		r.Discard(k)
		n += int64(k)
		lineStart = false
	}
}

// deliverCorpus delivers msgs[lo:hi] to user over senders concurrent LMTP
// connections, one transaction per message, and returns the wall time and
// the bytes sent.
func deliverCorpus(addr, user string, msgs []string, lo, hi, senders int) (time.Duration, int64, error) {
	var next, sent atomic.Int64
	next.Store(int64(lo))
	d, err := runWorkers(senders, func() error { return lmtpCorpusWorker(addr, user, msgs, hi, &next, &sent) })
	if err != nil {
		return 0, 0, err
	}
	return d, sent.Load(), nil
}

func lmtpCorpusWorker(addr, user string, msgs []string, hi int, next, sent *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	w := bufio.NewWriterSize(conn, 64<<10)
	send := func(s string, want int) error {
		w.WriteString(s + "\r\n")
		if err := w.Flush(); err != nil {
			return err
		}
		if err := expect(r, want); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		return nil
	}
	if err := expect(r, 220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if err := send("LHLO bench.example", 250); err != nil {
		return err
	}
	for {
		i := int(next.Add(1)) - 1
		if i >= hi {
			break
		}
		if err := send("MAIL FROM:<sender@remote.example>", 250); err != nil {
			return err
		}
		if err := send("RCPT TO:<"+user+">", 250); err != nil {
			return err
		}
		if err := send("DATA", 354); err != nil {
			return err
		}
		m := msgs[i]
		if strings.HasPrefix(m, ".") || strings.Contains(m, "\n.") {
			writeDotStuffed(w, []byte(m))
		} else {
			w.WriteString(m)
		}
		if !strings.HasSuffix(m, "\r\n") {
			w.WriteString("\r\n")
		}
		w.WriteString(".\r\n")
		if err := w.Flush(); err != nil {
			return err
		}
		if err := expect(r, 250); err != nil {
			return fmt.Errorf("message %d, end of DATA: %w", i, err)
		}
		sent.Add(int64(len(m)))
	}
	w.WriteString("QUIT\r\n")
	w.Flush()
	return nil
}

// loginOnce connects (untimed), times one IMAP LOGIN to its tagged OK and
// logs out.
func loginOnce(addr, user, pass string) (time.Duration, error) {
	c, err := dialR(addr)
	if err != nil {
		return 0, err
	}
	defer c.conn.Close()
	d, err := c.do("LOGIN "+strconv.Quote(user)+" "+strconv.Quote(pass), false, nil)
	if err != nil {
		return 0, err
	}
	sawBye := false
	if _, err := c.do("LOGOUT", false, func(p *rresp) error {
		sawBye = sawBye || bytes.HasPrefix(p.text, []byte("* BYE"))
		return nil
	}); err != nil {
		return 0, err
	}
	if !sawBye {
		return 0, errors.New("LOGOUT without * BYE")
	}
	return d, nil
}

// loginStorm runs total logins (connect, LOGIN, LOGOUT) over workers
// concurrent clients and returns the wall time.
func loginStorm(addr, user, pass string, workers, total int) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				if _, err := loginOnce(addr, user, pass); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}
