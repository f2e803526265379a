package maildir

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
)

// Layouts of a Maildir tree.
const (
	LayoutMaildirPP = "maildir++"
	LayoutFS        = "fs"
)

// Tree is a Maildir tree as read by Read.
type Tree struct {
	Root          string
	Layout        string
	Folders       []*Folder // INBOX first, then by name
	Subscriptions []string  // folder names ('/' separated), as listed
}

// Folder is one mailbox of the tree.
type Folder struct {
	Name string // "INBOX" or a '/'-separated name
	Dir  string // the directory holding cur/ and new/
	// UIDValidity and UIDNext from dovecot-uidlist; 0 when the folder has
	// none (then the messages have no UIDs either).
	UIDValidity uint32
	UIDNext     uint32
	Messages    []Message // ascending UID; messages without a UID last, by name
}

// Message is one message file.
type Message struct {
	UID   uint32 // 0: not (yet) in dovecot-uidlist
	Path  string
	Flags []string // IMAP flags and keywords
	Date  time.Time
	Size  int64 // the file's size
}

// Read reads the tree at root, detecting its layout.
func Read(root string) (*Tree, error) {
	if !isMaildir(root) {
		return nil, fmt.Errorf("maildir: %s has no cur/ and new/: not a Maildir", root)
	}
	t := &Tree{Root: root, Layout: detectLayout(root)}
	type found struct{ name, dir string }
	folders := []found{{"INBOX", root}}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	if t.Layout == LayoutMaildirPP {
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." || !isMaildir(filepath.Join(root, n)) {
				continue
			}
			name, err := decodeName(strings.ReplaceAll(n[1:], ".", "/"))
			if err != nil {
				return nil, fmt.Errorf("maildir: folder %s: %w", n, err)
			}
			if strings.EqualFold(name, "INBOX") {
				continue
			}
			folders = append(folders, found{name, filepath.Join(root, n)})
		}
	} else {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() || p == root {
				return nil
			}
			switch d.Name() {
			case "cur", "new", "tmp":
				return fs.SkipDir
			}
			if !isMaildir(p) {
				return nil // a parent without mail of its own
			}
			rel, _ := filepath.Rel(root, p)
			name, err := decodeName(filepath.ToSlash(rel))
			if err != nil {
				return fmt.Errorf("maildir: folder %s: %w", rel, err)
			}
			if !strings.EqualFold(name, "INBOX") {
				folders = append(folders, found{name, p})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(folders[1:], func(i, j int) bool { return folders[1+i].name < folders[1+j].name })
	keywordsRoot := readKeywords(root)
	for _, f := range folders {
		kw := readKeywords(f.dir)
		if kw == nil {
			kw = keywordsRoot
		}
		folder, err := readFolder(f.name, f.dir, kw)
		if err != nil {
			return nil, err
		}
		t.Folders = append(t.Folders, folder)
	}
	t.Subscriptions, err = readSubscriptions(root)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func isMaildir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && st.IsDir()
}

// detectLayout: Maildir++ has its folders in dot-directories at the root;
// LAYOUT=fs in plain subdirectories. A tree with no folders is Maildir++.
func detectLayout(root string) string {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() && strings.HasPrefix(n, ".") && n != "." && n != ".." && isMaildir(filepath.Join(root, n)) {
			return LayoutMaildirPP
		}
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || strings.HasPrefix(n, ".") || n == "cur" || n == "new" || n == "tmp" {
			continue
		}
		found := false
		filepath.WalkDir(filepath.Join(root, n), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && isMaildir(p) {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		if found {
			return LayoutFS
		}
	}
	return LayoutMaildirPP
}

// decodeName turns a folder name on disk (modified UTF-7) into UTF-8; a
// name that is not valid modified UTF-7 (a tree written with the UTF8
// option) is taken as it is when it is valid UTF-8.
func decodeName(s string) (string, error) {
	if n, err := imap.DecodeMailboxName(s); err == nil {
		return n, nil
	}
	if !strings.Contains(s, "&") {
		return s, nil
	}
	return "", fmt.Errorf("name %q is not modified UTF-7", s)
}

// readKeywords reads dovecot-keywords: index → keyword; nil when missing.
func readKeywords(dir string) map[int]string {
	f, err := os.Open(filepath.Join(dir, "dovecot-keywords"))
	if err != nil {
		return nil
	}
	defer f.Close()
	kw := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		idx, word, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n > 25 || word == "" {
			continue
		}
		kw[n] = word
	}
	return kw
}

// readSubscriptions reads Dovecot's subscriptions file: either one name
// per line (Maildir++, '.' separated) or version 2 ("V\t2" then names
// with tabs for the hierarchy separator).
func readSubscriptions(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "subscriptions"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	v2 := len(lines) > 0 && strings.HasPrefix(lines[0], "V\t")
	if v2 {
		lines = lines[1:]
	}
	var out []string
	for _, l := range lines {
		if l == "" {
			continue
		}
		var name string
		if v2 {
			name = strings.ReplaceAll(l, "\t", "/")
		} else {
			name = strings.ReplaceAll(l, ".", "/")
		}
		if d, err := decodeName(name); err == nil {
			name = d
		}
		out = append(out, name)
	}
	return out, nil
}

// uidEntry is one line of dovecot-uidlist.
type uidEntry struct {
	uid  uint32
	base string
}

// readUIDList reads dovecot-uidlist (version 3; version 1's header
// "1 <uidvalidity> <nextuid>" is read too).
func readUIDList(dir string) (validity, next uint32, entries []uidEntry, err error) {
	f, err := os.Open(filepath.Join(dir, "dovecot-uidlist"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil, nil
	}
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return 0, 0, nil, sc.Err()
	}
	head := strings.Fields(sc.Text())
	if len(head) == 0 {
		return 0, 0, nil, fmt.Errorf("maildir: %s/dovecot-uidlist: empty header", dir)
	}
	switch head[0] {
	case "3":
		for _, h := range head[1:] {
			if len(h) < 2 {
				continue
			}
			n, perr := strconv.ParseUint(h[1:], 10, 32)
			switch h[0] {
			case 'V':
				if perr == nil {
					validity = uint32(n)
				}
			case 'N':
				if perr == nil {
					next = uint32(n)
				}
			}
		}
	case "1":
		if len(head) >= 3 {
			v, _ := strconv.ParseUint(head[1], 10, 32)
			n, _ := strconv.ParseUint(head[2], 10, 32)
			validity, next = uint32(v), uint32(n)
		}
	default:
		return 0, 0, nil, fmt.Errorf("maildir: %s/dovecot-uidlist: unknown version %q", dir, head[0])
	}
	if validity == 0 {
		return 0, 0, nil, fmt.Errorf("maildir: %s/dovecot-uidlist: no UIDVALIDITY in header", dir)
	}
	for sc.Scan() {
		line := sc.Text()
		uidText, rest, _ := strings.Cut(line, " ")
		uid, perr := strconv.ParseUint(uidText, 10, 32)
		if perr != nil || uid == 0 {
			continue
		}
		// Version 3: extensions (W<vsize>, P<pop3 uidl>, ... which may
		// hold a ':' themselves), then " :" and the base name; version 1:
		// the name right after the UID.
		base := rest
		if head[0] == "3" {
			if strings.HasPrefix(rest, ":") {
				base = rest[1:]
			} else if i := strings.Index(rest, " :"); i >= 0 {
				base = rest[i+2:]
			} else {
				continue
			}
		}
		if base == "" {
			continue
		}
		entries = append(entries, uidEntry{uint32(uid), base})
		if uint32(uid) >= next {
			next = uint32(uid) + 1
		}
	}
	return validity, next, entries, sc.Err()
}

// baseName is a file name without its info part (":2,...").
func baseName(name string) string {
	if i := strings.Index(name, ":2,"); i >= 0 {
		return name[:i]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// ParseInfo returns the IMAP flags of a file name's info part.
func ParseInfo(name string, keywords map[int]string) []string {
	i := strings.Index(name, ":2,")
	if i < 0 {
		return nil
	}
	var flags []string
	for _, c := range name[i+3:] {
		switch {
		case c == 'D':
			flags = append(flags, `\Draft`)
		case c == 'F':
			flags = append(flags, `\Flagged`)
		case c == 'R':
			flags = append(flags, `\Answered`)
		case c == 'S':
			flags = append(flags, `\Seen`)
		case c == 'T':
			flags = append(flags, `\Deleted`)
		case c >= 'a' && c <= 'z':
			if kw, ok := keywords[int(c-'a')]; ok {
				flags = append(flags, kw)
			}
		}
	}
	return flags
}

func readFolder(name, dir string, keywords map[int]string) (*Folder, error) {
	f := &Folder{Name: name, Dir: dir}
	validity, next, entries, err := readUIDList(dir)
	if err != nil {
		return nil, err
	}
	f.UIDValidity, f.UIDNext = validity, next
	uidOf := make(map[string]uint32, len(entries))
	for _, e := range entries {
		uidOf[e.base] = e.uid
	}
	for _, sub := range []string{"cur", "new"} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, de := range des {
			if de.IsDir() || strings.HasPrefix(de.Name(), ".") {
				continue
			}
			info, err := de.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // moved or expunged meanwhile
				}
				return nil, err
			}
			var flags []string
			if sub == "cur" {
				flags = ParseInfo(de.Name(), keywords)
			}
			f.Messages = append(f.Messages, Message{
				UID: uidOf[baseName(de.Name())], Path: filepath.Join(dir, sub, de.Name()),
				Flags: flags, Date: info.ModTime(), Size: info.Size(),
			})
		}
	}
	sort.SliceStable(f.Messages, func(i, j int) bool {
		a, b := f.Messages[i], f.Messages[j]
		if (a.UID == 0) != (b.UID == 0) {
			return b.UID == 0
		}
		if a.UID != b.UID {
			return a.UID < b.UID
		}
		return filepath.Base(a.Path) < filepath.Base(b.Path)
	})
	return f, nil
}
