package imapserver

import (
	"slices"
	"sort"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// systemFlags are the flags every mailbox supports (RFC 3501 §2.3.2).
var systemFlags = []string{store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagSeen, store.FlagDraft}

// cmdSelect: SELECT and EXAMINE (RFC 3501 §6.3.1-2, RFC 9051 §6.3.2-3)
// with the CONDSTORE parameter (RFC 7162 §3.1.8) and QRESYNC
// (RFC 7162 §3.2.5: VANISHED (EARLIER) and FETCH of what changed).
func (s *session) cmdSelect(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.SelectArgs)
	readOnly := cmd.Name == "EXAMINE"
	if a.QResync != nil && !s.qresync {
		return "", errBad("QRESYNC is not enabled")
	}
	if s.sel != nil {
		// Selecting again closes the current mailbox without expunging
		// (RFC 3501 §6.3.1); RFC 7162 §3.2.11 announces it with [CLOSED].
		s.deselect()
		s.c.w.WriteStatus("", "OK", "CLOSED", "Previous mailbox closed")
	}
	// Feed events from before the snapshot say nothing about it (and one
	// for a deleted mailbox whose ID the store reused must not end the
	// new selection): drop them.
	s.drainFeed()
	name, err := existingName(a.Mailbox)
	if err != nil {
		return "", err
	}
	ref, err := s.lookupBox(name)
	if err != nil {
		return "", err
	}
	if err := ref.need(store.RightRead); err != nil {
		return "", err
	}
	if ref.rights&(store.RightSeen|store.RightWrite|store.RightDeleteMessage|store.RightExpunge) == 0 {
		// Nothing in it may be changed: READ-ONLY (RFC 4314 §4, as
		// Dovecot answers).
		readOnly = true
	}
	mbox, err := ref.boxes.Open(s.ctx, ref.name)
	if err != nil {
		return "", err
	}
	var unclaimed store.MailboxStatus
	if readOnly {
		// Counted before the snapshot: see peekRecent.
		if unclaimed, err = ref.boxes.Status(s.ctx, ref.name); err != nil {
			return "", err
		}
	}
	v, info, err := openView(s.ctx, s.srv.snapshots, mbox, readOnly)
	if err != nil {
		return "", err
	}
	if err := v.claimRecent(s.ctx); err != nil {
		v.release()
		return "", err
	}
	if readOnly {
		v.peekRecent(unclaimed)
	}
	if a.CondStore || a.QResync != nil {
		s.condstore = true
	}

	w := s.c.w
	s.selRef = ref
	v.announced = map[string]string{}
	for _, k := range v.kw {
		v.announced[strings.ToLower(k)] = k
	}
	s.writeFlagsResponses(v)
	w.Untagged(itoa(v.count()) + " EXISTS")
	if !s.rev2 {
		w.Untagged(itoa(v.recentCount()) + " RECENT")
		// UNSEEN is a sequence number: not under UIDONLY (RFC 9586 §3).
		if seq := v.unseen; seq > 0 && !s.uidonly {
			w.WriteStatus("", "OK", "UNSEEN "+itoa(seq), "First unseen")
		}
	}
	w.WriteStatus("", "OK", "UIDVALIDITY "+utoa(uint64(v.validity)), "UIDs valid")
	w.WriteStatus("", "OK", "UIDNEXT "+utoa(uint64(v.uidNext)), "Predicted next UID")
	w.WriteStatus("", "OK", "HIGHESTMODSEQ "+utoa(uint64(v.lastModSeq)), "Highest")
	if s.rev2 {
		// RFC 9051 §6.3.2: a LIST response with the mailbox's name.
		w.StartUntagged()
		w.Raw("LIST () \"/\" ")
		w.Mailbox(s.clientName(ref.owner, info.Name))
		w.CRLF()
	}
	if q := a.QResync; q != nil && q.UIDValidity == v.validity {
		if err := s.qresyncSelect(v, q); err != nil {
			v.release()
			s.selRef = mbRef{}
			return "", err
		}
	}
	if ref.shared {
		// Changes to another account's mailbox come on its feed.
		s.selWatch = s.srv.opts.Store.Watch(ref.owner)
	}
	s.sel = v
	s.state = stateSelected
	s.saved = nil
	s.changed = false
	if readOnly {
		return "READ-ONLY", nil
	}
	return "READ-WRITE", nil
}

// peekRecent marks as \Recent in a read-only view the messages no session
// has claimed yet, without claiming them: EXAMINE reports the same RECENT
// count as STATUS and SELECT and leaves \Recent as it was (RFC 3501
// §6.3.2; Dovecot shows them \Recent in FETCH and SEARCH too). st was
// read just before the view's snapshot. Unclaimed messages are those at or
// above the store's \Recent watermark, so they are the st.Recent highest
// UIDs below st.UIDNext, plus any that arrived between the two reads.
func (v *selectedView) peekRecent(st store.MailboxStatus) {
	// Snapshot messages that existed when st was read.
	older, _ := slices.BinarySearch(v.uids, st.UIDNext)
	for _, u := range v.uids[older:] {
		v.recent[u] = true
	}
	for i := max(0, older-st.Recent); i < older; i++ {
		v.recent[v.uids[i]] = true
	}
}

