package mailclient

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
)

// imapSession is a Client over IMAP4rev1/rev2 (RFC 3501, RFC 9051).
type imapSession struct {
	cfg  Config
	conn net.Conn
	c    *imapclient.Client
	stop func() bool
}

// dialIMAP connects, upgrades with STARTTLS when asked (RFC 3501 §6.2.1;
// imapclient refuses to go on if the server does not offer it) and logs in
// with LOGIN (§6.2.3).
func dialIMAP(ctx context.Context, cfg Config) (Client, error) {
	conn, err := dialConn(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// The greeting, STARTTLS and LOGIN must not hang forever. imapclient
	// sets its own read deadlines, so a timer closes the connection.
	guard := newLoginGuard(conn, cfg)
	defer guard.stop()
	opts := &imapclient.Options{
		TLSConfig:   cfg.tlsConfig(),
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
	}
	var c *imapclient.Client
	if cfg.Security == StartTLS {
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			var ie *imap.Error
			if errors.As(err, &ie) { // the server answered STARTTLS with NO or BAD
				return nil, fmt.Errorf("%w (server said: %v)", lacks(cfg.Addr, "STARTTLS (RFC 3501 §6.2.1)", "to protect the login: use imaps:// (port 993)"), err)
			}
			return nil, guard.explain(fmt.Errorf("STARTTLS with %s: %w", cfg.Addr, err))
		}
	} else {
		c = imapclient.New(conn, opts)
	}
	s := &imapSession{cfg: cfg, conn: conn, c: c}
	s.stop = closeOnDone(ctx, conn)
	if err := s.login(); err != nil {
		s.stop()
		c.Close()
		return nil, guard.explain(err)
	}
	return s, nil
}

func (s *imapSession) login() error {
	if err := s.c.WaitGreeting(); err != nil {
		return fmt.Errorf("IMAP greeting from %s: %w", s.cfg.Addr, err)
	}
	if s.c.Caps().Has(imap.CapLoginDisabled) {
		return fmt.Errorf("%s refuses LOGIN without TLS (LOGINDISABLED): use imaps:// or STARTTLS (imap:// without ?tls=none)", s.cfg.Addr)
	}
	if err := s.c.Login(s.cfg.User, s.cfg.Password).Wait(); err != nil {
		return authError(s.cfg.User, s.cfg.Addr, err)
	}
	return nil
}

func (s *imapSession) Protocol() Protocol { return IMAP }

// Close logs out (RFC 3501 §6.1.3) and closes the connection.
func (s *imapSession) Close() error {
	defer s.stop()
	s.conn.SetDeadline(time.Now().Add(s.cfg.timeout()))
	err := s.c.Logout().Wait()
	if cerr := s.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// open selects a mailbox: EXAMINE when only reading (RFC 3501 §6.3.2), so
// nothing changes by looking, SELECT when writing (§6.3.1).
func (s *imapSession) open(mailbox string, write bool) (*imap.SelectData, error) {
	mailbox = orInbox(mailbox)
	data, err := s.c.Select(mailbox, &imap.SelectOptions{ReadOnly: !write}).Wait()
	if err != nil {
		return nil, folderError("select", mailbox, err)
	}
	return data, nil
}

// summaryOptions are the FETCH items a listing needs.
var summaryOptions = imap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true}

func summaryOf(m *imapclient.FetchMessageBuffer) Summary {
	s := Summary{ID: strconv.FormatUint(uint64(m.UID), 10), Size: m.RFC822Size, Flags: []string{}}
	for _, f := range m.Flags {
		if strings.EqualFold(string(f), `\Recent`) {
			// Session state, not a stored flag (RFC 3501 §2.3.2; gone in
			// RFC 9051): an EXAMINE shows it on mail no session has
			// claimed yet, and it says nothing the user can change.
			continue
		}
		s.Flags = append(s.Flags, string(f))
	}
	sort.Strings(s.Flags)
	summaryFromEnvelope(m.Envelope, &s)
	if s.Date.IsZero() {
		s.Date = m.InternalDate
	}
	return s
}

// fetchSummaries fetches the listing items of the messages in set, in UID
// order.
func (s *imapSession) fetchSummaries(set imap.NumSet) ([]Summary, error) {
	opts := summaryOptions
	msgs, err := s.c.Fetch(set, &opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	out := make([]Summary, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, summaryOf(m))
	}
	return out, nil
}

