package mailclient

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// A Maildir (https://cr.yp.to/proto/maildir.html, with the Dovecot and
// Courier conventions for the info suffix):
//   - tmp/ holds files being written; new/ holds messages no reader has
//     looked at yet, named by their unique base name alone; cur/ holds the
//     others as "BASE:2,FLAGS".
//   - BASE is "SECONDS.M<usec>P<pid>Q<count>R<random>.HOST,S=<size>": unique
//     per host, process and call, with the size Dovecot reads as S=.
//   - FLAGS are letters in ASCII order: D draft, F flagged, P passed
//     (forwarded), R replied, S seen, T trashed.
//   - Messages are stored with LF line ends, as Maildir readers expect.
type maildir struct {
	dir  string
	host string
}

// deliverCounter is the Q part of unique names: different within one
// process even when the clock does not move.
var deliverCounter atomic.Uint64

// openMaildir makes dir and its tmp, new and cur subdirectories.
func openMaildir(dir string) (*maildir, error) {
	for _, sub := range []string{"", "tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// "/" and ":" cannot appear in the host part (maildir(5)).
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	return &maildir{dir: dir, host: host}, nil
}

// uniqueName returns a fresh unique name without the size and info.
func (m *maildir) uniqueName() string {
	now := time.Now()
	var rnd [4]byte
	rand.Read(rnd[:])
	return fmt.Sprintf("%d.M%dP%dQ%dR%s.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(),
		deliverCounter.Add(1), hex.EncodeToString(rnd[:]), m.host)
}

// maildirFlagLetters maps IMAP flags to Maildir info letters.
var maildirFlagLetters = map[string]byte{
	`\draft`:     'D',
	`\flagged`:   'F',
	`$forwarded`: 'P',
	`\answered`:  'R',
	`\seen`:      'S',
	`\deleted`:   'T',
}

// FlagLetters turns IMAP flags into the sorted Maildir info letters
// (also a compact way to show them);
// keywords without a letter are left out.
func FlagLetters(flags []string) string {
	var b []byte
	for _, f := range flags {
		if l, ok := maildirFlagLetters[strings.ToLower(f)]; ok && !strings.ContainsRune(string(b), rune(l)) {
			b = append(b, l)
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// deliver writes a message from r into tmp/, makes it durable, and moves it
// into new/ (no flags) or cur/ (with flags). It returns the base name.
func (m *maildir) deliver(r io.Reader, letters string) (string, error) {
	base, err := m.deliverNoSync(r, letters)
	if err != nil {
		return "", err
	}
	return base, m.syncDirs()
}

// deliverNoSync is deliver without making the rename durable: a batch
// calls syncDirs once at its end, before its state is saved.
func (m *maildir) deliverNoSync(r io.Reader, letters string) (base string, err error) {
	unique := m.uniqueName()
	tmp := filepath.Join(m.dir, "tmp", unique)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	lw := &lfWriter{w: bufio.NewWriter(f)}
	_, err = io.Copy(lw, r)
	if err == nil {
		err = lw.flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	base = fmt.Sprintf("%s,S=%d", unique, lw.n)
	if err = os.Rename(tmp, m.path(base, letters)); err != nil {
		return "", err
	}
	return base, nil
}

// path is where a message with this base and these flags lives: new/ with
// no flags, cur/ with them.
func (m *maildir) path(base, letters string) string {
	if letters == "" {
		return filepath.Join(m.dir, "new", base)
	}
	return filepath.Join(m.dir, "cur", base+":2,"+letters)
}

func (m *maildir) syncDirs() error {
	for _, sub := range []string{"new", "cur"} {
		if err := syncDir(filepath.Join(m.dir, sub)); err != nil {
			return err
		}
	}
	return nil
}

// index maps the base name of every message in new/ and cur/ to its path.
// Mail readers move files from new/ to cur/ and change their info; the
// base name is what stays.
func (m *maildir) index() (map[string]string, error) {
	idx := map[string]string{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(m.dir, sub))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			base, _, _ := strings.Cut(e.Name(), ":")
			idx[base] = filepath.Join(m.dir, sub, e.Name())
		}
	}
	return idx, nil
}

// setFlags renames the message at old to carry letters. A message that
// had flags stays in cur/ even when they are all cleared (a reader has
// seen it); one in new/ gains flags by moving to cur/.
func (m *maildir) setFlags(old, base, letters string) (string, error) {
	want := filepath.Join(m.dir, "cur", base+":2,"+letters)
	if letters == "" && filepath.Base(filepath.Dir(old)) == "new" {
		want = old
	}
	if want == old {
		return old, nil
	}
	if err := os.Rename(old, want); err != nil {
		return "", err
	}
	return want, nil
}

// remove deletes a message file; one already gone is fine.
func (m *maildir) remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// lfWriter turns CRLF into LF on the way through and counts what it
// wrote. A lone CR is kept.
type lfWriter struct {
	w         *bufio.Writer
	pendingCR bool
	n         int64
}

func (l *lfWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if l.pendingCR {
			l.pendingCR = false
			if b != '\n' {
				if err := l.put('\r'); err != nil {
					return 0, err
				}
			}
		}
		if b == '\r' {
			l.pendingCR = true
			continue
		}
		if err := l.put(b); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (l *lfWriter) put(b byte) error {
	l.n++
	return l.w.WriteByte(b)
}

func (l *lfWriter) flush() error {
	if l.pendingCR {
		l.pendingCR = false
		if err := l.put('\r'); err != nil {
			return err
		}
	}
	return l.w.Flush()
}
