package mailimport

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/letterbox/letterbox/internal/maildir"
)

// maildirSource reads a Dovecot Maildir tree.
type maildirSource struct {
	tree *maildir.Tree
	id   string
}

// OpenMaildir reads the tree at root (Maildir++ or LAYOUT=fs, detected).
func OpenMaildir(root string) (Source, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	t, err := maildir.Read(abs)
	if err != nil {
		return nil, err
	}
	return &maildirSource{tree: t, id: "maildir:" + abs}, nil
}

func (s *maildirSource) ID() string { return s.id }

// Layout is the detected layout, for the report.
func (s *maildirSource) Layout() string { return s.tree.Layout }

func (s *maildirSource) Mailboxes(context.Context) ([]*SourceMailbox, error) {
	var out []*SourceMailbox
	for _, f := range s.tree.Folders {
		mb := &SourceMailbox{Name: f.Name, UIDValidity: f.UIDValidity, UIDNext: f.UIDNext, Messages: len(f.Messages), handle: f}
		// Messages not in dovecot-uidlist yet (new mail Dovecot has not
		// seen) get the next UIDs, in name order, as Dovecot would give
		// them; without a uidlist the UIDs are positions.
		next := f.UIDNext
		if f.UIDValidity == 0 {
			next = 1
		}
		for i := range f.Messages {
			m := &f.Messages[i]
			if m.UID == 0 || f.UIDValidity == 0 {
				m.UID = next
				next++
			}
			mb.Bytes += m.Size
		}
		if f.UIDValidity != 0 {
			mb.UIDNext = next
		}
		out = append(out, mb)
	}
	return out, nil
}

func (s *maildirSource) Subscriptions(context.Context) ([]string, error) {
	return s.tree.Subscriptions, nil
}

func (s *maildirSource) Fetch(ctx context.Context, mb *SourceMailbox, after uint32, fn func(*SourceMessage) error) error {
	f := mb.handle.(*maildir.Folder)
	for _, m := range f.Messages {
		if m.UID <= after {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		path := m.Path
		err := fn(&SourceMessage{UID: m.UID, Flags: m.Flags, Date: m.Date, Size: m.Size,
			Open: func() (io.ReadCloser, error) { return os.Open(path) }})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *maildirSource) Close() error { return nil }
