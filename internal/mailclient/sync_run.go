package mailclient

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// SyncOptions configure a two-way sync.
type SyncOptions struct {
	// Mailbox limits the sync to one folder; "" syncs every folder.
	Mailbox string
	// Progress, when set, is called after each downloaded message.
	Progress func(SyncProgress)
}

// SyncProgress is how far the downloads of one sync are.
type SyncProgress struct {
	Folder                  string
	Messages, TotalMessages int
	Bytes, TotalBytes       int64 // message octets (RFC822.SIZE)
	Elapsed                 time.Duration
}

// FolderReport is what a sync did to one folder.
type FolderReport struct {
	Mailbox string // the server's name (UTF-8)
	Dir     string // its Maildir
	SyncReport
	// Sent and Received are the octets (TLS included) of this folder's
	// own commands; the folder list is in SyncSummary.Setup*.
	Sent, Received int64
	// Unchanged: STATUS showed nothing new on the server and nothing
	// changed locally, so the folder was not even selected.
	Unchanged bool
	Note      string // e.g. why a folder was skipped
}

// SyncSummary is what one SyncFolders did.
type SyncSummary struct {
	Folders        []FolderReport
	Sent, Received int64 // the whole connection, TLS included
	// SetupSent and SetupReceived are the part before the first folder:
	// TCP/TLS, greeting, login, capabilities, ENABLE and the folder list.
	SetupSent, SetupReceived int64
	// ListSent and ListReceived are the folder list's part of the setup
	// (it grows with the number of folders).
	ListSent, ListReceived int64
	Method                 string // "QRESYNC", "CONDSTORE" or "full flag scan"
	MoveDetection          string // "OBJECTID (EMAILID)" or "size + header hash"
	BodyFetches            int    // FETCH commands that downloaded bodies
}

// FolderSyncer is implemented by the IMAP Client: the two-way sync of
// every folder into a tree of Maildirs (see sync_layout.go).
type FolderSyncer interface {
	SyncFolders(ctx context.Context, root string, o SyncOptions) (*SyncSummary, error)
}

// syncRun is one sync over one connection.
type syncRun struct {
	ctx     context.Context
	c       *wireConn
	account string
	opts    SyncOptions

	qresync, condstore, objectID, uidplus, esearch bool

	sel      selState
	selected string

	folders []*folderSync
	orphans []*folderSync // local folders whose server folder is gone
	cands   []*candidate
	byEmail map[string][]*candidate // gone candidates by EMAILID
	byFP    map[string][]*candidate // candidates by fingerprint, computed when first needed
	dirty   map[*folderSync]bool    // states changed by links, not saved yet
	renamed map[string]string       // new name → old name of folders renamed here

	start time.Time
	prog  SyncProgress
	sum   *SyncSummary
}

// folderSync is one folder of a run.
type folderSync struct {
	name string
	md   *maildir
	st   *syncState
	idx  map[string]string // base name → path of the files in new/ and cur/
	rep  *FolderReport

	untracked    map[string]bool // base names of local files the state does not know
	localChanges bool
	status       *mailboxStatus // from LIST-STATUS/STATUS, when asked
	create       bool           // exists only locally: CREATE it on the server
	orphan       bool           // its server folder is gone: only a source of moves

	newMsgs       []*newMsg // on the server, not here: to move or download
	serverUIDNext uint32

	unsaved  int // batches since the state was last saved
	lastSave time.Time
}

// mailboxStatus is a STATUS response (RFC 3501 §7.2.4, RFC 7162 §3.1.8).
type mailboxStatus struct {
	messages, uidNext, uidValidity uint32
	hms                            uint64
}

// newMsg is a server message the folder's state does not know.
type newMsg struct {
	uid     uint32
	letters string
	size    int64
	emailID string
	fp      string
}

// candidate is a local file that may be a new server message already
// here: a message expunged from one folder (its file kept until the end)
// that reappears in another is a move; an untracked file in a folder is a
// download or upload whose state was not saved.
type candidate struct {
	f       *folderSync
	base    string
	path    string
	gone    bool // a Gone entry of f's state; false: an untracked file
	emailID string
	fp      string
	used    bool
}

// selState is what the server said about the selected mailbox.
type selState struct {
	exists, uidValidity, uidNext uint32
	hms                          uint64
	noModSeq                     bool
	vanished                     uidRanges
	changed                      map[uint32]string // UID → flag letters from any FETCH
}

