package mailclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/pop3client"
)

// pop3Session is a Client over POP3 (RFC 1939). Its ids are message
// numbers of this session, or "uidl:X".
type pop3Session struct {
	cfg  Config
	conn net.Conn
	c    *pop3client.Client
	stop func() bool
	caps []string
}

// dialPOP3 connects, upgrades with STLS when asked (RFC 2595 §4) and logs
// in with USER/PASS (RFC 1939 §7), or AUTH PLAIN (RFC 5034) where the
// server does not offer USER.
func dialPOP3(ctx context.Context, cfg Config) (Client, error) {
	conn, err := dialConn(ctx, cfg)
	if err != nil {
		return nil, err
	}
	guard := newLoginGuard(conn, cfg)
	defer guard.stop()
	c, err := pop3client.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, guard.explain(fmt.Errorf("POP3 greeting from %s: %w", cfg.Addr, err))
	}
	s := &pop3Session{cfg: cfg, conn: conn, c: c}
	s.stop = closeOnDone(ctx, conn)
	if err := s.login(); err != nil {
		s.stop()
		c.Close()
		return nil, guard.explain(err)
	}
	return s, nil
}

func (s *pop3Session) login() error {
	caps, capErr := s.c.Capa() // CAPA is optional (RFC 2449); nil then
	if s.cfg.Security == StartTLS {
		if capErr == nil && !pop3client.HasCapability(caps, "STLS") {
			return lacks(s.cfg.Addr, "STLS (RFC 2595 §4)", "to protect the login: use pop3s:// (port 995)")
		}
		if err := s.c.STLS(s.cfg.tlsConfig()); err != nil {
			return fmt.Errorf("STLS with %s: %w", s.cfg.Addr, err)
		}
		caps, capErr = s.c.Capa() // RFC 2595 §4: ask again after TLS
	}
	s.caps = caps
	useSASL := capErr == nil && !pop3client.HasCapability(caps, "USER") && saslPlain(caps)
	var err error
	if useSASL {
		err = s.c.AuthPlain(s.cfg.User, s.cfg.Password)
	} else {
		err = s.c.Login(s.cfg.User, s.cfg.Password)
	}
	if err != nil {
		return authError(s.cfg.User, s.cfg.Addr, err)
	}
	return nil
}

// saslPlain reports whether CAPA lists "SASL ... PLAIN ...".
func saslPlain(caps []string) bool {
	for _, c := range caps {
		f := strings.Fields(strings.ToUpper(c))
		if len(f) > 1 && f[0] == "SASL" {
			for _, m := range f[1:] {
				if m == "PLAIN" {
					return true
				}
			}
		}
	}
	return false
}

func (s *pop3Session) Protocol() Protocol { return POP3 }

// Close sends QUIT, which removes the messages marked with DELE
// (RFC 1939 §6 UPDATE state).
func (s *pop3Session) Close() error {
	defer s.stop()
	s.c.Conn().SetDeadline(time.Now().Add(s.cfg.timeout()))
	if err := s.c.Quit(); err != nil {
		return fmt.Errorf("QUIT: %w", err)
	}
	return nil
}

func (s *pop3Session) account() string { return s.cfg.User + "@" + s.cfg.Addr }

// messages lists the maildrop with each message's UIDL when the server
// has UIDL (it is optional, RFC 1939 §7).
func (s *pop3Session) messages() ([]Summary, error) {
	list, err := s.c.List()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	uidls := map[int]string{}
	if ids, err := s.c.Uidl(); err == nil {
		for _, u := range ids {
			uidls[u.Number] = u.UID
		}
	} else if !isERR(err) {
		return nil, fmt.Errorf("UIDL: %w", err)
	}
	out := make([]Summary, len(list))
	for i, m := range list {
		out[i] = Summary{ID: strconv.Itoa(m.Number), UIDL: uidls[m.Number], Size: m.Size}
	}
	return out, nil
}

// isERR reports whether err is a -ERR reply (the session goes on) rather
// than a broken connection.
func isERR(err error) bool {
	var pe *pop3client.Error
	return errors.As(err, &pe)
}

// header fills the header fields of sum with TOP n 0 (RFC 1939 §7), or
// with RETR where the server has no TOP.
func (s *pop3Session) header(sum *Summary) error {
	n, _ := strconv.Atoi(sum.ID)
	r, err := s.c.Top(n, 0)
	if isERR(err) {
		r, err = s.c.Retr(n)
	}
	if err != nil {
		return fmt.Errorf("TOP %d: %w", n, err)
	}
	summaryFromHeader(r, sum)
	_, err = io.Copy(io.Discard, r) // the rest, so the next command is in step
	return err
}

func (s *pop3Session) Mailboxes(ctx context.Context) ([]MailboxInfo, error) {
	return nil, unsupported("POP3 has a single maildrop and no mailboxes (use IMAP)")
}

