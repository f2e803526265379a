package mailimport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/letterbox/letterbox/internal/maildir"
	"github.com/letterbox/letterbox/internal/mbox"
	"github.com/letterbox/letterbox/internal/store"
)

// Export formats.
const (
	FormatMaildir = "maildir"
	FormatMbox    = "mbox"
)

// Export writes every mailbox of the account under dir: a Maildir++ tree
// with dovecot-uidlist, dovecot-keywords and subscriptions (so Dovecot,
// or `letterbox import`, takes it back with its UIDVALIDITY and UIDs), or
// one mboxrd file per mailbox ("INBOX.mbox", "A/B.mbox"), which
// `letterbox import` of the directory reads back into the same names.
func Export(ctx context.Context, st store.Store, account, format, dir string, p *Progress) (Stats, error) {
	if p == nil {
		p = NewProgress(io.Discard, false)
	}
	mbs, err := st.Mailboxes(ctx, account)
	if err != nil {
		return Stats{}, err
	}
	list, err := mbs.List(ctx)
	if err != nil {
		return Stats{}, err
	}
	total, totalBytes := 0, int64(0)
	for _, mi := range list {
		s, err := mbs.Status(ctx, mi.Name)
		if err != nil {
			return Stats{}, err
		}
		total += s.Messages
		totalBytes += s.Size
	}
	p.SetTotal(total, totalBytes)
	var mw *maildir.Writer
	switch format {
	case FormatMaildir:
		if mw, err = maildir.Create(dir); err != nil {
			return Stats{}, err
		}
	case FormatMbox:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Stats{}, err
		}
	default:
		return Stats{}, fmt.Errorf("unknown format %q (maildir or mbox)", format)
	}
	for _, mi := range list {
		mb, err := mbs.Open(ctx, mi.Name)
		if err != nil {
			return Stats{}, err
		}
		msgs, err := mb.Messages(ctx)
		if err != nil {
			return Stats{}, err
		}
		var add func(m store.Message, body []byte) error
		var finish func() error
		switch format {
		case FormatMaildir:
			fw, err := mw.Folder(mi.Name, mi.UIDValidity, uint32(mi.UIDNext))
			if err != nil {
				return Stats{}, err
			}
			add = func(m store.Message, body []byte) error {
				return fw.Add(uint32(m.UID), m.Flags, m.InternalDate, bytes.NewReader(body))
			}
			finish = fw.Close
		case FormatMbox:
			path := filepath.Join(dir, filepath.FromSlash(mi.Name)+".mbox")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return Stats{}, err
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return Stats{}, err
			}
			w := mbox.NewWriter(f)
			add = func(m store.Message, body []byte) error { return w.Write(m.InternalDate, m.Flags, body) }
			finish = func() error {
				if err := w.Flush(); err != nil {
					f.Close()
					return err
				}
				return f.Close()
			}
		}
		for _, m := range msgs {
			if err := ctx.Err(); err != nil {
				return Stats{}, err
			}
			b, err := st.OpenBlob(ctx, m.BlobID)
			if err != nil {
				return Stats{}, err
			}
			body, err := io.ReadAll(b)
			b.Close()
			if err != nil {
				return Stats{}, err
			}
			if err := add(m, body); err != nil {
				return Stats{}, err
			}
			p.Add(1, m.Size)
		}
		if err := finish(); err != nil {
			return Stats{}, err
		}
	}
	if mw != nil {
		subs, err := mbs.Subscriptions(ctx)
		if err != nil {
			return Stats{}, err
		}
		if err := mw.WriteSubscriptions(subs); err != nil {
			return Stats{}, err
		}
	}
	return p.Done(), nil
}
