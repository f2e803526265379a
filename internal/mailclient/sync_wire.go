package mailclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The two-way sync speaks IMAP itself rather than through imapclient:
// go-imap v2 (beta.8) has no QRESYNC (SELECT's QRESYNC parameter, VANISHED
// responses, RFC 7162 §3.2) and no OBJECTID fetch items (EMAILID, RFC 8474
// §5.1), and it fails the connection on a response it does not know. The
// sync needs only a handful of commands, so wireConn is a small client for
// exactly those: it reads every response into values (atoms, strings,
// literals, lists), hands untagged ones to a callback as they arrive (one
// message body in memory at a time), and counts the octets on the TCP
// connection, under TLS, so the sync can say what it cost.

// countingConn counts the octets read and written on a connection. When
// idle is set, a read that waits longer than idle fails: a server that
// stops answering ends the sync instead of hanging it.
type countingConn struct {
	net.Conn
	in, out atomic.Int64
	idle    time.Duration
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// maxLiteral bounds one literal the server sends (a message body).
const maxLiteral = 1 << 30

// wireAtom is an IMAP atom (including NIL and flags such as \Seen); a
// quoted string or a literal is a Go string, a list is []any.
type wireAtom string

// wireResp is one server response.
type wireResp struct {
	Tag    string // "*", "+" or the command's tag
	Num    uint32 // the number of "* N EXISTS/EXPUNGE/FETCH"
	Kind   string // upper case: OK, NO, BAD, BYE, PREAUTH, EXISTS, FETCH, LIST, ...
	Code   string // response code of a status response, without brackets
	Text   string // human text of a status response
	Fields []any  // the rest, parsed
}

// wireConn is one IMAP connection of the sync.
type wireConn struct {
	cfg   Config
	count *countingConn
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	tag   int
	caps  map[string]bool
	stop  func() bool

	// bodyFetches counts the FETCH commands that asked for a whole body
	// (BODY.PEEK[]): the tests check that a move downloads nothing.
	bodyFetches int
	// onUntagged sees every untagged response of every command, before
	// the command's own callback (the selected mailbox's state).
	onUntagged func(*wireResp)
	bye        string // the text of the server's BYE, when it sent one
}

// dialWire connects and logs in as cfg says; ctx cancels the connection.
func dialWire(ctx context.Context, cfg Config) (*wireConn, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	wc := &wireConn{cfg: cfg, count: &countingConn{Conn: raw}}
	wc.conn = wc.count
	if cfg.Security == ImplicitTLS {
		tc := tls.Client(wc.count, cfg.tlsConfig())
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS with %s: %w", cfg.Addr, err)
		}
		wc.conn = tc
	}
	wc.r, wc.w = bufio.NewReaderSize(wc.conn, 64<<10), bufio.NewWriter(wc.conn)
	wc.stop = closeOnDone(ctx, raw)
	raw.SetDeadline(time.Now().Add(cfg.timeout()))
	if err := wc.login(); err != nil {
		wc.stop()
		raw.Close()
		return nil, err
	}
	raw.SetDeadline(time.Time{})
	wc.count.idle = max(2*cfg.timeout(), time.Minute)
	return wc, nil
}