func (s *pop3Session) List(ctx context.Context, mailbox string, limit int) ([]Summary, error) {
	if err := inboxOnly(mailbox); err != nil {
		return nil, err
	}
	msgs, err := s.messages()
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(msgs) > limit {
		msgs = msgs[len(msgs)-limit:]
	}
	for i := range msgs {
		if err := s.header(&msgs[i]); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// resolve turns an id into a message number: "N" is the number itself,
// "uidl:X" the message whose UIDL is X.
func (s *pop3Session) resolve(id string, msgs []Summary) (int, error) {
	if u, ok := strings.CutPrefix(id, "uidl:"); ok {
		for _, m := range msgs {
			if m.UIDL == u {
				n, _ := strconv.Atoi(m.ID)
				return n, nil
			}
		}
		return 0, fmt.Errorf("no message with UIDL %q", u)
	}
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad message id %q: POP3 wants a message number or uidl:ID (from `list`)", id)
	}
	for _, m := range msgs {
		if m.ID == id {
			return n, nil
		}
	}
	return 0, fmt.Errorf("no message %d (the maildrop has %d)", n, len(msgs))
}

func (s *pop3Session) retr(n int) ([]byte, error) {
	r, err := s.c.Retr(n)
	if err != nil {
		return nil, fmt.Errorf("RETR %d: %w", n, err)
	}
	return io.ReadAll(r)
}

func (s *pop3Session) Fetch(ctx context.Context, mailbox, id string, markSeen bool) ([]byte, error) {
	if err := inboxOnly(mailbox); err != nil {
		return nil, err
	}
	msgs, err := s.messages()
	if err != nil {
		return nil, err
	}
	n, err := s.resolve(id, msgs)
	if err != nil {
		return nil, err
	}
	return s.retr(n)
}

// Search reads every header and matches on the client: POP3 has no SEARCH.
func (s *pop3Session) Search(ctx context.Context, mailbox string, q Query) ([]Summary, error) {
	if err := inboxOnly(mailbox); err != nil {
		return nil, err
	}
	var seen *uidlState
	if q.Unseen {
		if q.StateFile == "" {
			return nil, errors.New("POP3 has no \\Seen flag: --unseen needs a state file (--state FILE, as written by `unread`)")
		}
		var err error
		if seen, err = loadUIDLState(q.StateFile, s.account()); err != nil {
			return nil, err
		}
	}
	msgs, err := s.messages()
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, m := range msgs {
		if seen != nil && (m.UIDL == "" || seen.seen[m.UIDL]) {
			continue
		}
		if err := s.header(&m); err != nil {
			return nil, err
		}
		if q.Subject != "" && !containsFold(m.Subject, q.Subject) {
			continue
		}
		if q.From != "" && !containsFold(m.From, q.From) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// FetchUnread downloads the messages whose UIDL is not in the state file
// and adds each UIDL once deliver accepted the message.
func (s *pop3Session) FetchUnread(ctx context.Context, mailbox string, o UnreadOptions, deliver func(Message) error) (n int, err error) {
	if err := inboxOnly(mailbox); err != nil {
		return 0, err
	}
	if o.StateFile == "" {
		return 0, errors.New("POP3 needs a state file to know what was downloaded")
	}
	st, err := loadUIDLState(o.StateFile, s.account())
	if err != nil {
		return 0, err
	}
	msgs, err := s.messages()
	if err != nil {
		return 0, err
	}
	defer func() {
		if n > 0 {
			if serr := st.save(); err == nil {
				err = serr
			}
		}
	}()
	var pending []Summary
	var octets int64
	for _, m := range msgs {
		if m.UIDL == "" {
			return n, unsupported("the server has no UIDL (RFC 1939 §7), so unread messages cannot be told apart")
		}
		if !st.seen[m.UIDL] {
			pending = append(pending, m)
			octets += m.Size
		}
	}
	if o.Start != nil {
		o.Start(len(pending), octets)
	}
	for _, m := range pending {
		num, _ := strconv.Atoi(m.ID)
		raw, err := s.retr(num)
		if err != nil {
			return n, err
		}
		msg := Message{Summary: m, Raw: raw}
		summaryFromHeader(bytes.NewReader(raw), &msg.Summary)
		if err := deliver(msg); err != nil {
			return n, err
		}
		st.seen[m.UIDL] = true
		n++
	}
	return n, nil
}

// Delete marks messages with DELE; Close (QUIT) removes them. One bad id
// undoes the marks (RSET, RFC 1939 §5) so nothing is half done.
func (s *pop3Session) Delete(ctx context.Context, mailbox string, ids []string) error {
	if err := inboxOnly(mailbox); err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("no message ids given")
	}
	msgs, err := s.messages()
	if err != nil {
		return err
	}
	nums := make([]int, 0, len(ids))
	for _, id := range ids {
		n, err := s.resolve(id, msgs)
		if err != nil {
			return err
		}
		nums = append(nums, n)
	}
	for _, n := range nums {
		if err := s.c.Dele(n); err != nil {
			s.c.Rset()
			return fmt.Errorf("DELE %d: %w", n, err)
		}
	}
	return nil
}

func (s *pop3Session) Move(ctx context.Context, mailbox string, ids []string, dest string) error {
	return unsupported("POP3 has no mailboxes to move messages to (use IMAP)")
}

func (s *pop3Session) Flag(ctx context.Context, mailbox string, ids []string, flags []string) error {
	return unsupported("POP3 has no flags (use IMAP)")
}

func (s *pop3Session) Unflag(ctx context.Context, mailbox string, ids []string, flags []string) error {
	return unsupported("POP3 has no flags (use IMAP)")
}
