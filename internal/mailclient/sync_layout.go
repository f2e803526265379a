package mailclient

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The tree of Maildirs under the sync root is the layout of mbsync's
// "SubFolders Verbatim" (isync 1.4): a server folder is the directory
// whose path is its name as the server sends it (modified UTF-7, RFC 3501
// §5.1.3, as mbsync and Dovecot write it on disk) with the hierarchy
// delimiter turned into "/" (Archive/2024 → ROOT/Archive/2024, Lists.go →
// ROOT/Lists/go on a server whose delimiter is ".", Café → ROOT/Caf&AOk-),
// INBOX is ROOT/INBOX, and a folder's Maildir may hold its subfolders'
// directories next to cur/, new/ and tmp/. Each folder's Maildir has its
// own state file (SyncStateFile). A tree mbsync made is therefore taken
// over as it is: its files are untracked at first and are linked to the
// server's messages by size and header hash, not downloaded again.
//
// A name component that cannot be a directory name here (empty, ".",
// "..", starting with ".", containing "/", or cur/new/tmp, which are the
// Maildir's own) is skipped with a note rather than mangled.

// folderDir maps a server folder name to its Maildir under root.
func folderDir(root, name, delim string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return filepath.Join(root, "INBOX"), nil
	}
	wire := encodeMUTF7(name)
	parts := []string{wire}
	if delim != "" {
		parts = strings.Split(wire, delim)
	}
	if len(parts) > 0 && strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	for _, p := range parts {
		switch {
		case p == "" || p == "." || p == ".." || strings.HasPrefix(p, "."):
			return "", fmt.Errorf("folder %q: component %q cannot be a directory name", name, p)
		case strings.ContainsAny(p, "/\x00"):
			return "", fmt.Errorf("folder %q: component %q holds a slash", name, p)
		case p == "cur" || p == "new" || p == "tmp":
			return "", fmt.Errorf("folder %q: component %q is a Maildir subdirectory name", name, p)
		}
	}
	return filepath.Join(append([]string{root}, parts...)...), nil
}

// localFolders finds the Maildirs under root (not root itself), as
// mailbox names built with delim. A directory whose name holds the
// delimiter would come back from the server as a different path, so it
// is left out (in skipped, with the reason).
func localFolders(root, delim string) (out map[string]string, skipped []FolderReport, err error) {
	out = map[string]string{}
	if delim == "" {
		delim = "/"
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root && os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		if !d.IsDir() || path == root {
			return nil
		}
		n := d.Name()
		if strings.HasPrefix(n, ".") || n == "cur" || n == "new" || n == "tmp" {
			return filepath.SkipDir
		}
		if !isMaildir(path) {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if delim != "/" && strings.Contains(rel, delim) {
			skipped = append(skipped, FolderReport{Mailbox: strings.Join(parts, "/"), Dir: path,
				Note: fmt.Sprintf("not synced: the name holds the server's hierarchy delimiter %q", delim)})
			return nil
		}
		wire := strings.Join(parts, delim)
		name, err := decodeMUTF7(wire)
		if err == nil && !isASCII(wire) {
			err = fmt.Errorf("rename the directory to %s, the modified UTF-7 form mbsync and Dovecot use on disk", encodeMUTF7(wire))
		}
		if err != nil {
			skipped = append(skipped, FolderReport{Mailbox: wire, Dir: path, Note: "not synced: " + err.Error()})
			return nil
		}
		out[name] = path
		return nil
	})
	return out, skipped, err
}

// listedFolder is one LIST response (RFC 3501 §7.2.2).
type listedFolder struct {
	name, delim string
	selectable  bool
}

// listFolders lists the server's folders, with LIST-STATUS (RFC 5819)
// when offered so that an unchanged folder costs one line.
func (r *syncRun) listFolders() ([]listedFolder, map[string]*mailboxStatus, error) {
	var out []listedFolder
	statuses := map[string]*mailboxStatus{}
	cmd := `LIST "" "*"`
	if r.c.caps["LIST-STATUS"] && r.condstore {
		cmd += " RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ))"
	}
	_, err := r.c.run(cmd, func(resp *wireResp) error {
		switch resp.Kind {
		case "LIST":
			if len(resp.Fields) < 3 {
				return nil
			}
			lf := listedFolder{selectable: true}
			attrs, _ := resp.Fields[0].([]any)
			for _, a := range attrs {
				switch strings.ToLower(asString(a)) {
				case `\noselect`, `\nonexistent`:
					lf.selectable = false
				}
			}
			if !isNIL(resp.Fields[1]) {
				lf.delim = asString(resp.Fields[1])
			}
			name, err := decodeMUTF7(asString(resp.Fields[2]))
			if err != nil {
				return nil
			}
			lf.name = name
			out = append(out, lf)
		case "STATUS":
			if name, st, ok := parseStatus(resp); ok {
				statuses[name] = st
			}
		}
		return nil
	})
	return out, statuses, err
}

