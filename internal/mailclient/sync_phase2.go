package mailclient

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// linkSaveEvery is how many links (moves, adopted files) phase2 makes
// between two saves of the states.
const linkSaveEvery = 200

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
