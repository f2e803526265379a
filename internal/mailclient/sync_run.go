package mailclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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

// linkSaveEvery is how many links (moves, adopted files) phase2 makes
// between two saves of the states.
const linkSaveEvery = 200

// flagChange is one STORE to send: letters to add and to remove.
type flagChange struct{ add, remove string }

// phase1 brings one folder's known messages in step: server expunges and
// flag changes come down, local flag changes and deletions go up, and the
// server's new messages are listed for phase2.
func (r *syncRun) phase1(f *folderSync) error {
	st := f.st
	if err := r.status(f); err != nil {
		return err
	}
	if r.canSkip(f) {
		f.rep.Unchanged = true
		f.rep.Kept = f.alive()
		return nil
	}
	var known []uint32
	for _, e := range st.Messages {
		if !e.Gone {
			known = append(known, e.UID)
		}
	}
	useQR := r.qresync && st.UIDValidity != 0 && st.HighestModSeq != 0
	args := ""
	switch {
	case useQR:
		// RFC 7162 §3.2.5: QRESYNC (uidvalidity modseq [known-uids]).
		args = fmt.Sprintf(" (QRESYNC (%d %d", st.UIDValidity, st.HighestModSeq)
		if ks := formatUIDs(known); ks != "" && len(ks) <= 1000 {
			args += " " + ks
		}
		args += "))"
	case r.condstore:
		args = " (CONDSTORE)" // RFC 7162 §3.1.8
	}
	if err := r.selectMailbox(f.name, args); err != nil {
		return err
	}
	sel := r.sel
	if st.UIDValidity != 0 && sel.uidValidity != st.UIDValidity {
		// RFC 3501 §2.3.1.1: the old UIDs mean nothing now. Every local
		// copy becomes a candidate that phase2 matches against the
		// mailbox's messages; the unmatched ones are removed at the end.
		for i := range st.Messages {
			st.Messages[i].Gone = true
		}
		st.UIDNext, st.HighestModSeq = 0, 0
		f.rep.Reset = true
		useQR = false
		known = nil
		r.sel.changed = map[uint32]string{}
		r.sel.vanished = nil
	}
	st.UIDValidity = sel.uidValidity
	modseqOK := r.condstore && !sel.noModSeq && sel.hms != 0
	if sel.hms < st.HighestModSeq {
		// The server's mod-sequences went back (restored from a backup
		// without a new UIDVALIDITY, against RFC 7162 §3.1.2.1): what it
		// says changed since our value cannot be trusted; scan it all.
		useQR = false
		st.HighestModSeq = 0
	}

	fullScan := false
	switch {
	case useQR:
		// The SELECT already reported VANISHED (EARLIER) and the FETCH of
		// every message changed since the remembered HIGHESTMODSEQ.
	case modseqOK && st.HighestModSeq != 0:
		if sel.hms != st.HighestModSeq && sel.exists > 0 {
			// RFC 7162 §3.1.4.1 CHANGEDSINCE: only what changed.
			if _, err := r.c.run(fmt.Sprintf("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d)", st.HighestModSeq), nil); err != nil {
				return fmt.Errorf("fetch changed flags in %s: %w", f.name, err)
			}
		}
	default:
		fullScan = true
		if sel.exists > 0 {
			if _, err := r.c.run("UID FETCH 1:* (UID FLAGS)", nil); err != nil {
				return fmt.Errorf("fetch flags in %s: %w", f.name, err)
			}
		}
	}

	// The messages the state does not know: UIDs from UIDNEXT on
	// (RFC 3501 §2.3.1.1: UIDs only grow).
	newFrom := max(st.UIDNext, 1)
	onServerNew := map[uint32]*newMsg{}
	if r.sel.exists > 0 && (sel.uidNext == 0 || sel.uidNext > newFrom) {
		items := "UID FLAGS RFC822.SIZE"
		if r.objectID {
			items += " EMAILID"
		}
		_, err := r.c.run(fmt.Sprintf("UID FETCH %d:* (%s)", newFrom, items), func(resp *wireResp) error {
			if resp.Kind != "FETCH" {
				return nil
			}
			it := parseFetch(resp)
			if it.uid >= newFrom && it.hasFlags {
				onServerNew[it.uid] = &newMsg{uid: it.uid, letters: FlagLetters(it.flags), size: it.size, emailID: it.emailID}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fetch new messages in %s: %w", f.name, err)
		}
	}
	server := r.sel.changed

	// Which known messages are gone from the server.
	vanished := func(uid uint32) bool { return r.sel.vanished.has(uid) }
	switch {
	case fullScan:
		vanished = func(uid uint32) bool { _, ok := server[uid]; return !ok }
	case !useQR:
		// CONDSTORE alone reports no expunges: count, and ask for the
		// UIDs only when the count says something went.
		below := 0
		for _, u := range known {
			if u < newFrom {
				below++
			}
		}
		var present uidRanges
		checkBelow := int(r.sel.exists) != below+len(onServerNew) && newFrom > 1
		if checkBelow {
			var err error
			if present, err = r.searchUIDs(fmt.Sprintf("1:%d", newFrom-1)); err != nil {
				return fmt.Errorf("search %s: %w", f.name, err)
			}
		}
		vanished = func(uid uint32) bool {
			if uid >= newFrom {
				_, ok := onServerNew[uid]
				return !ok
			}
			return checkBelow && !present.has(uid)
		}
	}

	var (
		pushes  = map[flagChange][]uint32{}
		deletes []uint32
		renames int
	)
	kept := st.Messages[:0]
	for _, e := range st.Messages {
		if e.Gone {
			kept = append(kept, e)
			continue
		}
		path, local := f.idx[e.File]
		if vanished(e.UID) {
			// Expunged on the server; deletion wins over a local change.
			if local {
				e.Gone = true
				kept = append(kept, e)
			}
			continue
		}
		if !local {
			// Deleted here; deletion wins over a server change.
			deletes = append(deletes, e.UID)
			continue
		}
		base := e.Flags
		l := fileLetters(path)
		s, fresh := server[e.UID]
		if nm, ok := onServerNew[e.UID]; ok {
			s, fresh = nm.letters, true
		}
		if !fresh {
			s = base
		}
		want := l
		switch {
		case l == base && s == base:
			f.rep.Kept++
		case s == base:
			f.rep.FlagsUp++
		case l == base:
			want = s
			f.rep.Updated++
		default:
			// Both sides changed: the union.
			want = mergeLetters(l, s)
			f.rep.Conflicts++
			if want != s {
				f.rep.FlagsUp++
			}
			if want != l {
				f.rep.Updated++
			}
		}
		if want != s {
			ch := flagChange{add: minusLetters(want, s), remove: minusLetters(s, want)}
			pushes[ch] = append(pushes[ch], e.UID)
		}
		if want != l {
			np, err := f.md.relabel(path, e.File, want)
			if err != nil {
				return err
			}
			f.idx[e.File] = np
			renames++
		}
		e.Flags = want
		kept = append(kept, e)
	}
	st.Messages = kept
	knownNow := map[uint32]bool{}
	for _, e := range st.Messages {
		if !e.Gone {
			knownNow[e.UID] = true
		}
	}
	for _, nm := range onServerNew {
		if !knownNow[nm.uid] {
			f.newMsgs = append(f.newMsgs, nm)
		}
	}
	sort.Slice(f.newMsgs, func(i, j int) bool { return f.newMsgs[i].uid < f.newMsgs[j].uid })

	if err := r.push(f, pushes); err != nil {
		return err
	}
	if err := r.expunge(f, deletes); err != nil {
		return err
	}
	if renames > 0 {
		if err := f.md.syncDirs(); err != nil {
			return err
		}
	}
	if modseqOK {
		st.HighestModSeq = sel.hms
	} else {
		st.HighestModSeq = 0
	}
	f.serverUIDNext = max(sel.uidNext, newFrom)
	if len(f.newMsgs) == 0 {
		st.UIDNext = f.serverUIDNext
	}
	return f.save()
}

// push stores local flag changes (RFC 3501 §6.4.6, +FLAGS.SILENT and
// -FLAGS.SILENT: only the letters that changed, so keywords set on the
// server stay).
func (r *syncRun) push(f *folderSync, pushes map[flagChange][]uint32) error {
	changes := make([]flagChange, 0, len(pushes))
	for ch := range pushes {
		changes = append(changes, ch)
	}
	sort.Slice(changes, func(i, j int) bool {
		return changes[i].add+"/"+changes[i].remove < changes[j].add+"/"+changes[j].remove
	})
	for _, ch := range changes {
		set := formatUIDs(pushes[ch])
		for _, op := range []struct{ sign, letters string }{{"+", ch.add}, {"-", ch.remove}} {
			if op.letters == "" {
				continue
			}
			cmd := fmt.Sprintf("UID STORE %s %sFLAGS.SILENT (%s)", set, op.sign, strings.Join(imapFlags(op.letters), " "))
			if _, err := r.c.run(cmd, nil); err != nil {
				return fmt.Errorf("store flags in %s: %w", f.name, err)
			}
		}
	}
	return nil
}

// expunge removes the messages deleted locally: \Deleted, then UID
// EXPUNGE of exactly those (RFC 4315 §2.1). Without UIDPLUS a plain
// EXPUNGE (RFC 3501 §6.4.3) would also remove messages another client
// marked \Deleted, so it is sent only when no other message is marked.
func (r *syncRun) expunge(f *folderSync, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	set := formatUIDs(uids)
	if _, err := r.c.run("UID STORE "+set+` +FLAGS.SILENT (\Deleted)`, nil); err != nil {
		return fmt.Errorf("store \\Deleted in %s: %w", f.name, err)
	}
	if r.uidplus {
		if _, err := r.c.run("UID EXPUNGE "+set, nil); err != nil {
			return fmt.Errorf("expunge in %s: %w", f.name, err)
		}
	} else {
		marked, err := r.searchUIDs("1:* DELETED")
		if err != nil {
			return err
		}
		mine := uidRanges{}
		for _, u := range uids {
			mine = append(mine, [2]uint32{u, u})
		}
		others := false
		for _, x := range marked {
			for u := x[0]; u <= x[1] && !others; u++ {
				others = !mine.has(u)
			}
		}
		if others {
			f.rep.Note = "deleted messages marked \\Deleted but not expunged: the server lacks UIDPLUS and other messages are marked too"
		} else if _, err := r.c.run("EXPUNGE", nil); err != nil {
			return fmt.Errorf("expunge in %s: %w", f.name, err)
		}
	}
	f.rep.DeletedUp += len(uids)
	return nil
}

// searchUIDs runs UID SEARCH UID set [keys] (RFC 3501 §6.4.4), with
// ESEARCH's compact RETURN (ALL) when offered (RFC 4731 §3.1).
func (r *syncRun) searchUIDs(criteria string) (uidRanges, error) {
	uidCrit := "UID " + criteria
	cmd := "UID SEARCH " + uidCrit
	if r.esearch {
		cmd = "UID SEARCH RETURN (ALL) " + uidCrit
	}
	var out uidRanges
	_, err := r.c.run(cmd, func(resp *wireResp) error {
		switch resp.Kind {
		case "SEARCH":
			for _, f := range resp.Fields {
				if n, ok := asNumber(f); ok && n > 0 && n <= 1<<32-1 {
					out = append(out, [2]uint32{uint32(n), uint32(n)})
				}
			}
		case "ESEARCH":
			for i := 0; i+1 < len(resp.Fields); i++ {
				if strings.EqualFold(asString(resp.Fields[i]), "ALL") {
					set, err := parseUIDSet(asString(resp.Fields[i+1]))
					if err != nil {
						return err
					}
					out = append(out, set...)
				}
			}
		}
		return nil
	})
	return out, err
}

// gatherCandidates collects, across the folders, the files that may be a
// new server message already here.
func (r *syncRun) gatherCandidates() error {
	r.cands = nil
	for _, f := range r.folders {
		kept := f.st.Messages[:0]
		changed := false
		for i := range f.st.Messages {
			e := f.st.Messages[i]
			if e.Gone {
				if _, ok := f.idx[e.File]; !ok {
					changed = true
					continue
				}
			}
			kept = append(kept, e)
		}
		f.st.Messages = kept
		if changed {
			if err := f.save(); err != nil {
				return err
			}
		}
		for _, e := range f.st.Messages {
			if e.Gone {
				r.cands = append(r.cands, &candidate{f: f, base: e.File, path: f.idx[e.File], gone: true, emailID: e.EmailID})
			}
		}
		for _, base := range sortedKeys(f.untracked) {
			r.cands = append(r.cands, &candidate{f: f, base: base, path: f.idx[base]})
		}
	}
	for _, f := range r.orphans {
		if err := f.scan(); err != nil {
			return err
		}
		for _, e := range f.st.Messages {
			if p, ok := f.idx[e.File]; ok {
				r.cands = append(r.cands, &candidate{f: f, base: e.File, path: p, gone: true, emailID: e.EmailID})
			}
		}
	}
	return nil
}

// phase2 fills one folder with the server's new messages: those already
// here as candidates are moved or linked, the rest downloaded in batches,
// the state saved after each so an interrupted sync resumes.
func (r *syncRun) phase2(f *folderSync) error {
	if len(f.newMsgs) == 0 {
		return nil
	}
	if r.selected != f.name {
		if err := r.selectMailbox(f.name, ""); err != nil {
			return err
		}
		if r.sel.uidValidity != f.st.UIDValidity {
			return fmt.Errorf("%s: UIDVALIDITY changed during the sync; run it again", f.name)
		}
	}
	if err := r.identify(f); err != nil {
		return err
	}
	var rest []*newMsg
	linked := 0
	for _, nm := range f.newMsgs {
		c, err := r.match(f, nm)
		if err != nil {
			return err
		}
		if c == nil {
			rest = append(rest, nm)
			continue
		}
		if err := r.link(f, nm, c); err != nil {
			return err
		}
		if linked++; linked%linkSaveEvery == 0 {
			if err := r.flush(f); err != nil {
				return err
			}
		}
		r.prog.TotalMessages--
		r.prog.TotalBytes -= nm.size
	}
	if err := r.flush(f); err != nil {
		return err
	}
	for len(rest) > 0 {
		batch := rest[:min(syncBatch, len(rest))]
		rest = rest[len(batch):]
		if err := r.download(f, batch); err != nil {
			return err
		}
	}
	f.newMsgs = nil
	f.st.UIDNext = max(f.st.UIDNext, f.serverUIDNext)
	return f.save()
}

// identify learns what phase2 needs to match the new messages against the
// candidates: EMAILID came with the listing when the server has OBJECTID;
// a candidate without one (an untracked file, a server without OBJECTID)
// needs the size and a header peek of each new message.
func (r *syncRun) identify(f *folderSync) error {
	needFP := false
	for _, c := range r.cands {
		if c.used {
			continue
		}
		if (!c.gone && c.f == f) || (c.gone && !r.byEmailOnly(c)) {
			needFP = true
		}
	}
	if !needFP {
		return nil
	}
	uids := make([]uint32, len(f.newMsgs))
	byUID := map[uint32]*newMsg{}
	for i, nm := range f.newMsgs {
		uids[i] = nm.uid
		byUID[nm.uid] = nm
	}
	_, err := r.c.run("UID FETCH "+formatUIDs(uids)+" (UID RFC822.SIZE BODY.PEEK[HEADER])", func(resp *wireResp) error {
		if resp.Kind != "FETCH" {
			return nil
		}
		it := parseFetch(resp)
		if nm := byUID[it.uid]; nm != nil && it.header != nil {
			nm.fp = fingerprint(it.size, []byte(*it.header))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fetch headers in %s: %w", f.name, err)
	}
	return nil
}

// match finds the candidate that is nm: by EMAILID when both have one,
// else by fingerprint. An untracked file matches only in its own folder
// (it is this folder's message whose state was not saved).
func (r *syncRun) match(f *folderSync, nm *newMsg) (*candidate, error) {
	if r.byEmail == nil {
		r.byEmail = map[string][]*candidate{}
		for _, c := range r.cands {
			if c.gone && c.emailID != "" {
				r.byEmail[c.emailID] = append(r.byEmail[c.emailID], c)
			}
		}
	}
	if nm.emailID != "" {
		for _, c := range r.byEmail[nm.emailID] {
			if !c.used {
				return c, nil
			}
		}
	}
	if nm.fp == "" {
		return nil, nil
	}
	if r.byFP == nil {
		r.byFP = map[string][]*candidate{}
		for _, c := range r.cands {
			if r.byEmailOnly(c) {
				continue
			}
			fp, err := fileFingerprint(c.path)
			if err != nil {
				return nil, err
			}
			c.fp = fp
			r.byFP[fp] = append(r.byFP[fp], c)
		}
	}
	for _, c := range r.byFP[nm.fp] {
		if !c.used && (c.gone || c.f == f) {
			return c, nil
		}
	}
	return nil, nil
}

// byEmailOnly: a candidate with an EMAILID, on a server with OBJECTID, is
// matched by EMAILID alone (RFC 8474 §5.1: it stays the same across
// MOVE and COPY), unless its folder's UIDVALIDITY changed: a mailbox
// that was rebuilt may hold the same messages under new EMAILIDs.
func (r *syncRun) byEmailOnly(c *candidate) bool {
	return c.gone && c.emailID != "" && r.objectID && !c.f.rep.Reset
}

// link makes candidate c the local copy of nm: an untracked file of this
// folder is adopted where it is, a file of another folder (or of this
// one, expunged and re-added under a new UID) is renamed into this
// Maildir with the server's flags. No body is downloaded.
func (r *syncRun) link(f *folderSync, nm *newMsg, c *candidate) error {
	c.used = true
	if !c.gone {
		// The file's flags are this side's; a difference goes up next time.
		f.st.Messages = append(f.st.Messages, syncEntry{UID: nm.uid, File: c.base, Flags: nm.letters, EmailID: nm.emailID})
		delete(f.untracked, c.base)
		f.rep.Kept++
		r.dirty[f] = true
		return nil
	}
	// File first, then the destination's state, then the source's: a
	// crash in between leaves an untracked file here (matched again next
	// time), never an entry without its file. The states are saved by
	// flush, every linkSaveEvery links and at the end of the folder.
	np, err := f.md.adopt(c.path, c.base, nm.letters)
	if err != nil {
		return err
	}
	f.idx[c.base] = np
	if c.f == f {
		for i := range f.st.Messages {
			if e := &f.st.Messages[i]; e.Gone && e.File == c.base {
				e.UID, e.Flags, e.Gone, e.EmailID = nm.uid, nm.letters, false, nm.emailID
			}
		}
		if f.rep.Reset {
			f.rep.Kept++ // the same message under its new UID
		} else {
			f.rep.Moved++ // expunged and added again here
		}
		r.dirty[f] = true
		return nil
	}
	f.st.Messages = append(f.st.Messages, syncEntry{UID: nm.uid, File: c.base, Flags: nm.letters, EmailID: nm.emailID})
	f.rep.Moved++
	r.dirty[f] = true
	src := c.f
	delete(src.idx, c.base)
	kept := src.st.Messages[:0]
	for _, e := range src.st.Messages {
		if !(e.File == c.base && (e.Gone || src.orphan)) {
			kept = append(kept, e)
		}
	}
	src.st.Messages = kept
	r.dirty[src] = true
	return nil
}

// flush saves the states links changed: the destination f first, so a
// crash between the saves leaves an untracked file (matched again next
// time), never an entry whose file is in another folder.
func (r *syncRun) flush(f *folderSync) error {
	if r.dirty[f] {
		if err := f.save(); err != nil {
			return err
		}
		delete(r.dirty, f)
	}
	for g := range r.dirty {
		if err := g.save(); err != nil {
			return err
		}
		delete(r.dirty, g)
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// download fetches a batch of bodies (BODY.PEEK[], RFC 3501 §6.4.5: no
// \Seen) into the Maildir, then saves the state.
func (r *syncRun) download(f *folderSync, batch []*newMsg) error {
	uids := make([]uint32, len(batch))
	for i, nm := range batch {
		uids[i] = nm.uid
	}
	items := "UID FLAGS BODY.PEEK[]"
	if r.objectID {
		items += " EMAILID"
	}
	r.c.bodyFetches++
	r.sum.BodyFetches++
	_, err := r.c.run("UID FETCH "+formatUIDs(uids)+" ("+items+")", func(resp *wireResp) error {
		if resp.Kind != "FETCH" {
			return nil
		}
		it := parseFetch(resp)
		if it.uid == 0 || it.body == nil {
			return nil
		}
		letters := FlagLetters(it.flags)
		base, err := f.md.deliverNoSync(strings.NewReader(*it.body), letters)
		if err != nil {
			return err
		}
		f.st.Messages = append(f.st.Messages, syncEntry{UID: it.uid, File: base, Flags: letters, EmailID: it.emailID})
		f.idx[base] = f.md.path(base, letters)
		f.rep.Fetched++
		r.prog.Messages++
		r.prog.Bytes += int64(len(*it.body))
		r.progress(f)
		return nil
	})
	if serr := f.md.syncDirs(); err == nil {
		err = serr
	}
	if serr := f.saveSometimes(err != nil); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("download into %s: %w", f.name, err)
	}
	return nil
}

// saveSometimes saves the state after a batch when enough changed since
// the last save: every batch while the state is small, every twentieth
// of it when it is large (a state of 100,000 entries is megabytes), or
// after 30 seconds. What a crash loses in between is found again as
// untracked files and linked, not downloaded (phase2).
func (f *folderSync) saveSometimes(now bool) error {
	f.unsaved++
	if !now && f.unsaved*syncBatch < max(syncBatch, len(f.st.Messages)/20) && time.Since(f.lastSave) < 30*time.Second {
		return nil
	}
	f.unsaved, f.lastSave = 0, time.Now()
	return f.save()
}

func (r *syncRun) progress(f *folderSync) {
	if r.opts.Progress == nil {
		return
	}
	p := r.prog
	p.Folder = f.name
	p.Elapsed = time.Since(r.start)
	r.opts.Progress(p)
}

// finish removes the files of messages expunged on the server that no
// folder claimed as a move.
func (r *syncRun) finish() error {
	for _, f := range r.folders {
		kept := f.st.Messages[:0]
		removed := 0
		for _, e := range f.st.Messages {
			if !e.Gone {
				kept = append(kept, e)
				continue
			}
			if p, ok := f.idx[e.File]; ok {
				if err := f.md.remove(p); err != nil {
					return err
				}
				delete(f.idx, e.File)
			}
			removed++
		}
		if removed == 0 {
			continue
		}
		f.st.Messages = kept
		f.rep.Removed += removed
		if err := f.save(); err != nil {
			return err
		}
	}
	return nil
}

// finishOrphans reports on the folders gone from the server and removes
// the directory of one whose messages all went to other folders (a
// folder renamed on the server): subfolders first, and only what the
// sync made (empty cur/ new/ tmp/, the state and the lock); anything
// else in it keeps it.
func (r *syncRun) finishOrphans() error {
	sort.Slice(r.orphans, func(i, j int) bool { return r.orphans[i].name > r.orphans[j].name })
	for _, f := range r.orphans {
		moved := 0
		for _, c := range r.cands {
			if c.f == f && c.used {
				moved++
			}
		}
		left := len(f.st.Messages) + len(f.untracked)
		if left > 0 {
			f.rep.Note = fmt.Sprintf("not on the server any more; %d messages found in other folders and moved there, the local copy of %d kept", moved, left)
			continue
		}
		f.rep.Note = fmt.Sprintf("not on the server any more (renamed there?); its %d messages moved to their new folders", moved)
		if removeEmptyMaildir(f.md.dir) == nil {
			f.rep.Note += "; directory removed"
		}
	}
	return nil
}

// removeEmptyMaildir removes a Maildir that holds no message.
func removeEmptyMaildir(dir string) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Remove(filepath.Join(dir, sub)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, name := range []string{SyncStateFile, SyncLockFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Remove(dir)
}

// phase3 uploads the local files no server message turned out to be
// (APPEND, RFC 3501 §6.3.11) with their flags; APPENDUID (RFC 4315 §3)
// gives their UIDs. Without UIDPLUS the next sync links them by
// fingerprint, as after an interrupted sync.
func (r *syncRun) phase3(f *folderSync) error {
	for _, base := range sortedKeys(f.untracked) {
		path := f.idx[base]
		data, err := crlfFile(path)
		if err != nil {
			return err
		}
		letters := fileLetters(path)
		var flags string
		if letters != "" {
			flags = "(" + strings.Join(imapFlags(letters), " ") + ") "
		}
		ok, err := r.c.run("APPEND "+r.c.quoteMailbox(f.name)+" "+flags+"\x00", nil, wireLiteral(data))
		if err != nil {
			return fmt.Errorf("append to %s: %w", f.name, err)
		}
		f.rep.Appended++
		delete(f.untracked, base)
		code, arg, _ := strings.Cut(ok.Code, " ")
		if !strings.EqualFold(code, "APPENDUID") {
			continue
		}
		uvs, uids, _ := strings.Cut(arg, " ")
		uv, err1 := strconv.ParseUint(uvs, 10, 32)
		uid, err2 := strconv.ParseUint(uids, 10, 32)
		if err1 != nil || err2 != nil || uint32(uv) != f.st.UIDValidity {
			continue
		}
		f.st.Messages = append(f.st.Messages, syncEntry{UID: uint32(uid), File: base, Flags: letters})
		if err := f.saveSometimes(false); err != nil {
			return err
		}
	}
	return f.save()
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