// parseStatus reads "* STATUS name (MESSAGES n UIDNEXT n ...)".
func parseStatus(resp *wireResp) (string, *mailboxStatus, bool) {
	if len(resp.Fields) < 2 {
		return "", nil, false
	}
	name, err := decodeMUTF7(asString(resp.Fields[0]))
	if err != nil {
		return "", nil, false
	}
	l, _ := resp.Fields[1].([]any)
	st := &mailboxStatus{}
	for i := 0; i+1 < len(l); i += 2 {
		n, _ := asNumber(l[i+1])
		switch strings.ToUpper(asString(l[i])) {
		case "MESSAGES":
			st.messages = uint32(n)
		case "UIDNEXT":
			st.uidNext = uint32(n)
		case "UIDVALIDITY":
			st.uidValidity = uint32(n)
		case "HIGHESTMODSEQ":
			st.hms = n
		}
	}
	return name, st, true
}

// SyncFolders mirrors every folder of the account into the Maildirs under
// root, both ways (see sync_run.go), over a connection of its own.
func (s *imapSession) SyncFolders(ctx context.Context, root string, o SyncOptions) (*SyncSummary, error) {
	return syncFolders(ctx, s.cfg, root, o)
}

// syncFolders is SyncFolders for a Config; without names capabilities to
// ignore (the tests use it to take the CONDSTORE-only and the full-scan
// paths against servers that offer more).
func syncFolders(ctx context.Context, cfg Config, root string, o SyncOptions, without ...string) (*SyncSummary, error) {
	if _, err := os.Stat(filepath.Join(root, SyncStateFile)); err == nil && isMaildir(root) {
		return nil, fmt.Errorf("%s is the Maildir of one mailbox (synced with --maildir): sync it with --maildir %s, or give another directory as the root", root, root)
	}
	unlock, err := lockTree(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := dialWire(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, w := range without {
		delete(c.caps, w)
	}
	r := newSyncRun(ctx, c, cfg.User+"@"+cfg.Addr, o)
	err = r.syncAll(root)
	if err != nil {
		c.close()
	} else {
		err = c.logout()
	}
	r.sum.Sent, r.sum.Received = c.sent(), c.received()
	for _, f := range append(r.folders, r.orphans...) {
		r.sum.Folders = append(r.sum.Folders, *f.rep)
	}
	sort.Slice(r.sum.Folders, func(i, j int) bool { return r.sum.Folders[i].Mailbox < r.sum.Folders[j].Mailbox })
	return r.sum, err
}

func (r *syncRun) syncAll(root string) error {
	if err := r.negotiate(); err != nil {
		return err
	}
	if err := ensureDir(root); err != nil {
		return err
	}
	s0, r0 := r.c.sent(), r.c.received()
	listed, statuses, err := r.listFolders()
	r.sum.ListSent, r.sum.ListReceived = r.c.sent()-s0, r.c.received()-r0
	if err != nil {
		return fmt.Errorf("list folders: %w", err)
	}
	delim := "/"
	for _, lf := range listed {
		if lf.delim != "" {
			delim = lf.delim
			break
		}
	}
	locals, badLocal, err := localFolders(root, delim)
	if err != nil {
		return err
	}
	var skipped []FolderReport
	skipped = append(skipped, badLocal...)
	if r.opts.Mailbox == "" {
		if err := r.renameUp(root, delim, locals, listed, statuses); err != nil {
			return err
		}
	}
	onServer := map[string]bool{}
	for _, lf := range listed {
		onServer[lf.name] = true
		if !lf.selectable || (r.opts.Mailbox != "" && lf.name != r.opts.Mailbox) {
			continue
		}
		dir, err := folderDir(root, lf.name, lf.delim)
		if err != nil {
			skipped = append(skipped, FolderReport{Mailbox: lf.name, Note: err.Error()})
			continue
		}
		f, err := r.newFolderSync(lf.name, dir)
		if err != nil {
			return err
		}
		f.status = statuses[lf.name]
		if old, ok := r.renamed[lf.name]; ok {
			f.rep.Note = "renamed here from " + old + ", so renamed on the server"
		}
		r.folders = append(r.folders, f)
	}
	// Folders made locally go to the server; a folder the server no
	// longer has keeps its local copy (deleting a folder is left to the
	// user, both ways).
	names := make([]string, 0, len(locals))
	for name := range locals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if onServer[name] || (r.opts.Mailbox != "" && name != r.opts.Mailbox) {
			continue
		}
		st, err := loadSyncState(locals[name], syncState{Protocol: "imap", Account: r.account, Mailbox: name})
		if err != nil {
			skipped = append(skipped, FolderReport{Mailbox: name, Dir: locals[name], Note: err.Error()})
			continue
		}
		if st.UIDValidity != 0 {
			// Deleted or renamed on the server: its messages are
			// candidates for the new folders (a rename is then a move of
			// every message); what nobody claims stays here.
			f, err := r.newFolderSync(name, locals[name])
			if err != nil {
				return err
			}
			f.orphan = true
			r.orphans = append(r.orphans, f)
			continue
		}
		f, err := r.newFolderSync(name, locals[name])
		if err != nil {
			return err
		}
		f.create = true
		r.folders = append(r.folders, f)
	}
	if r.opts.Mailbox != "" && len(r.folders) == 0 && len(skipped) == 0 {
		return fmt.Errorf("no folder %q on the server or under %s", r.opts.Mailbox, root)
	}
	r.sum.SetupSent, r.sum.SetupReceived = r.c.sent(), r.c.received()
	defer func() {
		for i := range skipped {
			f := &folderSync{rep: &skipped[i]}
			r.folders = append(r.folders, f)
		}
	}()
	return r.runFolders()
}

// renameUp sends a folder renamed locally to the server: a Maildir whose
// state names a server folder that has no directory of its own any more
// was renamed (moved) by the user, so RENAME (RFC 3501 §6.3.5) follows,
// and the hierarchy below it with it (on the server by RENAME itself,
// here by the states of the subfolders moved along). listed, statuses
// and the states are updated to the new names.
func (r *syncRun) renameUp(root, delim string, locals map[string]string, listed []listedFolder, statuses map[string]*mailboxStatus) error {
	onServer := map[string]bool{}
	for _, lf := range listed {
		onServer[lf.name] = lf.selectable
	}
	names := make([]string, 0, len(locals))
	for name := range locals {
		names = append(names, name)
	}
	sort.Strings(names) // parents before children
	for _, name := range names {
		dir := locals[name]
		st, err := readSyncState(dir)
		if err != nil || st == nil || onServer[name] || st.Protocol != "imap" || st.Account != r.account ||
			st.Mailbox == name || !onServer[st.Mailbox] || strings.EqualFold(st.Mailbox, "INBOX") {
			continue
		}
		old := st.Mailbox
		if oldDir, err := folderDir(root, old, delim); err != nil || isMaildir(oldDir) {
			continue // the old folder is still here: this is a copy, not a rename
		}
		if _, err := r.c.run("RENAME "+r.c.quoteMailbox(old)+" "+r.c.quoteMailbox(name), nil); err != nil {
			return fmt.Errorf("rename %s to %s on the server: %w", old, name, err)
		}
		renamed := func(n string) (string, bool) {
			if n == old {
				return name, true
			}
			if rest, ok := strings.CutPrefix(n, old+delim); ok && delim != "" {
				return name + delim + rest, true
			}
			return n, false
		}
		for i := range listed {
			if nn, ok := renamed(listed[i].name); ok {
				delete(statuses, listed[i].name)
				listed[i].name = nn
				onServer[nn] = listed[i].selectable
			}
		}
		for _, n := range names {
			sub, err := readSyncState(locals[n])
			if err != nil || sub == nil || sub.Account != r.account {
				continue
			}
			if nn, ok := renamed(sub.Mailbox); ok && nn == n {
				sub.Mailbox = nn
				if err := sub.save(locals[n]); err != nil {
					return err
				}
			}
		}
		r.renamed[name] = old
	}
	return nil
}

// status asks STATUS (RFC 3501 §6.3.10, HIGHESTMODSEQ of RFC 7162
// §3.1.8) for a folder that could be skipped when the server has no
// LIST-STATUS: far cheaper than a SELECT.
func (r *syncRun) status(f *folderSync) error {
	if !r.condstore || r.c.caps["LIST-STATUS"] || f.status != nil || f.localChanges || r.selected == f.name ||
		f.create || f.st.UIDValidity == 0 || f.st.HighestModSeq == 0 {
		return nil
	}
	_, err := r.c.run("STATUS "+r.c.quoteMailbox(f.name)+" (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)", func(resp *wireResp) error {
		if resp.Kind == "STATUS" {
			if _, st, ok := parseStatus(resp); ok {
				f.status = st
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("status %s: %w", f.name, err)
	}
	return nil
}
