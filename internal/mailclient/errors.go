package mailclient

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/emersion/go-imap/v2"
)

// Errors a person can act on: each names the problem and the fix. They
// wrap the underlying error, so errors.Is/As still see it.

// ErrAuthFailed is wrapped by a refused login.
var ErrAuthFailed = errors.New("authentication failed")

// ErrNoSuchFolder is wrapped when a mailbox does not exist.
var ErrNoSuchFolder = errors.New("no such folder")

// ErrMissingCapability is wrapped when the server lacks an extension an
// operation needs.
var ErrMissingCapability = errors.New("server lacks a capability")

// dialError explains a failed TCP connection.
func dialError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection to %s refused: is the server running, and is %s the right port? (%w)", addr, portOf(addr), err)
	case isTimeout(err):
		return fmt.Errorf("no answer from %s: check the host name, the port and any firewall (%w)", addr, err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return fmt.Errorf("unknown host %q: check the server name in the URL (%w)", dnsErr.Name, err)
	}
	return fmt.Errorf("connecting to %s: %w", addr, err)
}

func portOf(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return addr
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// authError explains a refused login: the credentials, or the server's
// lockout, in the server's own words.
func authError(user, addr string, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code != "" && ie.Code != imap.ResponseCodeAuthenticationFailed && ie.Code != imap.ResponseCodeAuthorizationFailed {
		// RFC 5530 codes such as UNAVAILABLE or LIMIT: the credentials
		// may be right; the server refuses for another reason.
		return fmt.Errorf("login as %s at %s refused [%s]: %s (not a password problem: try again later, or ask the server's admin)", user, addr, ie.Code, ie.Text)
	}
	return fmt.Errorf("login as %s at %s: %w: check the user name and the password (--user, password_command, netrc) (server said: %v)", user, addr, ErrAuthFailed, err)
}

// isNoSuchMailbox recognises a server's "no such mailbox": the RFC 5530
// NONEXISTENT code, TRYCREATE (RFC 3501 §6.4.7), or the wording of servers
// that send neither.
func isNoSuchMailbox(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return false
	}
	if ie.Code == imap.ResponseCodeNonExistent || ie.Code == imap.ResponseCodeTryCreate {
		return true
	}
	t := strings.ToLower(ie.Text)
	return strings.Contains(t, "doesn't exist") || strings.Contains(t, "does not exist") || strings.Contains(t, "no such mailbox")
}

// folderError explains a failed mailbox operation: a missing mailbox
// becomes ErrNoSuchFolder with the fix; others keep the server's words.
func folderError(op, mailbox string, err error) error {
	if isNoSuchMailbox(err) {
		return fmt.Errorf("%s %q: %w (list them with `letterbox client mailboxes`, create one with `letterbox client mkdir NAME`)", op, mailbox, ErrNoSuchFolder)
	}
	return fmt.Errorf("%s %s: %w", op, mailbox, err)
}

// lacks says the server does not offer capability cap, needed for what.
func lacks(addr, cap, what string) error {
	return fmt.Errorf("%s does not offer %s, needed %s: %w", addr, cap, what, ErrMissingCapability)
}
