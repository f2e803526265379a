package mailclient

import (
	"fmt"
	"sort"
	"strings"
)

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
