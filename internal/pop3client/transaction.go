package pop3client

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MessageInfo is one LIST entry.
type MessageInfo struct {
	Number int
	Size   int64
}

// UniqueID is one UIDL entry.
type UniqueID struct {
	Number int
	UID    string
}

// Stat returns the number of messages and their total size (RFC 1939 §5).
func (c *Client) Stat() (count int, size int64, err error) {
	text, err := c.cmd("STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%w: STAT reply %q", ErrProtocol, text)
	}
	count, err1 := strconv.Atoi(f[0])
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: STAT reply %q", ErrProtocol, text)
	}
	return count, size, nil
}

func parseListEntry(line string) (MessageInfo, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return MessageInfo{}, fmt.Errorf("%w: LIST entry %q", ErrProtocol, line)
	}
	n, err1 := strconv.Atoi(f[0])
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return MessageInfo{}, fmt.Errorf("%w: LIST entry %q", ErrProtocol, line)
	}
	return MessageInfo{Number: n, Size: size}, nil
}

// List lists every message not marked deleted (RFC 1939 §5).
func (c *Client) List() ([]MessageInfo, error) {
	lines, err := c.cmdLines("LIST")
	if err != nil {
		return nil, err
	}
	out := make([]MessageInfo, 0, len(lines))
	for _, l := range lines {
		m, err := parseListEntry(l)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ListOne lists one message.
func (c *Client) ListOne(n int) (MessageInfo, error) {
	text, err := c.cmd("LIST %d", n)
	if err != nil {
		return MessageInfo{}, err
	}
	return parseListEntry(text)
}

func parseUidlEntry(line string) (UniqueID, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return UniqueID{}, fmt.Errorf("%w: UIDL entry %q", ErrProtocol, line)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return UniqueID{}, fmt.Errorf("%w: UIDL entry %q", ErrProtocol, line)
	}
	return UniqueID{Number: n, UID: f[1]}, nil
}

// Uidl lists the unique ids of every message not marked deleted
// (RFC 1939 §7).
func (c *Client) Uidl() ([]UniqueID, error) {
	lines, err := c.cmdLines("UIDL")
	if err != nil {
		return nil, err
	}
	out := make([]UniqueID, 0, len(lines))
	for _, l := range lines {
		u, err := parseUidlEntry(l)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// UidlOne returns the unique id of one message.
func (c *Client) UidlOne(n int) (UniqueID, error) {
	text, err := c.cmd("UIDL %d", n)
	if err != nil {
		return UniqueID{}, err
	}
	return parseUidlEntry(text)
}

// Retr returns a reader of message n, un-stuffed, with CRLF line ends
// (RFC 1939 §5).
func (c *Client) Retr(n int) (io.Reader, error) { return c.cmdBody("RETR %d", n) }

// Top returns a reader of the header of message n and its first lines body
// lines (RFC 1939 §7).
func (c *Client) Top(n, lines int) (io.Reader, error) { return c.cmdBody("TOP %d %d", n, lines) }

// Dele marks message n deleted (RFC 1939 §5).
func (c *Client) Dele(n int) error {
	_, err := c.cmd("DELE %d", n)
	return err
}

// Rset unmarks all messages (RFC 1939 §5).
func (c *Client) Rset() error {
	_, err := c.cmd("RSET")
	return err
}

// Noop does nothing but get +OK (RFC 1939 §5).
func (c *Client) Noop() error {
	_, err := c.cmd("NOOP")
	return err
}
