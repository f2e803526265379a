package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// benchMessage is message number i, about size bytes, CRLF line ends.
func benchMessage(i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender Number %d <sender%d@remote.example>\r\n", i%50, i%50)
	fmt.Fprintf(&b, "To: Bench User <%s>\r\n", benchUser)
	fmt.Fprintf(&b, "Cc: someone@remote.example, other@remote.example\r\n")
	fmt.Fprintf(&b, "Subject: Benchmark message %d about topic %d\r\n", i, i%97)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <bench.%d@remote.example>\r\n", i)
	if i > 0 {
		fmt.Fprintf(&b, "In-Reply-To: <bench.%d@remote.example>\r\n", i-1)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

// reply reads one SMTP/LMTP reply (possibly multi-line) and returns its code.
func reply(r *bufio.Reader) (int, string, error) {
	var all strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return 0, all.String(), err
		}
		all.WriteString(l)
		if len(l) < 4 {
			return 0, all.String(), fmt.Errorf("short reply %q", l)
		}
		if l[3] == ' ' || l[3] == '\r' {
			code, err := strconv.Atoi(l[:3])
			return code, all.String(), err
		}
	}
}

func expect(r *bufio.Reader, want int) error {
	code, text, err := reply(r)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("got %q, want %d", strings.TrimSpace(text), want)
	}
	return nil
}

// deliverLMTP delivers n messages (numbered from first) to user over c
// connections, one transaction per message (RFC 2033), and returns the
// wall time.
func deliverLMTP(addr, user string, n, c, size, first int) (time.Duration, error) {
	var next atomic.Int64
	d, err := runWorkers(c, func() error { return lmtpWorker(addr, user, n, size, first, &next) })
	if err != nil {
		return 0, err
	}
	return d, nil
}

func lmtpWorker(addr, user string, n, size, first int, next *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	if err := expect(r, 220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	fmt.Fprintf(w, "LHLO bench.example\r\n")
	w.Flush()
	if err := expect(r, 250); err != nil {
		return fmt.Errorf("LHLO: %w", err)
	}
	for {
		i := int(next.Add(1)) - 1
		if i >= n {
			break
		}
		msg := benchMessage(first+i, size)
		steps := []struct {
			cmd  string
			want int
		}{
			{"MAIL FROM:<sender@remote.example>", 250},
			{"RCPT TO:<" + user + ">", 250},
			{"DATA", 354},
		}
		for _, s := range steps {
			fmt.Fprintf(w, "%s\r\n", s.cmd)
			w.Flush()
			if err := expect(r, s.want); err != nil {
				return fmt.Errorf("%s: %w", s.cmd, err)
			}
		}
		writeDotStuffed(w, msg)
		w.WriteString(".\r\n")
		w.Flush()
		if err := expect(r, 250); err != nil {
			return fmt.Errorf("end of DATA: %w", err)
		}
	}
	fmt.Fprintf(w, "QUIT\r\n")
	w.Flush()
	return nil
}

func writeDotStuffed(w io.Writer, msg []byte) {
	for _, l := range bytes.SplitAfter(msg, []byte("\r\n")) {
		if len(l) > 0 && l[0] == '.' {
			w.Write([]byte("."))
		}
		w.Write(l)
	}
}

// imapConn is a minimal IMAP client reading responses with literals.
type imapConn struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
}

func dialIMAP(addr, user, pass string) (*imapConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &imapConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if _, err := c.response(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := c.command(fmt.Sprintf("LOGIN %s %s", strconv.Quote(user), strconv.Quote(pass))); err != nil {
		conn.Close()
		return nil, fmt.Errorf("LOGIN: %w", err)
	}
	return c, nil
}

// response reads one response line, with any literals it carries.
func (c *imapConn) response() (string, error) {
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(l)
		t := strings.TrimRight(l, "\r\n")
		if !strings.HasSuffix(t, "}") {
			return b.String(), nil
		}
		open := strings.LastIndexByte(t, '{')
		if open < 0 {
			return b.String(), nil
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(t[open+1:len(t)-1], "~"), "+"))
		if err != nil {
			return b.String(), nil
		}
		if _, err := io.CopyN(&b, c.r, int64(n)); err != nil {
			return b.String(), err
		}
	}
}

// command sends a tagged command and returns how many untagged responses
// preceded the tagged OK.
func (c *imapConn) command(cmd string) (int, error) {
	c.tag++
	tag := fmt.Sprintf("b%d", c.tag)
	if _, err := fmt.Fprintf(c.conn, "%s %s\r\n", tag, cmd); err != nil {
		return 0, err
	}
	fetches := 0
	for {
		l, err := c.response()
		if err != nil {
			return fetches, err
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				return fetches, fmt.Errorf("%s", strings.TrimSpace(l))
			}
			return fetches, nil
		}
		if strings.HasPrefix(l, "* ") && strings.Contains(l[:min(len(l), 24)], " FETCH ") {
			fetches++
		}
	}
}

// selectFetch times SELECT INBOX + FETCH 1:* (FLAGS ENVELOPE) on a fresh
// logged-in connection and returns how many FETCH responses came back.
func selectFetch(addr, user, pass string) (time.Duration, int, error) {
	c, err := dialIMAP(addr, user, pass)
	if err != nil {
		return 0, 0, err
	}
	defer c.conn.Close()
	start := time.Now()
	if _, err := c.command("SELECT INBOX"); err != nil {
		return 0, 0, fmt.Errorf("SELECT: %w", err)
	}
	n, err := c.command("FETCH 1:* (FLAGS ENVELOPE)")
	if err != nil {
		return 0, 0, fmt.Errorf("FETCH: %w", err)
	}
	d := time.Since(start)
	c.command("LOGOUT")
	return d, n, nil
}

// retrAll logs in over POP3, retrieves every message with RETR and returns
// the time, the message count and the bytes read.
func retrAll(addr, user, pass string) (time.Duration, int, int64, error) {
	c, err := pop3Login(addr, user, pass, 64<<10)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.quit()
	r := c.r
	start := time.Now()
	count, err := c.stat()
	if err != nil {
		return 0, 0, 0, err
	}
	var total int64
	for i := 1; i <= count; i++ {
		if _, err := c.cmd(fmt.Sprintf("RETR %d", i)); err != nil {
			return 0, 0, 0, fmt.Errorf("RETR %d: %w", i, err)
		}
		for {
			l, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				return 0, 0, 0, err
			}
			total += int64(len(l))
			if err == nil && len(l) == 3 && l[0] == '.' {
				break
			}
		}
	}
	return time.Since(start), count, total, nil
}
