package mailclient

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/letterbox/letterbox/internal/atomicfile"
)

// uidlState is the local memory of which POP3 messages were downloaded:
// POP3 has no \Seen flag, so "unread" means "UIDL not seen before"
// (RFC 1939 §7: a unique-id is permanent for the message in the maildrop).
//
// The file is text: a first line naming the account, then one UIDL per line
// (a UIDL is 1 to 70 characters 0x21-0x7E, so a line holds any of them).
type uidlState struct {
	path    string
	account string
	seen    map[string]bool
}

const uidlStateMagic = "# letterbox pop3 uidl state for "

// loadUIDLState reads path; a missing file is an empty state. A file made
// for another account is refused rather than mixed.
func loadUIDLState(path, account string) (*uidlState, error) {
	s := &uidlState{path: path, account: account, seen: map[string]bool{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			owner, ok := strings.CutPrefix(line, uidlStateMagic)
			if !ok {
				return nil, fmt.Errorf("%s is not a letterbox POP3 state file", path)
			}
			if owner != account {
				return nil, fmt.Errorf("state file %s belongs to %s, not %s", path, owner, account)
			}
			continue
		}
		if line != "" {
			s.seen[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

// save writes the state atomically (temp file, fsync, rename).
func (s *uidlState) save() error {
	var b strings.Builder
	b.WriteString(uidlStateMagic + s.account + "\n")
	ids := make([]string, 0, len(s.seen))
	for id := range s.seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		b.WriteString(id + "\n")
	}
	return writeFileAtomic(s.path, []byte(b.String()))
}

// writeFileAtomic replaces path with data so that a crash leaves the old or
// the new content, never a mix (internal/atomicfile), making its directory
// first.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