// login reads the greeting, does STARTTLS when asked (RFC 3501 §6.2.1),
// logs in (§6.2.3) and learns the capabilities (§6.1.1).
func (c *wireConn) login() error {
	g, err := c.read()
	if err != nil {
		return fmt.Errorf("IMAP greeting from %s: %w", c.cfg.Addr, err)
	}
	if g.Tag != "*" || (g.Kind != "OK" && g.Kind != "PREAUTH") {
		return fmt.Errorf("IMAP greeting from %s: %s %s", c.cfg.Addr, g.Kind, g.Text)
	}
	if err := c.capability(); err != nil {
		return err
	}
	if g.Kind == "PREAUTH" {
		// Already authenticated (RFC 3501 §7.1.4): no STARTTLS is
		// possible any more, so it is refused when TLS was asked for.
		if c.cfg.Security == StartTLS {
			return fmt.Errorf("%s greets with PREAUTH, so STARTTLS cannot be used", c.cfg.Addr)
		}
		return nil
	}
	if c.cfg.Security == StartTLS {
		if !c.caps["STARTTLS"] {
			return fmt.Errorf("%s does not offer STARTTLS", c.cfg.Addr)
		}
		if _, err := c.run("STARTTLS", nil); err != nil {
			return fmt.Errorf("STARTTLS with %s: %w", c.cfg.Addr, err)
		}
		tc := tls.Client(c.count, c.cfg.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS with %s: %w", c.cfg.Addr, err)
		}
		c.conn = tc
		c.r, c.w = bufio.NewReaderSize(tc, 64<<10), bufio.NewWriter(tc)
		if err := c.capability(); err != nil {
			return err
		}
	}
	if c.caps["LOGINDISABLED"] {
		return fmt.Errorf("%s refuses LOGIN without TLS (LOGINDISABLED): use imaps:// or STARTTLS", c.cfg.Addr)
	}
	user, ulit := argString(c.cfg.User)
	pass, plit := argString(c.cfg.Password)
	ok, err := c.run("LOGIN "+user+" "+pass, nil, append(ulit, plit...)...)
	if err != nil {
		return fmt.Errorf("login as %s: %w", c.cfg.User, err)
	}
	// The OK of LOGIN may carry the new capabilities (RFC 3501 §7.1).
	if code, rest, _ := strings.Cut(ok.Code, " "); strings.EqualFold(code, "CAPABILITY") {
		c.setCaps(strings.Fields(rest))
		return nil
	}
	return c.capability()
}

func (c *wireConn) capability() error {
	_, err := c.run("CAPABILITY", func(r *wireResp) error {
		if r.Kind == "CAPABILITY" {
			var caps []string
			for _, f := range r.Fields {
				caps = append(caps, asString(f))
			}
			c.setCaps(caps)
		}
		return nil
	})
	return err
}

func (c *wireConn) setCaps(caps []string) {
	c.caps = map[string]bool{}
	for _, s := range caps {
		c.caps[strings.ToUpper(s)] = true
	}
}

