package mailclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// SyncStateFile is the name of the sync state file in the Maildir root.
const SyncStateFile = ".letterbox-sync.json"

// SyncReport says what one Sync did.
type SyncReport struct {
	Fetched int // new messages written into the Maildir
	Updated int // local files renamed for flags changed on the server
	Removed int // local files deleted for messages expunged on the server
	Kept    int // messages already in sync
	// Reset is set when UIDVALIDITY changed (RFC 3501 §2.3.1.1): the old
	// copies were removed and everything was fetched again.
	Reset bool
}

// syncState is what a Maildir remembers of its server mailbox.
type syncState struct {
	Version     int         `json:"version"`
	Protocol    string      `json:"protocol"`
	Account     string      `json:"account"` // user@host:port
	Mailbox     string      `json:"mailbox"`
	UIDValidity uint32      `json:"uidvalidity,omitempty"` // IMAP
	Messages    []syncEntry `json:"messages"`
}

// syncEntry is one message copied into the Maildir.
type syncEntry struct {
	UID   uint32 `json:"uid,omitempty"`  // IMAP
	UIDL  string `json:"uidl,omitempty"` // POP3
	File  string `json:"file"`           // Maildir base name
	Flags string `json:"flags,omitempty"`
}

// loadSyncState reads the state of the Maildir dir, or starts an empty one.
// A Maildir synced from another account or mailbox is refused: mixing two
// sources in one Maildir would delete the wrong files.
func loadSyncState(dir string, want syncState) (*syncState, error) {
	path := filepath.Join(dir, SyncStateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s := want
		s.Version = 1
		return &s, nil
	}
	if err != nil {
		return nil, err
	}
	var s syncState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("sync state %s: %w", path, err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("sync state %s: unknown version %d", path, s.Version)
	}
	if s.Protocol != want.Protocol || s.Account != want.Account || s.Mailbox != want.Mailbox {
		return nil, fmt.Errorf("maildir %s is synced from %s %s mailbox %q, not %s %s mailbox %q; use another directory",
			dir, s.Protocol, s.Account, s.Mailbox, want.Protocol, want.Account, want.Mailbox)
	}
	return &s, nil
}

// save writes the state atomically, entries in a stable order.
func (s *syncState) save(dir string) error {
	sort.Slice(s.Messages, func(i, j int) bool {
		a, b := s.Messages[i], s.Messages[j]
		if a.UID != b.UID {
			return a.UID < b.UID
		}
		return a.UIDL < b.UIDL
	})
	if s.Messages == nil {
		s.Messages = []syncEntry{}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, SyncStateFile), append(data, '\n'))
}
