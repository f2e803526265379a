package pop3client

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultTimeout bounds dialing and the TLS handshakes of Dial, DialTLS and
// STLS.
const DefaultTimeout = 30 * time.Second

// maxLineLength bounds one reply line (RFC 2449 §4 allows 512 octets for
// replies; we are generous).
const maxLineLength = 64 * 1024

// Client is a POP3 client connection.
type Client struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	greeting string
	body     *dotReader // the multi-line body being read, if any
}

// Dial connects to a POP3 server over plain TCP and reads its greeting.
func Dial(addr string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return newClientOrClose(conn)
}

// DialTLS connects with implicit TLS (POP3S, RFC 8314 §3.3) and reads the
// greeting.
func DialTLS(addr string, cfg *tls.Config) (*Client, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: DefaultTimeout}, Config: cfg}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return newClientOrClose(conn)
}

func newClientOrClose(conn net.Conn) (*Client, error) {
	c, err := NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient starts a session on an open connection: it reads the greeting.
func NewClient(conn net.Conn) (*Client, error) {
	c := &Client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}
	text, err := c.readOK()
	if err != nil {
		return nil, err
	}
	c.greeting = text
	return c, nil
}

// Greeting is the text of the server's greeting after "+OK ".
func (c *Client) Greeting() string { return c.greeting }

// Conn is the underlying connection (a *tls.Conn after STLS).
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection without QUIT: the server deletes nothing
// (RFC 1939 §6).
func (c *Client) Close() error { return c.conn.Close() }

// send writes one command line. A multi-line body still unread is read to
// its end first.
func (c *Client) send(format string, a ...any) error {
	if c.body != nil {
		if err := c.body.drain(); err != nil {
			return err
		}
		c.body = nil
	}
	line := fmt.Sprintf(format, a...)
	if strings.ContainsAny(line, "\r\n") {
		return fmt.Errorf("pop3: command contains a line break")
	}
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return err
	}
	return c.w.Flush()
}

// readLine reads one reply line without its CRLF.
func (c *Client) readLine() (string, error) {
	var line []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLineLength {
			return "", fmt.Errorf("%w: reply line too long", ErrProtocol)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
	}
}

// readOK reads a status line: the text after "+OK", or an *Error for -ERR.
func (c *Client) readOK() (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " "), nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR "):
		return "", parseErr(strings.TrimPrefix(line, "-ERR"))
	default:
		return "", fmt.Errorf("%w: unexpected reply %q", ErrProtocol, line)
	}
}

// cmd sends a command and reads its single-line reply.
func (c *Client) cmd(format string, a ...any) (string, error) {
	if err := c.send(format, a...); err != nil {
		return "", err
	}
	return c.readOK()
}

// Cmd sends any single-line command and returns the reply text after +OK.
func (c *Client) Cmd(line string) (string, error) { return c.cmd("%s", line) }

// cmdLines sends a command with a multi-line reply and returns its lines
// (un-stuffed, without CRLF).
func (c *Client) cmdLines(format string, a ...any) ([]string, error) {
	if _, err := c.cmd(format, a...); err != nil {
		return nil, err
	}
	var lines []string
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, err
		}
		if line == "." {
			return lines, nil
		}
		lines = append(lines, strings.TrimPrefix(line, "."))
	}
}

// cmdBody sends a command whose multi-line reply is returned as a reader.
func (c *Client) cmdBody(format string, a ...any) (io.Reader, error) {
	if _, err := c.cmd(format, a...); err != nil {
		return nil, err
	}
	c.body = newDotReader(c.r)
	return c.body, nil
}

// STLS upgrades the connection to TLS (RFC 2595 §4). Capabilities seen
// before must be asked for again.
func (c *Client) STLS(cfg *tls.Config) error {
	if _, err := c.cmd("STLS"); err != nil {
		return err
	}
	tc := tls.Client(c.conn, cfg)
	tc.SetDeadline(time.Now().Add(DefaultTimeout))
	if err := tc.Handshake(); err != nil {
		return err
	}
	tc.SetDeadline(time.Time{})
	c.conn = tc
	c.r = bufio.NewReader(tc)
	c.w = bufio.NewWriter(tc)
	return nil
}

// Capa returns the capability lines (RFC 2449 §5), e.g. "TOP", "SASL PLAIN".
func (c *Client) Capa() ([]string, error) { return c.cmdLines("CAPA") }

// HasCapability reports whether caps (from Capa) lists name, ignoring case
// and arguments.
func HasCapability(caps []string, name string) bool {
	for _, c := range caps {
		tag, _, _ := strings.Cut(c, " ")
		if strings.EqualFold(tag, name) {
			return true
		}
	}
	return false
}

// UTF8 enables UTF-8 mode (RFC 6856 §2).
func (c *Client) UTF8() error {
	_, err := c.cmd("UTF8")
	return err
}

// Quit ends the session (RFC 1939 §6: in TRANSACTION, messages marked
// deleted are removed) and closes the connection.
func (c *Client) Quit() error {
	_, err := c.cmd("QUIT")
	c.conn.Close()
	return err
}