// logout ends the session (RFC 3501 §6.1.3) and closes the connection.
func (c *wireConn) logout() error {
	defer c.stop()
	c.count.Conn.SetDeadline(time.Now().Add(c.cfg.timeout()))
	_, err := c.run("LOGOUT", nil)
	if cerr := c.conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// close drops the connection without a word (after an error).
func (c *wireConn) close() {
	c.stop()
	c.count.Conn.Close()
}

// sent and received are the octets on the wire so far, TLS included.
func (c *wireConn) sent() int64     { return c.count.out.Load() }
func (c *wireConn) received() int64 { return c.count.in.Load() }

// wireLiteral is a literal argument of a command (APPEND's message).
type wireLiteral []byte

// run sends a command made of its parts (strings are written as they
// are, literals as RFC 3501 §4.3 literals: synchronizing, or LITERAL+'s
// non-synchronizing form of RFC 7888 when offered), hands each untagged
// response to each, and returns the tagged OK; NO and BAD are errors.
func (c *wireConn) run(cmd string, each func(*wireResp) error, lits ...wireLiteral) (*wireResp, error) {
	c.tag++
	tag := "s" + strconv.Itoa(c.tag)
	parts := strings.Split(cmd, "\x00")
	if len(parts) != len(lits)+1 {
		return nil, fmt.Errorf("internal: command %q has %d literal slots for %d literals", cmd, len(parts)-1, len(lits))
	}
	nonSync := c.caps["LITERAL+"]
	c.w.WriteString(tag + " ")
	for i, p := range parts {
		c.w.WriteString(p)
		if i == len(lits) {
			break
		}
		if nonSync {
			fmt.Fprintf(c.w, "{%d+}\r\n", len(lits[i]))
		} else {
			fmt.Fprintf(c.w, "{%d}\r\n", len(lits[i]))
			if err := c.w.Flush(); err != nil {
				return nil, err
			}
			if err := c.waitContinuation(tag, each); err != nil {
				return nil, err
			}
		}
		c.w.Write(lits[i])
	}
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.waitTagged(tag, each)
}

// waitContinuation reads until the server's "+" (or the command's
// failure).
func (c *wireConn) waitContinuation(tag string, each func(*wireResp) error) error {
	for {
		r, err := c.read()
		if err != nil {
			return c.closedErr(err)
		}
		switch r.Tag {
		case "+":
			return nil
		case "*":
			if err := c.untagged(r, each); err != nil {
				return err
			}
		case tag:
			return statusErr(r)
		}
	}
}

func (c *wireConn) waitTagged(tag string, each func(*wireResp) error) (*wireResp, error) {
	var firstErr error
	for {
		r, err := c.read()
		if err != nil {
			return nil, c.closedErr(err)
		}
		switch r.Tag {
		case "*":
			if err := c.untagged(r, each); err != nil && firstErr == nil {
				// Keep reading to the end of the command: the
				// connection stays usable.
				firstErr = err
			}
		case "+":
			// Not expected here; ignore.
		case tag:
			if firstErr != nil {
				return r, firstErr
			}
			if err := statusErr(r); err != nil {
				return r, err
			}
			return r, nil
		default:
			return nil, fmt.Errorf("response for unknown tag %q", r.Tag)
		}
	}
}

func (c *wireConn) untagged(r *wireResp, each func(*wireResp) error) error {
	if r.Kind == "BYE" {
		c.bye = r.Text
	}
	if c.onUntagged != nil {
		c.onUntagged(r)
	}
	if each != nil {
		return each(r)
	}
	return nil
}

// closedErr explains a read error after the server said BYE (RFC 3501
// §7.1.5: it is closing the connection, e.g. after an idle timeout).
func (c *wireConn) closedErr(err error) error {
	if c.bye != "" {
		return fmt.Errorf("the server closed the connection (BYE %s): %w", c.bye, err)
	}
	return err
}

// statusErr is nil for OK and an error naming the server's text otherwise.
func statusErr(r *wireResp) error {
	if r.Kind == "OK" {
		return nil
	}
	msg := r.Text
	if r.Code != "" {
		msg = "[" + r.Code + "] " + msg
	}
	return fmt.Errorf("%s %s", r.Kind, msg)
}

// read parses one response (RFC 3501 §7, §9 "response").
func (c *wireConn) read() (*wireResp, error) {
	tag, err := c.readWord()
	if err != nil {
		return nil, err
	}
	r := &wireResp{Tag: tag}
	if tag == "+" {
		line, err := c.readLine()
		r.Text = strings.TrimSpace(line)
		return r, err
	}
	kind, err := c.readWord()
	if err != nil {
		return nil, err
	}
	if n, err := strconv.ParseUint(kind, 10, 32); err == nil && tag == "*" {
		r.Num = uint32(n)
		if kind, err = c.readWord(); err != nil {
			return nil, err
		}
	}
	r.Kind = strings.ToUpper(kind)
	switch r.Kind {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		line, err := c.readLine()
		if err != nil {
			return nil, err
		}
		line = strings.TrimPrefix(line, " ")
		if strings.HasPrefix(line, "[") {
			if end := strings.IndexByte(line, ']'); end > 0 {
				r.Code, line = line[1:end], strings.TrimPrefix(line[end+1:], " ")
			}
		}
		r.Text = line
		return r, nil
	}
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch b {
		case ' ':
			continue
		case '\r':
			continue
		case '\n':
			return r, nil
		}
		c.r.UnreadByte()
		v, err := c.readValue(0)
		if err != nil {
			return nil, fmt.Errorf("parsing %s response: %w", r.Kind, err)
		}
		r.Fields = append(r.Fields, v)
	}
}