func (s *imapSession) Mailboxes(ctx context.Context) ([]MailboxInfo, error) {
	list, err := s.c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var out []MailboxInfo
	for _, l := range list {
		mi := MailboxInfo{Name: l.Mailbox, Messages: -1, Unseen: -1}
		selectable := true
		for _, a := range l.Attrs {
			mi.Attrs = append(mi.Attrs, string(a))
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				selectable = false
			}
		}
		if selectable {
			// STATUS (RFC 3501 §6.3.10) counts without selecting.
			st, err := s.c.Status(l.Mailbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
			if err != nil {
				return nil, fmt.Errorf("status %s: %w", l.Mailbox, err)
			}
			if st.NumMessages != nil {
				mi.Messages = int(*st.NumMessages)
			}
			if st.NumUnseen != nil {
				mi.Unseen = int(*st.NumUnseen)
			}
		}
		out = append(out, mi)
	}
	sort.Slice(out, func(i, j int) bool {
		ii, ij := strings.EqualFold(out[i].Name, "INBOX"), strings.EqualFold(out[j].Name, "INBOX")
		if ii != ij {
			return ii
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (s *imapSession) List(ctx context.Context, mailbox string, limit int) ([]Summary, error) {
	data, err := s.open(mailbox, false)
	if err != nil {
		return nil, err
	}
	n := data.NumMessages
	if n == 0 {
		return nil, nil
	}
	first := uint32(1)
	if limit > 0 && n > uint32(limit) {
		first = n - uint32(limit) + 1
	}
	var set imap.SeqSet
	set.AddRange(first, n)
	return s.fetchSummaries(set)
}

// parseUIDs reads IMAP message ids: UIDs (RFC 3501 §2.3.1.1), non-zero.
func parseUIDs(ids []string) ([]imap.UID, error) {
	if len(ids) == 0 {
		return nil, errors.New("no message ids given")
	}
	out := make([]imap.UID, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad message id %q: IMAP wants a UID (a number from `list`)", id)
		}
		out = append(out, imap.UID(n))
	}
	return out, nil
}

// existing checks that every UID is in the selected mailbox, so a typo is
// an error rather than a silent no-op (UID commands ignore missing UIDs,
// RFC 3501 §6.4.8).
func (s *imapSession) existing(mailbox string, uids []imap.UID) (imap.UIDSet, error) {
	set := imap.UIDSetNum(uids...)
	data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	found := map[imap.UID]bool{}
	for _, u := range data.AllUIDs() {
		found[u] = true
	}
	var missing []string
	for _, u := range uids {
		if !found[u] {
			missing = append(missing, strconv.FormatUint(uint64(u), 10))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no message with UID %s in %s", strings.Join(missing, ", "), orInbox(mailbox))
	}
	return set, nil
}

func (s *imapSession) Fetch(ctx context.Context, mailbox, id string, markSeen bool) ([]byte, error) {
	uids, err := parseUIDs([]string{id})
	if err != nil {
		return nil, err
	}
	if _, err := s.open(mailbox, markSeen); err != nil {
		return nil, err
	}
	// BODY[] sets \Seen, BODY.PEEK[] does not (RFC 3501 §6.4.5).
	section := &imap.FetchItemBodySection{Peek: !markSeen}
	msgs, err := s.c.Fetch(imap.UIDSetNum(uids[0]), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	for _, m := range msgs {
		if m.UID == uids[0] {
			if body := m.FindBodySection(section); body != nil {
				return body, nil
			}
		}
	}
	return nil, fmt.Errorf("no message with UID %d in %s", uids[0], orInbox(mailbox))
}

// criteria turns a Query into SEARCH keys (RFC 3501 §6.4.4: SUBJECT and
// FROM are case-insensitive substring matches; UNSEEN is NOT \Seen).
func (q Query) criteria() *imap.SearchCriteria {
	c := &imap.SearchCriteria{}
	if q.Subject != "" {
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: "Subject", Value: q.Subject})
	}
	if q.From != "" {
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: "From", Value: q.From})
	}
	if q.Unseen {
		c.NotFlag = append(c.NotFlag, imap.FlagSeen)
	}
	return c
}

func (s *imapSession) search(c *imap.SearchCriteria) ([]imap.UID, error) {
	data, err := s.c.UIDSearch(c, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	uids := data.AllUIDs()
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return uids, nil
}

func (s *imapSession) Search(ctx context.Context, mailbox string, q Query) ([]Summary, error) {
	if _, err := s.open(mailbox, false); err != nil {
		return nil, err
	}
	uids, err := s.search(q.criteria())
	if err != nil || len(uids) == 0 {
		return nil, err
	}
	return s.fetchSummaries(imap.UIDSetNum(uids...))
}

func (s *imapSession) FetchUnread(ctx context.Context, mailbox string, o UnreadOptions, deliver func(Message) error) (int, error) {
	if _, err := s.open(mailbox, !o.KeepUnseen); err != nil {
		return 0, err
	}
	uids, err := s.search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}})
	if err != nil {
		return 0, err
	}
	if o.Start != nil {
		var octets int64
		if len(uids) > 0 {
			// RFC822.SIZE of them all in one FETCH (RFC 3501 §6.4.5).
			sizes, err := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
			if err != nil {
				return 0, fmt.Errorf("fetch sizes: %w", err)
			}
			for _, m := range sizes {
				octets += m.RFC822Size
			}
		}
		o.Start(len(uids), octets)
	}
	n := 0
	for _, uid := range uids {
		// One message at a time: PEEK so that a message whose delivery
		// fails stays unread; \Seen is set only after deliver succeeded.
		section := &imap.FetchItemBodySection{Peek: true}
		opts := summaryOptions
		opts.BodySection = []*imap.FetchItemBodySection{section}
		msgs, err := s.c.Fetch(imap.UIDSetNum(uid), &opts).Collect()
		if err != nil {
			return n, fmt.Errorf("fetch UID %d: %w", uid, err)
		}
		if len(msgs) == 0 {
			continue // expunged meanwhile
		}
		m := Message{Summary: summaryOf(msgs[0]), Raw: msgs[0].FindBodySection(section)}
		if err := deliver(m); err != nil {
			return n, err
		}
		n++
		if !o.KeepUnseen {
			if err := s.store(imap.UIDSetNum(uid), imap.StoreFlagsAdd, []imap.Flag{imap.FlagSeen}); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// store changes flags silently (RFC 3501 §6.4.6 +FLAGS.SILENT/-FLAGS.SILENT).
func (s *imapSession) store(set imap.UIDSet, op imap.StoreFlagsOp, flags []imap.Flag) error {
	if err := s.c.Store(set, &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (s *imapSession) Delete(ctx context.Context, mailbox string, ids []string) error {
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	if _, err := s.open(mailbox, true); err != nil {
		return err
	}
	set, err := s.existing(mailbox, uids)
	if err != nil {
		return err
	}
	if err := s.store(set, imap.StoreFlagsAdd, []imap.Flag{imap.FlagDeleted}); err != nil {
		return err
	}
	// UID EXPUNGE (RFC 4315 §2.1, RFC 9051 §6.4.9) removes only these;
	// without it EXPUNGE removes every \Deleted message of the mailbox.
	var ex *imapclient.ExpungeCommand
	if s.c.Caps().Has(imap.CapUIDPlus) {
		ex = s.c.UIDExpunge(set)
	} else {
		ex = s.c.Expunge()
	}
	if err := ex.Close(); err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	return nil
}

func (s *imapSession) Move(ctx context.Context, mailbox string, ids []string, dest string) error {
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	if dest == "" {
		return errors.New("no destination mailbox")
	}
	if _, err := s.open(mailbox, true); err != nil {
		return err
	}
	set, err := s.existing(mailbox, uids)
	if err != nil {
		return err
	}
	// UID MOVE (RFC 6851 §3.2), or COPY + STORE + EXPUNGE where the server
	// lacks MOVE (imapclient falls back by itself).
	if _, err := s.c.Move(set, dest).Wait(); err != nil {
		return folderError("move to", dest, err)
	}
	return nil
}

func (s *imapSession) Flag(ctx context.Context, mailbox string, ids []string, flags []string) error {
	return s.changeFlags(mailbox, ids, imap.StoreFlagsAdd, flags)
}

func (s *imapSession) Unflag(ctx context.Context, mailbox string, ids []string, flags []string) error {
	return s.changeFlags(mailbox, ids, imap.StoreFlagsDel, flags)
}

func (s *imapSession) changeFlags(mailbox string, ids []string, op imap.StoreFlagsOp, flags []string) error {
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	if len(flags) == 0 {
		return errors.New("no flags given")
	}
	if _, err := s.open(mailbox, true); err != nil {
		return err
	}
	set, err := s.existing(mailbox, uids)
	if err != nil {
		return err
	}
	fl := make([]imap.Flag, len(flags))
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	return s.store(set, op, fl)
}
