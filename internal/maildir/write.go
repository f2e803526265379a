package maildir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
)

// Writer writes a Maildir++ tree that Dovecot (and Read) take back with
// its UIDs: every folder gets a dovecot-uidlist and dovecot-keywords.
type Writer struct {
	root string
	host string
	seq  int
}

// Create starts a tree at root, which must not exist or be empty.
func Create(root string) (*Writer, error) {
	if des, err := os.ReadDir(root); err == nil && len(des) > 0 {
		return nil, fmt.Errorf("maildir: %s exists and is not empty", root)
	}
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`, ",", "_").Replace(host)
	if host == "" {
		host = "localhost"
	}
	return &Writer{root: root, host: host}, nil
}

// FolderWriter writes the messages of one folder, in ascending UID order.
type FolderWriter struct {
	w        *Writer
	dir      string
	validity uint32
	next     uint32
	lines    []string
	keywords []string // index → keyword
}

// Folder makes the directory of folder name ("INBOX" is the root).
func (w *Writer) Folder(name string, uidValidity, uidNext uint32) (*FolderWriter, error) {
	dir := w.root
	if !strings.EqualFold(name, "INBOX") {
		dir = filepath.Join(w.root, "."+strings.ReplaceAll(imap.EncodeMailboxName(name), "/", "."))
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if dir != w.root {
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return nil, err
		}
	}
	return &FolderWriter{w: w, dir: dir, validity: uidValidity, next: uidNext}, nil
}

// Add writes one message. body is read whole; CRLF line ends become LF
// (Maildir's convention); the name carries S= (file size) and W= (size
// with CRLF, what IMAP reports), and the info part the flags.
func (f *FolderWriter) Add(uid uint32, flags []string, date time.Time, body io.Reader) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	vsize := len(lf) + bytes.Count(lf, []byte("\n"))
	f.w.seq++
	base := fmt.Sprintf("%d.M%dP%dQ%d.%s,S=%d,W=%d", date.Unix(), time.Now().Nanosecond()/1000, os.Getpid(), f.w.seq, f.w.host, len(lf), vsize)
	name := base + ":2," + f.info(flags)
	tmp := filepath.Join(f.dir, "tmp", base)
	if err := os.WriteFile(tmp, lf, 0o600); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, date, date); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, "cur", name)); err != nil {
		return err
	}
	f.lines = append(f.lines, fmt.Sprintf("%d :%s", uid, base))
	if uid >= f.next {
		f.next = uid + 1
	}
	return nil
}

// info is the flags part of a file name: system flags in ASCII order, then
// keyword letters.
func (f *FolderWriter) info(flags []string) string {
	var sys, kws []byte
	for _, fl := range flags {
		switch strings.ToLower(fl) {
		case `\draft`:
			sys = append(sys, 'D')
		case `\flagged`:
			sys = append(sys, 'F')
		case `\answered`:
			sys = append(sys, 'R')
		case `\seen`:
			sys = append(sys, 'S')
		case `\deleted`:
			sys = append(sys, 'T')
		default:
			if strings.HasPrefix(fl, `\`) {
				continue
			}
			i := slices.Index(f.keywords, fl)
			if i < 0 {
				if len(f.keywords) == 26 {
					continue // Maildir has letters for 26 keywords only
				}
				f.keywords = append(f.keywords, fl)
				i = len(f.keywords) - 1
			}
			kws = append(kws, byte('a'+i))
		}
	}
	slices.Sort(sys)
	slices.Sort(kws)
	return string(sys) + string(kws)
}

// Close writes dovecot-uidlist and dovecot-keywords.
func (f *FolderWriter) Close() error {
	var b strings.Builder
	next := f.next
	if next == 0 {
		next = 1
	}
	fmt.Fprintf(&b, "3 V%d N%d\n", f.validity, next)
	for _, l := range f.lines {
		b.WriteString(l + "\n")
	}
	if err := writeAtomic(filepath.Join(f.dir, "dovecot-uidlist"), b.String()); err != nil {
		return err
	}
	if len(f.keywords) == 0 {
		return nil
	}
	b.Reset()
	for i, k := range f.keywords {
		b.WriteString(strconv.Itoa(i) + " " + k + "\n")
	}
	return writeAtomic(filepath.Join(f.dir, "dovecot-keywords"), b.String())
}

// WriteSubscriptions writes the subscriptions file (Maildir++ form: one
// name per line, '.' separated).
func (w *Writer) WriteSubscriptions(names []string) error {
	sorted := slices.Clone(names)
	sort.Strings(sorted)
	var b strings.Builder
	for _, n := range sorted {
		b.WriteString(strings.ReplaceAll(imap.EncodeMailboxName(n), "/", ".") + "\n")
	}
	return writeAtomic(filepath.Join(w.root, "subscriptions"), b.String())
}

func writeAtomic(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	bw.WriteString(content)
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
