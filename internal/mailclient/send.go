package mailclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPConfig says where and how to submit mail (RFC 6409 message
// submission).
type SMTPConfig struct {
	Addr     string // host:port
	Security Security
	User     string
	Password string
	TLS      *tls.Config // nil: verify against the system roots
	Timeout  time.Duration
}

// ParseSMTPURL reads a submission server URL: submission://host[:587]
// (STARTTLS, RFC 6409 §3.1 and RFC 3207) or submissions://host[:465]
// (implicit TLS, RFC 8314 §3.3); smtp:// and smtps:// are taken as the
// same. "?tls=none" is for loopback tests only.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("SMTP URL: %w", err)
	}
	var c SMTPConfig
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "submission", "smtp":
		c.Security, port = StartTLS, "587"
	case "submissions", "smtps":
		c.Security, port = ImplicitTLS, "465"
	default:
		return SMTPConfig{}, fmt.Errorf("SMTP URL %q: want submission://host:587 (STARTTLS) or submissions://host:465 (implicit TLS)", raw)
	}
	if u.Hostname() == "" {
		return SMTPConfig{}, fmt.Errorf("SMTP URL %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	c.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		c.User = u.User.Username()
	}
	if mode := u.Query().Get("tls"); mode != "" {
		if c.Security, err = ParseSecurity(mode); err != nil {
			return SMTPConfig{}, err
		}
	}
	return c, nil
}

// DefaultSMTPURL is the submission server of an IMAP/POP3 host: the same
// host on port 587 with STARTTLS.
func DefaultSMTPURL(host string) string {
	return "submission://" + net.JoinHostPort(host, "587")
}

func (c SMTPConfig) host() string {
	h, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return c.Addr
	}
	return h
}

func (c SMTPConfig) tlsConfig() *tls.Config {
	if c.TLS != nil {
		cfg := c.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = c.host()
		}
		return cfg
	}
	cfg, _ := NewTLSConfig(c.host(), TLSOptions{})
	return cfg
}

