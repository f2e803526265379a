package mailclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Folders are the mailbox management commands of IMAP (RFC 3501 §6.3.3-
// 6.3.7). POP3 has a single maildrop and no folders (RFC 1939 §1).
type Folders interface {
	CreateMailbox(ctx context.Context, name string) error
	DeleteMailbox(ctx context.Context, name string) error
	RenameMailbox(ctx context.Context, from, to string) error
	Subscribe(ctx context.Context, name string) error
	Unsubscribe(ctx context.Context, name string) error
	Subscribed(ctx context.Context) ([]string, error)
}

// FoldersOf returns c's folder commands, or an ErrUnsupported error
// saying that POP3 has no folders.
func FoldersOf(c Client) (Folders, error) {
	if f, ok := c.(Folders); ok {
		return f, nil
	}
	return nil, unsupported("POP3 has no folders: a POP3 server offers one maildrop (INBOX); use an imap:// or imaps:// URL to manage folders")
}

// CreateMailbox is CREATE (RFC 3501 §6.3.3).
func (s *imapSession) CreateMailbox(ctx context.Context, name string) error {
	if err := checkMailboxName(name); err != nil {
		return err
	}
	if err := s.c.Create(name, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return fmt.Errorf("mkdir %q: it already exists", name)
		}
		return fmt.Errorf("mkdir %q: %w", name, err)
	}
	return nil
}

// DeleteMailbox is DELETE (RFC 3501 §6.3.4). The server refuses INBOX and,
// by RFC 3501, a mailbox with children that is \Noselect.
func (s *imapSession) DeleteMailbox(ctx context.Context, name string) error {
	if err := checkMailboxName(name); err != nil {
		return err
	}
	if strings.EqualFold(name, "INBOX") {
		return errors.New("rmdir INBOX: INBOX cannot be deleted (RFC 3501 §6.3.4)")
	}
	if err := s.c.Delete(name).Wait(); err != nil {
		return folderError("rmdir", name, err)
	}
	return nil
}

// RenameMailbox is RENAME (RFC 3501 §6.3.5): children move along;
// renaming INBOX moves its messages to the new name and leaves it empty.
func (s *imapSession) RenameMailbox(ctx context.Context, from, to string) error {
	if err := checkMailboxName(from); err != nil {
		return err
	}
	if err := checkMailboxName(to); err != nil {
		return err
	}
	if err := s.c.Rename(from, to, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return fmt.Errorf("rename %q to %q: %q already exists", from, to, to)
		}
		return folderError("rename", from, err)
	}
	return nil
}

// Subscribe is SUBSCRIBE (RFC 3501 §6.3.6). The mailbox must exist (a
// server may allow otherwise, but a typo should not be remembered).
func (s *imapSession) Subscribe(ctx context.Context, name string) error {
	if err := checkMailboxName(name); err != nil {
		return err
	}
	if _, err := s.c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
		return folderError("subscribe", name, err)
	}
	if err := s.c.Subscribe(name).Wait(); err != nil {
		return folderError("subscribe", name, err)
	}
	return nil
}

// Unsubscribe is UNSUBSCRIBE (RFC 3501 §6.3.7).
func (s *imapSession) Unsubscribe(ctx context.Context, name string) error {
	if err := checkMailboxName(name); err != nil {
		return err
	}
	if err := s.c.Unsubscribe(name).Wait(); err != nil {
		return folderError("unsubscribe", name, err)
	}
	return nil
}

// Subscribed lists the subscribed mailboxes: LIST (SUBSCRIBED) "" "*"
// (RFC 5258 §3.1), which needs LIST-EXTENDED or IMAP4rev2.
func (s *imapSession) Subscribed(ctx context.Context) ([]string, error) {
	caps := s.c.Caps()
	if !caps.Has(imap.CapListExtended) && !caps.Has(imap.CapIMAP4rev2) {
		return nil, lacks(s.cfg.Addr, "LIST-EXTENDED (RFC 5258)", "to list subscriptions")
	}
	list, err := s.c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("list subscribed: %w", err)
	}
	var out []string
	for _, l := range list {
		out = append(out, l.Mailbox)
	}
	return out, nil
}

// checkMailboxName refuses names no server takes: empty, or with a
// control character (RFC 3501 §5.1: mailbox names are astrings, and
// CR/LF would break the command).
func checkMailboxName(name string) error {
	if name == "" {
		return errors.New("empty folder name")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("folder name %q has a control character", name)
		}
	}
	return nil
}