// readWord reads up to a space or the line end (the line end stays).
func (c *wireConn) readWord() (string, error) {
	var b strings.Builder
	for {
		ch, err := c.r.ReadByte()
		if err != nil {
			return "", err
		}
		if ch == ' ' {
			return b.String(), nil
		}
		if ch == '\r' || ch == '\n' {
			c.r.UnreadByte()
			return b.String(), nil
		}
		if b.Len() > 1024 {
			return "", errors.New("response word too long")
		}
		b.WriteByte(ch)
	}
}

// readLine reads the rest of the line without its CRLF.
func (c *wireConn) readLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readValue reads an atom, a quoted string, a literal or a list.
func (c *wireConn) readValue(depth int) (any, error) {
	if depth > 32 {
		return nil, errors.New("lists nested too deep")
	}
	b, err := c.r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch b {
	case '(':
		var l []any
		for {
			b, err := c.r.ReadByte()
			if err != nil {
				return nil, err
			}
			switch b {
			case ')':
				return l, nil
			case ' ':
				continue
			case '\r', '\n':
				return nil, errors.New("line ends inside a list")
			}
			c.r.UnreadByte()
			v, err := c.readValue(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
	case '"':
		var s strings.Builder
		for {
			b, err := c.r.ReadByte()
			if err != nil {
				return nil, err
			}
			switch b {
			case '"':
				return s.String(), nil
			case '\\':
				if b, err = c.r.ReadByte(); err != nil {
					return nil, err
				}
			case '\r', '\n':
				return nil, errors.New("line ends inside a quoted string")
			}
			s.WriteByte(b)
		}
	case '{':
		num, err := c.r.ReadString('}')
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSuffix(num, "}"), "+"), 10, 64)
		if err != nil || n < 0 || n > maxLiteral {
			return nil, fmt.Errorf("bad literal size {%s", num)
		}
		if crlf, err := c.readLine(); err != nil || crlf != "" {
			return nil, fmt.Errorf("literal {%d} not followed by CRLF", n)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf), nil
	}
	// An atom; "[...]" inside one (BODY[HEADER], BODY[]<0>) is part of it,
	// spaces and parentheses included.
	var s strings.Builder
	s.WriteByte(b)
	bracket := b == '['
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if bracket {
			if b == '\r' || b == '\n' {
				return nil, errors.New("line ends inside [...]")
			}
			s.WriteByte(b)
			if b == ']' {
				bracket = false
			}
			continue
		}
		switch b {
		case ' ', '(', ')', '\r', '\n', '{', '"':
			c.r.UnreadByte()
			return wireAtom(s.String()), nil
		case '[':
			bracket = true
		}
		s.WriteByte(b)
	}
}

// asString is the text of an atom or string ("" for a list).
func asString(v any) string {
	switch v := v.(type) {
	case wireAtom:
		return string(v)
	case string:
		return v
	}
	return ""
}

// isNIL reports whether v is the atom NIL.
func isNIL(v any) bool {
	a, ok := v.(wireAtom)
	return ok && strings.EqualFold(string(a), "NIL")
}

// asNumber parses a number atom.
func asNumber(v any) (uint64, bool) {
	n, err := strconv.ParseUint(asString(v), 10, 64)
	return n, err == nil
}

// quote makes an IMAP quoted string (RFC 3501 §4.3) of 7-bit text
// without line breaks (mailbox names in modified UTF-7, search keys).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// argString is a command argument for any text: a quoted string when it
// is 7-bit without line breaks, otherwise a literal slot ("\x00" in the
// command, filled by run) with its literal.
func argString(s string) (string, []wireLiteral) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == '\r' || s[i] == '\n' || s[i] == 0 {
			return "\x00", []wireLiteral{wireLiteral(s)}
		}
	}
	return quote(s), nil
}

// quoteMailbox encodes a mailbox name for a command: modified UTF-7
// (RFC 3501 §5.1.3) unless UTF8=ACCEPT is enabled (RFC 6855 §3).
func (c *wireConn) quoteMailbox(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return quote(encodeMUTF7(name))
}
