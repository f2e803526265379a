package imapserver

import (
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdExpunge: EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
// The removed messages are announced with the other pending updates by
// execute, as EXPUNGE or, under QRESYNC, VANISHED (RFC 7162 §3.2.10).
func (s *session) cmdExpunge(cmd *imap.Command) (string, error) {
	v := s.sel
	if !s.selRights().Has(store.RightExpunge) {
		return "", errNoPerm() // a shared mailbox without e (RFC 4314 §4)
	}
	if v.readOnly {
		// Nothing may be expunged; like Dovecot, answer OK without
		// removing anything (pending updates are still sent).
		return "", nil
	}
	// Bring the view up to date first (EXPUNGE may send every kind of
	// update, RFC 3501 §7.4.1): \Deleted set or copied in by another
	// session before this command started is expunged too.
	s.pushUpdates(true)
	var within map[store.UID]bool
	if cmd.UID {
		set := cmd.Args.(*imap.ExpungeArgs).UIDs
		uids, err := s.resolveUIDs(set)
		if err != nil {
			return "", err
		}
		within = make(map[store.UID]bool, len(uids))
		for _, u := range uids {
			within[u] = true
		}
	}
	del := v.deletedUIDs(within)
	if len(del) == 0 {
		return "", nil
	}
	gone, err := v.mbox.Expunge(s.ctx, del)
	if err != nil {
		return "", err
	}
	for _, u := range gone {
		if v.seqOf(u) > 0 {
			v.pendingExpunge[u] = true
		}
	}
	if !s.condstore {
		return "", nil
	}
	// Under CONDSTORE the tagged OK carries the HIGHESTMODSEQ after the
	// expunge (RFC 7162 §3.1.10, §3.2.7): announce everything up to it now.
	s.changed = true
	s.pushUpdates(true)
	return "HIGHESTMODSEQ " + utoa(uint64(v.lastModSeq)), nil
}