// qresyncSelect sends what changed since the client's MODSEQ: the UIDs
// expunged as VANISHED (EARLIER) and the changed messages as FETCH
// (RFC 7162 §3.2.5.1).
func (s *session) qresyncSelect(v *selectedView, q *imap.QResyncParams) error {
	ch, err := v.mbox.Changes(s.ctx, store.ModSeq(q.ModSeq))
	if err != nil {
		return err
	}
	var gone []store.UID
	for _, u := range ch.Expunged {
		if q.KnownUIDs != nil && !q.KnownUIDs.Contains(uint32(u), uint32(v.maxUID())) {
			continue
		}
		if v.seqOf(u) == 0 {
			gone = append(gone, u)
		}
	}
	w := s.c.w
	if len(gone) > 0 {
		w.StartUntagged()
		w.Raw("VANISHED (EARLIER) ")
		w.SeqSet(uidSet(gone))
		w.CRLF()
	}
	for _, m := range ch.Updated {
		seq := v.seqOf(m.UID)
		if seq == 0 {
			continue
		}
		if !s.startFetch(seq, m.UID) {
			w.Raw("UID ")
			w.Number(uint64(m.UID))
			w.SP()
		}
		w.Raw("FLAGS ")
		w.Flags(s.flagsForClient(v.flags[seq-1], v.recent[m.UID]))
		w.Raw(" MODSEQ (")
		w.Number(uint64(v.modseqs[seq-1]))
		w.Raw("))")
		w.CRLF()
	}
	return nil
}

// deselect leaves the selected state (RFC 3501 §6.4.2, RFC 3691).
func (s *session) deselect() {
	s.dropView()
	s.saved = nil
	s.changed = false
	if s.state == stateSelected {
		s.state = stateAuthenticated
	}
}

// cmdClose: CLOSE (RFC 3501 §6.4.2): expunge \Deleted messages silently
// unless read-only, then deselect.
func (s *session) cmdClose(cmd *imap.Command) (string, error) {
	v := s.sel
	code := ""
	if !v.readOnly && s.selRights().Has(store.RightExpunge) {
		if err := v.refresh(s.ctx); err != nil {
			return "", err
		}
		if del := v.deletedUIDs(nil); len(del) > 0 {
			if _, err := v.mbox.Expunge(s.ctx, del); err != nil {
				return "", err
			}
		}
		if s.qresync {
			// RFC 7162 §3.2.7: CLOSE reports the mailbox's new
			// HIGHESTMODSEQ under QRESYNC.
			info, err := v.mbox.Info(s.ctx)
			if err != nil {
				return "", err
			}
			code = "HIGHESTMODSEQ " + utoa(uint64(info.HighestModSeq))
		}
	}
	s.deselect()
	return code, nil
}

// cmdUnselect: UNSELECT (RFC 3691): deselect without expunging.
func (s *session) cmdUnselect(cmd *imap.Command) (string, error) {
	s.deselect()
	return "", nil
}

// writeFlagsResponses writes FLAGS and PERMANENTFLAGS (RFC 3501 §7.2.6,
// §7.1) with the keywords in use; any keyword may be created (\*).
func (s *session) writeFlagsResponses(v *selectedView) {
	w := s.c.w
	keywords := make([]string, 0, len(v.announced))
	for _, k := range v.announced {
		keywords = append(keywords, k)
	}
	sort.Strings(keywords)
	w.StartUntagged()
	w.Raw("FLAGS ")
	w.Flags(append(append([]string{}, systemFlags...), keywords...))
	w.CRLF()
	if v.readOnly {
		w.WriteStatus("", "OK", "PERMANENTFLAGS ()", "Read-only mailbox")
		return
	}
	perm := append(append(append([]string{}, systemFlags...), keywords...), `\*`)
	if r := s.selRights(); !r.Has(store.RightSeen | store.RightWrite | store.RightDeleteMessage) {
		// Only the flags this user may change (RFC 4314 §4).
		perm = permittedFlags(perm, r)
	}
	w.WriteStatus("", "OK", "PERMANENTFLAGS ("+strings.Join(perm, " ")+")", "Flags permitted")
}

// announceKeywords sends FLAGS and PERMANENTFLAGS again when flags holds
// a keyword the client has not been told about, as a new keyword changes
// the mailbox's flag list (RFC 3501 §7.2.6; Dovecot does the same).
func (s *session) announceKeywords(flags []string) {
	v := s.sel
	if v == nil || v.announced == nil {
		return
	}
	fresh := false
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		if k := strings.ToLower(f); v.announced[k] == "" {
			v.announced[k] = f
			fresh = true
		}
	}
	if fresh {
		s.writeFlagsResponses(v)
	}
}

// deletedUIDs returns the UIDs with \Deleted, restricted to within when it
// is not nil.
func (v *selectedView) deletedUIDs(within map[store.UID]bool) []store.UID {
	var out []store.UID
	for i, fl := range v.flags {
		if within != nil && !within[v.uids[i]] {
			continue
		}
		if hasFlag(fl, store.FlagDeleted) && !v.pendingExpunge[v.uids[i]] {
			out = append(out, v.uids[i])
		}
	}
	// Messages that arrived (a peer's COPY of \Deleted messages) but are
	// not announced yet count too: EXPUNGE removes every \Deleted message
	// of the mailbox as committed (RFC 3501 §6.4.3).
	for _, m := range v.pendingNew {
		if (within == nil || within[m.UID]) && hasFlag(m.Flags, store.FlagDeleted) {
			out = append(out, m.UID)
		}
	}
	return out
}

// hasFlag reports whether flags holds f (case-insensitive, RFC 3501 §2.3.2).
func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}
