package mailimport

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPOptions say how to reach a remote IMAP account.
type IMAPOptions struct {
	// URL is imaps://user@host[:993] (TLS) or imap://user@host[:143]
	// (STARTTLS when the server offers it, plain text otherwise: meant
	// for loopback). A user name with '@' is written %40.
	URL      string
	Password string
	// InsecureSkipVerify accepts any certificate (a self-signed one).
	InsecureSkipVerify bool
}

// imapSource reads a remote account over IMAP (go-imap v2 imapclient).
type imapSource struct {
	c     *imapclient.Client
	id    string
	delim rune
	subs  []string
}

// fetchChunk is how many message bodies one UID FETCH asks for.
const fetchChunk = 100

// DialIMAP logs in to the remote account.
func DialIMAP(opts IMAPOptions) (Source, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, err
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, fmt.Errorf("%s: no user name (imaps://user@host)", opts.URL)
	}
	host := u.Hostname()
	port := u.Port()
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: opts.InsecureSkipVerify}
	var c *imapclient.Client
	switch u.Scheme {
	case "imaps":
		if port == "" {
			port = "993"
		}
		c, err = imapclient.DialTLS(net.JoinHostPort(host, port), &imapclient.Options{TLSConfig: tc})
	case "imap":
		if port == "" {
			port = "143"
		}
		c, err = imapclient.DialInsecure(net.JoinHostPort(host, port), nil)
		if err == nil && c.Caps().Has(imap.CapStartTLS) {
			c.Close()
			c, err = imapclient.DialStartTLS(net.JoinHostPort(host, port), &imapclient.Options{TLSConfig: tc})
		}
	default:
		return nil, fmt.Errorf("%s: scheme must be imaps or imap", opts.URL)
	}
	if err != nil {
		return nil, err
	}
	user := u.User.Username()
	if err := c.Login(user, opts.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	return &imapSource{c: c, id: "imap://" + user + "@" + net.JoinHostPort(host, port)}, nil
}

func (s *imapSource) ID() string { return s.id }

func (s *imapSource) name(remote string) string {
	if strings.EqualFold(remote, "INBOX") {
		return "INBOX"
	}
	if s.delim != 0 && s.delim != '/' {
		return strings.ReplaceAll(remote, string(s.delim), "/")
	}
	return remote
}

func (s *imapSource) Mailboxes(ctx context.Context) ([]*SourceMailbox, error) {
	list, err := s.c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	sizeOK := s.c.Caps().Has(imap.CapIMAP4rev2) || s.c.Caps().Has(imap.CapStatusSize)
	var out []*SourceMailbox
	for _, l := range list {
		if l.Delim != 0 {
			s.delim = l.Delim
		}
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		st, err := s.c.Status(l.Mailbox, &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, Size: sizeOK}).Wait()
		if err != nil {
			return nil, fmt.Errorf("STATUS %s: %w", l.Mailbox, err)
		}
		mb := &SourceMailbox{Name: s.name(l.Mailbox), UIDValidity: st.UIDValidity, UIDNext: uint32(st.UIDNext), Messages: -1, Bytes: -1, handle: l.Mailbox}
		if st.NumMessages != nil {
			mb.Messages = int(*st.NumMessages)
		}
		if st.Size != nil {
			mb.Bytes = *st.Size
		}
		out = append(out, mb)
	}
	slices.SortStableFunc(out, func(a, b *SourceMailbox) int {
		switch {
		case a.Name == "INBOX" && b.Name != "INBOX":
			return -1
		case b.Name == "INBOX" && a.Name != "INBOX":
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	subs, err := s.c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err == nil {
		for _, l := range subs {
			s.subs = append(s.subs, s.name(l.Mailbox))
		}
	}
	return out, nil
}

func (s *imapSource) Subscriptions(context.Context) ([]string, error) { return s.subs, nil }

// Fetch examines the mailbox (read-only: \Seen stays as it is), lists the
// UIDs above after with their flags, date and size, and fetches the bodies
// fetchChunk at a time with BODY.PEEK[] (RFC 3501 §6.4.5).
func (s *imapSource) Fetch(ctx context.Context, mb *SourceMailbox, after uint32, fn func(*SourceMessage) error) error {
	remote := mb.handle.(string)
	sel, err := s.c.Select(remote, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("EXAMINE %s: %w", remote, err)
	}
	if sel.UIDValidity != mb.UIDValidity {
		return fmt.Errorf("%s: UIDVALIDITY changed from %d to %d during the import; run it again", remote, mb.UIDValidity, sel.UIDValidity)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(after+1), 0) // after+1:*
	metas, err := s.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true}).Collect()
	if err != nil {
		return err
	}
	// "n:*" includes the last message even when its UID is below n.
	metas = slices.DeleteFunc(metas, func(m *imapclient.FetchMessageBuffer) bool { return uint32(m.UID) <= after })
	slices.SortFunc(metas, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	for start := 0; start < len(metas); start += fetchChunk {
		chunk := metas[start:min(start+fetchChunk, len(metas))]
		var uids imap.UIDSet
		for _, m := range chunk {
			uids.AddNum(m.UID)
		}
		bodies, err := s.c.Fetch(uids, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			return err
		}
		byUID := make(map[imap.UID][]byte, len(bodies))
		for _, b := range bodies {
			if len(b.BodySection) > 0 {
				byUID[b.UID] = b.BodySection[0].Bytes
			}
		}
		for _, m := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			body, ok := byUID[m.UID]
			if !ok {
				continue // expunged meanwhile
			}
			var flags []string
			for _, f := range m.Flags {
				if f == imap.Flag(`\Recent`) {
					continue
				}
				flags = append(flags, string(f))
			}
			err := fn(&SourceMessage{UID: uint32(m.UID), Flags: flags, Date: m.InternalDate, Size: int64(len(body)),
				Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *imapSource) Close() error {
	s.c.Logout().Wait()
	return s.c.Close()
}