func newSyncRun(ctx context.Context, c *wireConn, account string, opts SyncOptions) *syncRun {
	r := &syncRun{ctx: ctx, c: c, account: account, opts: opts, start: time.Now(), sum: &SyncSummary{}, dirty: map[*folderSync]bool{}, renamed: map[string]string{}}
	c.onUntagged = r.onUntagged
	r.sel.changed = map[uint32]string{}
	return r
}

// negotiate learns what the server offers and enables QRESYNC (RFC 7162
// §3.2.3, which implies CONDSTORE) when it can.
func (r *syncRun) negotiate() error {
	caps := r.c.caps
	r.condstore = caps["CONDSTORE"] || caps["QRESYNC"]
	r.objectID = caps["OBJECTID"]
	r.uidplus = caps["UIDPLUS"]
	r.esearch = caps["ESEARCH"]
	if caps["QRESYNC"] && caps["ENABLE"] {
		_, err := r.c.run("ENABLE QRESYNC", func(resp *wireResp) error {
			if resp.Kind == "ENABLED" {
				for _, f := range resp.Fields {
					if strings.EqualFold(asString(f), "QRESYNC") {
						r.qresync = true
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("ENABLE QRESYNC: %w", err)
		}
	}
	switch {
	case r.qresync:
		r.sum.Method = "QRESYNC"
	case r.condstore:
		r.sum.Method = "CONDSTORE"
	default:
		r.sum.Method = "full flag scan"
	}
	if r.objectID {
		r.sum.MoveDetection = "OBJECTID (EMAILID)"
	} else {
		r.sum.MoveDetection = "size + header hash"
	}
	return nil
}

// onUntagged keeps selState up to date from any response (RFC 3501 §7,
// RFC 7162 §3.2.10 VANISHED).
func (r *syncRun) onUntagged(resp *wireResp) {
	s := &r.sel
	switch resp.Kind {
	case "OK":
		code, arg, _ := strings.Cut(resp.Code, " ")
		n, _ := strconv.ParseUint(arg, 10, 64)
		switch strings.ToUpper(code) {
		case "UIDVALIDITY":
			s.uidValidity = uint32(n)
		case "UIDNEXT":
			s.uidNext = uint32(n)
		case "HIGHESTMODSEQ":
			s.hms = n
		case "NOMODSEQ":
			s.noModSeq = true
		case "CLOSED":
			// RFC 7162 §3.2.11: what follows is the new mailbox.
			*s = selState{changed: map[uint32]string{}}
		}
	case "EXISTS":
		s.exists = resp.Num
	case "EXPUNGE":
		if s.exists > 0 {
			s.exists--
		}
	case "VANISHED":
		earlier := false
		for _, f := range resp.Fields {
			if l, ok := f.([]any); ok {
				earlier = len(l) == 1 && strings.EqualFold(asString(l[0]), "EARLIER")
				continue
			}
			set, err := parseUIDSet(asString(f))
			if err != nil {
				continue
			}
			s.vanished = append(s.vanished, set...)
			if !earlier {
				for _, x := range set {
					n := x[1] - x[0] + 1
					if n > s.exists {
						n = s.exists
					}
					s.exists -= n
				}
			}
		}
	case "FETCH":
		it := parseFetch(resp)
		if it.uid != 0 && it.hasFlags {
			s.changed[it.uid] = FlagLetters(it.flags)
		}
	}
}

// fetchItems is the parsed part of a FETCH response the sync uses.
type fetchItems struct {
	uid      uint32
	flags    []string
	hasFlags bool
	size     int64
	emailID  string
	body     *string
	header   *string
}

func parseFetch(resp *wireResp) fetchItems {
	var it fetchItems
	if len(resp.Fields) == 0 {
		return it
	}
	l, _ := resp.Fields[0].([]any)
	for i := 0; i+1 < len(l); i += 2 {
		name := strings.ToUpper(asString(l[i]))
		v := l[i+1]
		switch {
		case name == "UID":
			n, _ := asNumber(v)
			it.uid = uint32(n)
		case name == "FLAGS":
			fl, _ := v.([]any)
			it.hasFlags = true
			for _, f := range fl {
				it.flags = append(it.flags, asString(f))
			}
		case name == "RFC822.SIZE":
			n, _ := asNumber(v)
			it.size = int64(n)
		case name == "EMAILID":
			if x, ok := v.([]any); ok && len(x) == 1 {
				it.emailID = asString(x[0])
			}
		case strings.HasPrefix(name, "BODY[]"):
			if !isNIL(v) {
				s := asString(v)
				it.body = &s
			}
		case strings.HasPrefix(name, "BODY[HEADER]"):
			if !isNIL(v) {
				s := asString(v)
				it.header = &s
			}
		}
	}
	return it
}

// selectMailbox selects name (RFC 3501 §6.3.1) with args appended (a
// CONDSTORE or QRESYNC parameter).
func (r *syncRun) selectMailbox(name, args string) error {
	r.sel = selState{changed: map[uint32]string{}}
	if _, err := r.c.run("SELECT "+r.c.quoteMailbox(name)+args, nil); err != nil {
		r.selected = ""
		return fmt.Errorf("select %s: %w", name, err)
	}
	r.selected = name
	return nil
}

// alive is the number of entries whose message is still on the server.
func (f *folderSync) alive() int {
	n := 0
	for _, e := range f.st.Messages {
		if !e.Gone {
			n++
		}
	}
	return n
}

// scan compares the Maildir with the state: files the state does not
// know, and whether anything changed locally since the last sync.
func (f *folderSync) scan() error {
	idx, err := f.md.index()
	if err != nil {
		return err
	}
	f.idx = idx
	tracked := map[string]bool{}
	f.untracked, f.localChanges = map[string]bool{}, false
	for _, e := range f.st.Messages {
		tracked[e.File] = true
		p, ok := idx[e.File]
		if e.Gone || !ok || fileLetters(p) != e.Flags {
			f.localChanges = true
		}
	}
	for base := range idx {
		if !tracked[base] {
			f.untracked[base] = true
			f.localChanges = true
		}
	}
	return nil
}

func (f *folderSync) save() error { return f.st.save(f.md.dir) }

// canSkip: STATUS says the server mailbox is as the state left it
// (same UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and message count; RFC 7162
// §3.1.2.1: any flag change or expunge raises HIGHESTMODSEQ) and nothing
// changed locally.
func (r *syncRun) canSkip(f *folderSync) bool {
	st, s := f.st, f.status
	if !r.condstore || s == nil || f.localChanges || st.UIDValidity == 0 || st.HighestModSeq == 0 {
		return false
	}
	return s.uidValidity == st.UIDValidity && s.hms == st.HighestModSeq && s.uidNext == st.UIDNext && int(s.messages) == f.alive()
}

// runFolders runs the phases over r.folders, accounting the octets of
// each folder's commands to it.
func (r *syncRun) runFolders() error {
	each := func(phase func(*folderSync) error) error {
		for _, f := range r.folders {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			s0, r0 := r.c.sent(), r.c.received()
			err := phase(f)
			f.rep.Sent += r.c.sent() - s0
			f.rep.Received += r.c.received() - r0
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := each(func(f *folderSync) error {
		if !f.create {
			return nil
		}
		if _, err := r.c.run("CREATE "+r.c.quoteMailbox(f.name), nil); err != nil {
			return fmt.Errorf("create %s on the server: %w", f.name, err)
		}
		f.rep.Note = "created on the server"
		return nil
	}); err != nil {
		return err
	}
	if err := each(func(f *folderSync) error { return f.scan() }); err != nil {
		return err
	}
	if err := each(r.phase1); err != nil {
		return err
	}
	if err := r.gatherCandidates(); err != nil {
		return err
	}
	for _, f := range r.folders {
		for _, nm := range f.newMsgs {
			r.prog.TotalMessages++
			r.prog.TotalBytes += nm.size
		}
	}
	if err := each(r.phase2); err != nil {
		return err
	}
	if err := r.finish(); err != nil {
		return err
	}
	if err := r.finishOrphans(); err != nil {
		return err
	}
	return each(r.phase3)
}

// newFolderSync opens a folder's Maildir and state.
func (r *syncRun) newFolderSync(name, dir string) (*folderSync, error) {
	md, err := openMaildir(dir)
	if err != nil {
		return nil, err
	}
	st, err := loadSyncState(dir, syncState{Protocol: "imap", Account: r.account, Mailbox: name})
	if err != nil {
		return nil, err
	}
	return &folderSync{name: name, md: md, st: st, rep: &FolderReport{Mailbox: name, Dir: dir}}, nil
}

// ensureDir is os.MkdirAll with the Maildir permissions.
func ensureDir(dir string) error { return os.MkdirAll(dir, 0o700) }
