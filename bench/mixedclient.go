package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// mclient is the mixed workload's IMAP client: it keeps the session's
// message count from EXISTS and EXPUNGE responses and hands each command's
// untagged responses back for checking.
type mclient struct {
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tag    int
	exists int // messages in the selected mailbox as this session knows it
}

// mresp is one command's answer.
type mresp struct {
	untagged []string // "* ..." responses, literals inline
	status   string   // OK, NO or BAD
	text     string   // the rest of the tagged line
	expunged int      // untagged EXPUNGE responses
}

const ioTimeout = 2 * time.Minute

func dialM(addr string) (*mclient, error) {
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	c := &mclient{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriterSize(conn, 16<<10)}
	conn.SetDeadline(time.Now().Add(ioTimeout))
	g, err := c.line()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(g, "* OK") {
		conn.Close()
		return nil, fmt.Errorf("greeting: %q", strings.TrimSpace(g))
	}
	return c, nil
}

func (c *mclient) close() { c.conn.Close() }

// line reads one response line with any literals it carries.
func (c *mclient) line() (string, error) {
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			return b.String(), err
		}
		t := strings.TrimRight(l, "\r\n")
		if !strings.HasSuffix(t, "}") {
			return b.String(), nil
		}
		open := strings.LastIndexByte(t, '{')
		if open < 0 {
			return b.String(), nil
		}
		n, err := strconv.Atoi(strings.TrimSuffix(t[open+1:len(t)-1], "+"))
		if err != nil {
			return b.String(), nil
		}
		if _, err := io.CopyN(&b, c.r, int64(n)); err != nil {
			return b.String(), err
		}
	}
}

var untaggedNum = regexp.MustCompile(`^\* (\d+) (EXISTS|EXPUNGE)\b`)

// do sends "TAG cmd" and reads up to the tagged answer. With a literal,
// cmd must end in "{N}" (N = len(literal)): the literal is sent after the
// server's continuation request.
func (c *mclient) do(cmd string, literal []byte) (mresp, error) {
	var r mresp
	c.tag++
	tag := "m" + strconv.Itoa(c.tag)
	c.conn.SetDeadline(time.Now().Add(ioTimeout))
	c.w.WriteString(tag + " " + cmd + "\r\n")
	if err := c.w.Flush(); err != nil {
		return r, err
	}
	sentLiteral := literal == nil
	for {
		l, err := c.line()
		if err != nil {
			return r, err
		}
		switch {
		case strings.HasPrefix(l, "+") && !sentLiteral:
			c.w.Write(literal)
			c.w.WriteString("\r\n")
			if err := c.w.Flush(); err != nil {
				return r, err
			}
			sentLiteral = true
		case strings.HasPrefix(l, "* "):
			r.untagged = append(r.untagged, l)
			if m := untaggedNum.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				if m[2] == "EXISTS" {
					c.exists = n
				} else {
					c.exists--
					r.expunged++
				}
			}
		case strings.HasPrefix(l, tag+" "):
			rest := strings.TrimRight(l[len(tag)+1:], "\r\n")
			r.status, r.text, _ = strings.Cut(rest, " ")
			return r, nil
		default:
			return r, fmt.Errorf("unexpected line %q", strings.TrimSpace(l))
		}
	}
}

// fetches returns the untagged FETCH responses.
func (r mresp) fetches() []string {
	var out []string
	for _, u := range r.untagged {
		f := strings.Fields(u[:min(len(u), 40)])
		if len(f) >= 3 && f[2] == "FETCH" {
			out = append(out, u)
		}
	}
	return out
}

// fetchSeq is the sequence number of a "* N FETCH" response.
func fetchSeq(u string) int {
	f := strings.Fields(u[:min(len(u), 40)])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// searchResults returns the numbers of the "* SEARCH" response, or ok =
// false without one.
func (r mresp) searchResults() (nums []int, ok bool) {
	for _, u := range r.untagged {
		if rest, found := strings.CutPrefix(u, "* SEARCH"); found {
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(f)
				if err != nil {
					return nil, false
				}
				nums = append(nums, n)
			}
			return nums, true
		}
	}
	return nil, false
}

// literalLen is the size of the first literal announced in s, or -1.
var literalRE = regexp.MustCompile(`\{(\d+)\+?\}\r\n`)

func literalLen(s string) int {
	m := literalRE.FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
