package pop3client

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// User sends USER (RFC 1939 §7).
func (c *Client) User(name string) error {
	_, err := c.cmd("USER %s", name)
	return err
}

// Pass sends PASS (RFC 1939 §7).
func (c *Client) Pass(password string) error {
	_, err := c.cmd("PASS %s", password)
	return err
}

// Login sends USER then PASS.
func (c *Client) Login(user, password string) error {
	if err := c.User(user); err != nil {
		return err
	}
	return c.Pass(password)
}

// plainResponse is the base64 SASL PLAIN message (RFC 4616 §2).
func plainResponse(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
}

// AuthPlain authenticates with AUTH PLAIN and an initial response
// (RFC 5034 §4).
func (c *Client) AuthPlain(user, password string) error {
	_, err := c.cmd("AUTH PLAIN %s", plainResponse(user, password))
	return err
}

// AuthPlainContinue authenticates with AUTH PLAIN, sending the response
// after the server's "+ " continuation (RFC 5034 §4), as clients do whose
// initial response would be too long.
func (c *Client) AuthPlainContinue(user, password string) error {
	if err := c.send("AUTH PLAIN"); err != nil {
		return err
	}
	line, err := c.readLine()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+ ") && line != "+" {
		if strings.HasPrefix(line, "-ERR") {
			return parseErr(strings.TrimPrefix(line, "-ERR"))
		}
		return fmt.Errorf("%w: expected continuation, got %q", ErrProtocol, line)
	}
	_, err = c.cmd("%s", plainResponse(user, password))
	return err
}
