package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// pop3Conn is the benchmarks' POP3 client: a logged-in connection that
// sends one command at a time and reads its status line; multi-line
// answers are read by the caller from r.
type pop3Conn struct {
	conn net.Conn
	r    *bufio.Reader
}

// pop3Login connects to addr, reads the greeting and logs in with USER
// and PASS (RFC 1939 §7).
func pop3Login(addr, user, pass string, bufSize int) (*pop3Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &pop3Conn{conn: conn, r: bufio.NewReaderSize(conn, bufSize)}
	if _, err := c.status(); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := c.cmd("USER " + user); err != nil {
		conn.Close()
		return nil, fmt.Errorf("USER: %w", err)
	}
	if _, err := c.cmd("PASS " + pass); err != nil {
		conn.Close()
		return nil, fmt.Errorf("PASS: %w", err)
	}
	return c, nil
}

// status reads one status line; -ERR is an error.
func (c *pop3Conn) status() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, "+OK") {
		return "", fmt.Errorf("%s", strings.TrimSpace(l))
	}
	return l, nil
}

// cmd sends s and reads its status line.
func (c *pop3Conn) cmd(s string) (string, error) {
	if _, err := io.WriteString(c.conn, s+"\r\n"); err != nil {
		return "", err
	}
	return c.status()
}

// stat sends STAT and returns the message count.
func (c *pop3Conn) stat() (int, error) {
	st, err := c.cmd("STAT")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(st)
	if len(f) < 3 {
		return 0, fmt.Errorf("STAT: %q", st)
	}
	return strconv.Atoi(f[1])
}

// quit sends QUIT and closes the connection.
func (c *pop3Conn) quit() {
	c.cmd("QUIT")
	c.conn.Close()
}
