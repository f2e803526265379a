package mailimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/letterbox/letterbox/internal/mbox"
)

// mboxSource reads one mbox file (into INBOX, or the mailbox named) or a
// directory of them (each file a mailbox named after it; subdirectories
// are hierarchy levels). Messages are numbered from 1 in file order: the
// numbers are what the import state remembers, so a second run of the
// same file (grown at the end) imports only what was added.
type mboxSource struct {
	id    string
	boxes []*SourceMailbox
}

// OpenMbox opens path: a file is imported into mailbox (default INBOX), a
// directory's files into mailboxes named after their relative paths.
func OpenMbox(path, mailbox string) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	s := &mboxSource{id: "mbox:" + abs}
	if !st.IsDir() {
		if mailbox == "" {
			mailbox = "INBOX"
		}
		s.boxes = append(s.boxes, &SourceMailbox{Name: mailbox, Messages: -1, Bytes: st.Size(), handle: abs})
		return s, nil
	}
	err = filepath.WalkDir(abs, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, _ := filepath.Rel(abs, p)
		name := strings.TrimSuffix(filepath.ToSlash(rel), ".mbox")
		if strings.EqualFold(name, "inbox") {
			name = "INBOX"
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		s.boxes = append(s.boxes, &SourceMailbox{Name: name, Messages: -1, Bytes: info.Size(), handle: p})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(s.boxes, func(i, j int) bool {
		a, b := s.boxes[i].Name, s.boxes[j].Name
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return a < b
	})
	return s, nil
}

func (s *mboxSource) ID() string { return s.id }

func (s *mboxSource) Mailboxes(context.Context) ([]*SourceMailbox, error) { return s.boxes, nil }

func (s *mboxSource) Subscriptions(context.Context) ([]string, error) {
	var out []string
	for _, b := range s.boxes {
		out = append(out, b.Name)
	}
	return out, nil
}

func (s *mboxSource) Fetch(ctx context.Context, mb *SourceMailbox, after uint32, fn func(*SourceMessage) error) error {
	path := mb.handle.(string)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := mbox.NewReader(f)
	for n := uint32(1); ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if n <= after {
			continue
		}
		body := m.Body
		err = fn(&SourceMessage{UID: n, Flags: m.Flags, Date: m.Date, Size: int64(len(body)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }})
		if err != nil {
			return err
		}
	}
}

func (s *mboxSource) Close() error { return nil }