// Submit sends msg from from to rcpts through the submission server:
// TLS (implicit or STARTTLS), AUTH PLAIN (RFC 4954, RFC 4616) with the
// account's credentials, MAIL/RCPT/DATA. A refused recipient fails the
// whole submission before DATA, so nothing is sent to part of the list.
func Submit(ctx context.Context, c SMTPConfig, from string, rcpts []string, msg []byte) error {
	if len(rcpts) == 0 {
		return errors.New("no recipients: give --to (or To:/Cc:/Bcc: in the message)")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", c.Addr)
	if err != nil {
		return dialError(c.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var sc *smtp.Client
	switch c.Security {
	case ImplicitTLS:
		tc := tls.Client(conn, c.tlsConfig())
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS with %s: %w", c.Addr, err)
		}
		sc = smtp.NewClient(tc)
	case StartTLS:
		var err error
		sc, err = smtp.NewClientStartTLS(conn, c.tlsConfig())
		if err != nil {
			conn.Close()
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return lacks(c.Addr, "STARTTLS (RFC 3207)", "to protect the password (use submissions://host:465 if it offers implicit TLS)")
			}
			return fmt.Errorf("STARTTLS with %s: %w", c.Addr, err)
		}
	default:
		sc = smtp.NewClient(conn)
	}
	defer sc.Close()
	sc.CommandTimeout = timeout
	ok, mechs := sc.Extension("AUTH") // EHLO again after STARTTLS (RFC 3207 §4.2)
	if !ok {
		return lacks(c.Addr, "AUTH", "to log in for submission")
	}
	if !hasWord(mechs, "PLAIN") {
		return lacks(c.Addr, "AUTH PLAIN (it offers "+mechs+")", "to log in for submission")
	}
	if err := sc.Auth(sasl.NewPlainClient("", c.User, c.Password)); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && (se.Code == 535 || se.Code == 534) {
			return fmt.Errorf("login as %s at %s: %w: check the user name and the password (server said: %v)", c.User, c.Addr, ErrAuthFailed, err)
		}
		return fmt.Errorf("AUTH at %s: %w", c.Addr, err)
	}
	mo := &smtp.MailOptions{}
	if !isASCII(from) || !isASCII(strings.Join(rcpts, "")) {
		mo.UTF8 = true // RFC 6531 SMTPUTF8
	}
	if ok, _ := sc.Extension("8BITMIME"); ok && !isASCII(string(msg)) {
		mo.Body = smtp.Body8BitMIME // RFC 6152: a forwarded 8bit message
	}
	if err := sc.Mail(from, mo); err != nil {
		return fmt.Errorf("submitting to %s: sender %s refused: %w", c.Addr, from, err)
	}
	for _, rc := range rcpts {
		if err := sc.Rcpt(rc, nil); err != nil {
			return fmt.Errorf("submitting to %s: recipient %s refused, nothing sent: %w", c.Addr, rc, err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return fmt.Errorf("submitting to %s: DATA: %w", c.Addr, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(msg)); err != nil {
		w.Close()
		return fmt.Errorf("submitting to %s: %w", c.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("submitting to %s: message refused: %w", c.Addr, err)
	}
	if err := sc.Quit(); err != nil {
		return fmt.Errorf("QUIT at %s: %w", c.Addr, err)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// Appender is a client that can keep a copy of sent mail (IMAP).
type Appender interface {
	// AppendSent stores msg with \Seen in the Sent folder: name when not
	// empty, else the mailbox with the \Sent special use (RFC 6154), else
	// "Sent", created when missing. It returns the folder used.
	AppendSent(ctx context.Context, name string, msg []byte) (string, error)
	// AddFlags adds flags to a message by id (e.g. \Answered after a reply).
	AddFlags(ctx context.Context, mailbox, id string, flags ...string) error
}

// AppendSent implements Appender with APPEND (RFC 3501 §6.3.11).
func (s *imapSession) AppendSent(ctx context.Context, name string, msg []byte) (string, error) {
	if name == "" {
		var err error
		if name, err = s.sentFolder(); err != nil {
			return "", err
		}
	}
	err := s.appendSeen(name, msg)
	if isNoSuchMailbox(err) {
		// Create it (RFC 6154 §5: with the \Sent use where the server has
		// CREATE-SPECIAL-USE) and try again.
		var opts *imap.CreateOptions
		if s.c.Caps().Has(imap.CapCreateSpecialUse) {
			opts = &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrSent}}
		}
		if cerr := s.c.Create(name, opts).Wait(); cerr != nil {
			return "", fmt.Errorf("creating %s for the sent copy: %w", name, cerr)
		}
		err = s.appendSeen(name, msg)
	}
	if err != nil {
		return "", fmt.Errorf("appending the sent copy to %s: %w", name, err)
	}
	return name, nil
}

func (s *imapSession) appendSeen(mailbox string, msg []byte) error {
	cmd := s.c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Now()})
	if _, err := cmd.Write(msg); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// sentFolder finds the mailbox with the \Sent attribute (RFC 6154 §2),
// else "Sent".
func (s *imapSession) sentFolder() (string, error) {
	var opts *imap.ListOptions
	caps := s.c.Caps()
	if caps.Has(imap.CapSpecialUse) && (caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)) {
		// RFC 6154 §2: RETURN (SPECIAL-USE) makes the server include the
		// attributes (a plain LIST may leave them out).
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	list, err := s.c.List("", "*", opts).Collect()
	if err != nil {
		return "", fmt.Errorf("list: %w", err)
	}
	for _, l := range list {
		for _, a := range l.Attrs {
			if strings.EqualFold(string(a), string(imap.MailboxAttrSent)) {
				return l.Mailbox, nil
			}
		}
	}
	return "Sent", nil
}

// AddFlags implements Appender.
func (s *imapSession) AddFlags(ctx context.Context, mailbox, id string, flags ...string) error {
	return s.changeFlags(mailbox, []string{id}, imap.StoreFlagsAdd, flags)
}
