package mailclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// Client is one logged-in session with a mail server. It is not safe for
// concurrent use. Close ends the session politely (LOGOUT or QUIT: for POP3
// that is when deletions take effect, RFC 1939 §6) and its error matters.
type Client interface {
	Protocol() Protocol

	// Mailboxes lists the mailboxes with their counts (IMAP only).
	Mailboxes(ctx context.Context) ([]MailboxInfo, error)
	// List returns the last limit messages of a mailbox (all when limit
	// <= 0), oldest first.
	List(ctx context.Context, mailbox string, limit int) ([]Summary, error)
	// Fetch returns the raw message (RFC 5322, CRLF line ends). markSeen
	// sets \Seen over IMAP, as reading does in a mail reader.
	Fetch(ctx context.Context, mailbox, id string, markSeen bool) ([]byte, error)
	// Search returns the messages matching q, oldest first: over IMAP with
	// SEARCH on the server, over POP3 by reading every header (TOP n 0).
	Search(ctx context.Context, mailbox string, q Query) ([]Summary, error)
	// FetchUnread hands each unread message to deliver and, once deliver
	// returned nil, marks it read: over IMAP the \Seen flag (UNSEEN messages
	// are the unread ones), over POP3 the UIDL in the state file o.StateFile.
	FetchUnread(ctx context.Context, mailbox string, o UnreadOptions, deliver func(Message) error) (int, error)
	// Delete removes messages: IMAP marks \Deleted and expunges them (UID
	// EXPUNGE with UIDPLUS), POP3 marks them with DELE; Close commits.
	Delete(ctx context.Context, mailbox string, ids []string) error
	// Move moves messages to another mailbox (IMAP only).
	Move(ctx context.Context, mailbox string, ids []string, dest string) error
	// Flag adds and Unflag removes flags (IMAP only), e.g. `\Seen`.
	Flag(ctx context.Context, mailbox string, ids []string, flags []string) error
	Unflag(ctx context.Context, mailbox string, ids []string, flags []string) error
	// Sync mirrors a mailbox into the Maildir at dir (see sync.go).
	Sync(ctx context.Context, mailbox, dir string) (SyncReport, error)

	Close() error
}

// MailboxInfo is one mailbox of Mailboxes.
type MailboxInfo struct {
	Name     string
	Attrs    []string // LIST attributes, e.g. \Sent, \HasNoChildren
	Messages int      // -1 when not selectable
	Unseen   int      // -1 when not selectable
}

// Summary is what a listing shows of one message.
type Summary struct {
	ID      string   // what the other verbs take: UID (IMAP) or number (POP3)
	UIDL    string   // POP3 unique id; "" for IMAP
	Flags   []string // IMAP flags; nil for POP3
	Size    int64
	Date    time.Time // the Date header (zero when missing or unparsable)
	From    string
	Subject string
}

// Message is a Summary with the raw message.
type Message struct {
	Summary
	Raw []byte
}

// Query selects messages for Search. Empty fields match everything; text
// matches are case-insensitive substrings (RFC 3501 §6.4.4).
type Query struct {
	Subject string
	From    string
	// Unseen keeps only unread messages: without \Seen over IMAP, not in
	// StateFile over POP3 (which then needs StateFile).
	Unseen    bool
	StateFile string
}

// UnreadOptions configure FetchUnread.
type UnreadOptions struct {
	// StateFile remembers the UIDLs already downloaded (POP3 only; needed).
	StateFile string
	// KeepUnseen leaves \Seen alone over IMAP: the same messages are unread
	// next time too.
	KeepUnseen bool
	// Start, when set, is told how many messages and octets are about to
	// be downloaded, before the first (for progress figures).
	Start func(messages int, octets int64)
}

// Dial connects, protects the connection as c.Security says, and logs in.
// ctx bounds the whole session: when it is cancelled the connection closes.
func Dial(ctx context.Context, c Config) (Client, error) {
	if c.User == "" {
		return nil, fmt.Errorf("no user name")
	}
	if c.Password == "" {
		return nil, fmt.Errorf("no password")
	}
	if c.Protocol == POP3 {
		return dialPOP3(ctx, c)
	}
	return dialIMAP(ctx, c)
}

// dialConn opens the TCP connection and, for implicit TLS, does the
// handshake, all within c's timeout.
func dialConn(ctx context.Context, c Config) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	d := &net.Dialer{}
	conn, err := d.DialContext(dctx, "tcp", c.Addr)
	if err != nil {
		return nil, dialError(c.Addr, err)
	}
	if c.Security != ImplicitTLS {
		return conn, nil
	}
	tc := tls.Client(conn, c.tlsConfig())
	if err := tc.HandshakeContext(dctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS with %s: %w", c.Addr, err)
	}
	return tc, nil
}

// closeOnDone closes conn when ctx is cancelled; the returned function
// stops that (call it when the session ends).
func closeOnDone(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.Close() })
}

// inboxOnly is the mailbox check of POP3: a maildrop is one INBOX.
func inboxOnly(mailbox string) error {
	if mailbox == "" || strings.EqualFold(mailbox, "INBOX") {
		return nil
	}
	return unsupported("POP3 serves only INBOX, not %q (use IMAP for other mailboxes)", mailbox)
}

// orInbox returns mailbox or INBOX when empty.
func orInbox(mailbox string) string {
	if mailbox == "" {
		return "INBOX"
	}
	return mailbox
}

// loginGuard closes a connection that is not logged in within the
// timeout: the greeting, STARTTLS/STLS and the login must not hang on a
// server that says nothing.
type loginGuard struct {
	timer    *time.Timer
	timedOut atomic.Bool
	timeout  time.Duration
	addr     string
}

func newLoginGuard(conn net.Conn, c Config) *loginGuard {
	g := &loginGuard{timeout: c.timeout(), addr: c.Addr}
	g.timer = time.AfterFunc(g.timeout, func() {
		g.timedOut.Store(true)
		conn.Close()
	})
	return g
}

func (g *loginGuard) stop() { g.timer.Stop() }

// explain says that err came from the timeout, when it did.
func (g *loginGuard) explain(err error) error {
	if g.timedOut.Load() {
		return fmt.Errorf("%s did not complete the login within %v: %w", g.addr, g.timeout, err)
	}
	return err
}
