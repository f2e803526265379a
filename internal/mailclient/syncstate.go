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

// SyncReport says what one Sync did to one folder.
type SyncReport struct {
	Fetched int // new messages downloaded into the Maildir
	Updated int // local files renamed for flags changed on the server (flags down)
	Removed int // local files deleted for messages expunged on the server (deleted down)
	Kept    int // messages already in sync
	// Reset is set when UIDVALIDITY changed (RFC 3501 §2.3.1.1): the old
	// copies were matched against the new UIDs (moved, not downloaded,
	// when they are the same message) and the rest removed.
	Reset bool

	FlagsUp   int // local flag changes stored on the server
	DeletedUp int // local deletions expunged on the server
	Appended  int // local messages the server did not have, uploaded (APPEND)
	Moved     int // messages that arrived here from another folder on the server, moved locally instead of downloaded
	Conflicts int // messages whose flags changed on both sides (resolved as the union)
}

// syncStateVersion is the state file format: 1 was the one-way sync of
// one mailbox; 2 adds UIDNEXT, HIGHESTMODSEQ, EMAILIDs and entries whose
// message was expunged on the server but whose file waits to be moved or
// removed.
const syncStateVersion = 2

// syncState is what a Maildir folder remembers of its server mailbox.
type syncState struct {
	Version     int    `json:"version"`
	Protocol    string `json:"protocol"`
	Account     string `json:"account"` // user@host:port
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity,omitempty"` // IMAP
	// UIDNext: every UID below it is in Messages or was expunged (IMAP).
	UIDNext uint32 `json:"uidnext,omitempty"`
	// HighestModSeq is the mailbox's HIGHESTMODSEQ (RFC 7162 §3.1.2) when
	// the flags in Messages were last complete; 0 without CONDSTORE.
	HighestModSeq uint64      `json:"highestmodseq,omitempty"`
	Messages      []syncEntry `json:"messages"`
}

// syncEntry is one message that is both in the Maildir and on the server.
type syncEntry struct {
	UID  uint32 `json:"uid,omitempty"`  // IMAP
	UIDL string `json:"uidl,omitempty"` // POP3
	File string `json:"file"`           // Maildir base name
	// Flags are the Maildir letters both sides had at the last sync: the
	// base against which a change on either side is seen.
	Flags   string `json:"flags,omitempty"`
	EmailID string `json:"emailid,omitempty"` // RFC 8474 EMAILID, when the server has OBJECTID
	// Gone: expunged on the server, the file is kept until the end of
	// the sync in case the message reappears in another folder (a move).
	Gone bool `json:"gone,omitempty"`
}

// loadSyncState reads the state of the Maildir dir, or starts an empty one.
// A Maildir synced from another account or mailbox is refused: mixing two
// sources in one Maildir would delete the wrong files.
func loadSyncState(dir string, want syncState) (*syncState, error) {
	path := filepath.Join(dir, SyncStateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s := want
		s.Version = syncStateVersion
		return &s, nil
	}
	if err != nil {
		return nil, err
	}
	var s syncState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("sync state %s: %w", path, err)
	}
	if s.Version != 1 && s.Version != syncStateVersion {
		return nil, fmt.Errorf("sync state %s: unknown version %d", path, s.Version)
	}
	if s.Protocol != want.Protocol || s.Account != want.Account || s.Mailbox != want.Mailbox {
		return nil, fmt.Errorf("maildir %s is synced from %s %s mailbox %q, not %s %s mailbox %q; use another directory",
			dir, s.Protocol, s.Account, s.Mailbox, want.Protocol, want.Account, want.Mailbox)
	}
	if s.Version == 1 {
		s.migrateV1(dir)
	}
	return &s, nil
}

// readSyncState reads a state file without checking whose it is; nil
// when there is none.
func readSyncState(dir string) (*syncState, error) {
	data, err := os.ReadFile(filepath.Join(dir, SyncStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s syncState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// migrateV1 reads a one-way state: there a file the reader deleted was
// remembered and never fetched again. Two-way, a missing file is a local
// deletion that would expunge the message on the server, which the user
// of the one-way sync never asked for; those entries are forgotten
// instead (the message is downloaded again).
func (s *syncState) migrateV1(dir string) {
	s.Version = syncStateVersion
	md := &maildir{dir: dir}
	idx, err := md.index()
	if err != nil {
		return
	}
	kept := s.Messages[:0]
	for _, e := range s.Messages {
		if _, ok := idx[e.File]; ok || s.Protocol == "pop3" {
			kept = append(kept, e)
		}
	}
	s.Messages = kept
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
