package sqlite

import (
	"cmp"
	"slices"
	"sort"

	"github.com/letterbox/letterbox/internal/store"
)

// The change log: Changes(since) from memory.
//
// Every selected session asks Changes after each write to its mailbox
// (its HighestModSeq probe moved), so with ten sessions on one mailbox a
// write meant ten SQL reads of what the committer had just written. The
// committer now also keeps, per mailbox that a session has pinned (is
// selected), the recent changes it committed: for each, the message's
// state after it, or its expunge. Changes(since) answers from the log when
// it covers since (since >= horizon), and from SQL otherwise.
//
// Exactness: the log is filled after the COMMIT and before the writers are
// answered, under the same lock as the in-memory HIGHESTMODSEQ, so a write
// that returned is in the log a later Changes reads. The log covers every
// change with horizon < MODSEQ <= its hms, with no gap: a new entry whose
// MODSEQ is not the log's hms+1 (a change that did not go through the log,
// or another process's) restarts it at that entry, and a log whose hms is
// not the mailbox's committed HIGHESTMODSEQ is not used (nor kept).

// logKeep is how many entries a mailbox's log keeps at least; it is
// trimmed back to that when it grows past twice as many.
var logKeep = 1024

// logNote is one committed change, noted by the write path for the log.
type logNote struct {
	mailbox int64
	uidnext store.UID // the mailbox's UIDNEXT after the change
	entry   logEntry
}

// logEntry is a message's state after a change (msg), or its expunge.
type logEntry struct {
	msg      store.Message // UID and ModSeq always; the rest unless expunged
	expunged bool
}

// changeLog holds every change of one mailbox with horizon < MODSEQ <= hms,
// in MODSEQ order (each MODSEQ is one change).
type changeLog struct {
	horizon store.ModSeq
	hms     store.ModSeq
	uidnext store.UID
	entries []logEntry
}

// logging says whether changes of mailbox mbID are worth noting for the
// log: only while a session has it selected (asked once per batch). A
// change not noted is safe: the log then has a gap or ends below the
// committed HIGHESTMODSEQ, and is restarted or not used.
func (w *wtx) logging(mbID int64) bool {
	on, ok := w.logged[mbID]
	if !ok {
		if w.logged == nil {
			w.logged = make(map[int64]bool)
		}
		on = w.s.pins.Floor(mbID) != store.NoPin
		w.logged[mbID] = on
	}
	return on
}

// logChange notes msg's state after a change of mailbox mbID (uidnext:
// its UIDNEXT now).
func (w *wtx) logChange(mbID int64, uidnext store.UID, msg store.Message) {
	if !w.logging(mbID) {
		return
	}
	w.logs = append(w.logs, logNote{mailbox: mbID, uidnext: uidnext, entry: logEntry{msg: msg}})
}

// logExpunge notes the expunge of uid from mailbox mbID at modseq.
func (w *wtx) logExpunge(mbID int64, uidnext store.UID, uid store.UID, modseq store.ModSeq) {
	if !w.logging(mbID) {
		return
	}
	w.logs = append(w.logs, logNote{mailbox: mbID, uidnext: uidnext, entry: logEntry{msg: store.Message{UID: uid, ModSeq: modseq}, expunged: true}})
}

// applyLogs adds a committed batch's notes to the logs; called with hmsMu
// held, before the batch's HIGHESTMODSEQ notes are applied. pinned says
// which mailboxes have a session: only those get a new log.
func (s *Store) applyLogs(notes []logNote, pinned map[int64]bool) {
	for _, n := range notes {
		if !pinned[n.mailbox] {
			delete(s.logs, n.mailbox)
			continue
		}
		l := s.logs[n.mailbox]
		ms := n.entry.msg.ModSeq
		if l != nil && ms != l.hms+1 {
			l = nil // a gap: start again from here
		}
		if l == nil {
			l = &changeLog{horizon: ms - 1, hms: ms - 1}
			s.logs[n.mailbox] = l
		}
		l.entries = append(l.entries, n.entry)
		l.hms = ms
		l.uidnext = max(l.uidnext, n.uidnext)
		if len(l.entries) > 2*logKeep {
			drop := len(l.entries) - logKeep
			l.horizon = l.entries[drop-1].msg.ModSeq
			l.entries = slices.Clone(l.entries[drop:])
		}
	}
}

// dropStaleLogs forgets, after a batch, the logs of the given mailboxes
// that no longer end at the committed HIGHESTMODSEQ (hmsMu held).
func (s *Store) dropStaleLogs(ids []int64) {
	for _, id := range ids {
		if l := s.logs[id]; l != nil {
			if e := s.hms[id]; e.gone || e.hms != l.hms {
				delete(s.logs, id)
			}
		}
	}
}

// dropLog forgets mailbox id's log (no session has it selected).
func (s *Store) dropLog(id int64) {
	s.hmsMu.Lock()
	delete(s.logs, id)
	s.hmsMu.Unlock()
}

// logChanges answers Changes(since) from mailbox id's log; ok is false
// when the log does not cover since (or there is none).
func (s *Store) logChanges(id int64, since store.ModSeq) (ch store.Changes, ok bool) {
	s.hmsMu.RLock()
	defer s.hmsMu.RUnlock()
	l := s.logs[id]
	if l == nil || since < l.horizon || since > l.hms {
		// since > l.hms: the caller read a commit from the database
		// between its COMMIT and the log's update; the log is behind.
		return ch, false
	}
	if e := s.hms[id]; e.gone || e.hms != l.hms {
		return ch, false
	}
	ch = store.Changes{Updated: []store.Message{}, Expunged: []store.UID{}, HighestModSeq: l.hms, UIDNext: l.uidnext}
	first := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].msg.ModSeq > since })
	tail := l.entries[first:]
	// The latest entry of each UID is its state now: walk backwards and
	// take each UID the first time it shows up.
	var seen map[store.UID]bool
	if len(tail) > 8 {
		seen = make(map[store.UID]bool, len(tail))
	}
	taken := func(u store.UID) bool {
		if seen != nil {
			if seen[u] {
				return true
			}
			seen[u] = true
			return false
		}
		if slices.Contains(ch.Expunged, u) || slices.ContainsFunc(ch.Updated, func(m store.Message) bool { return m.UID == u }) {
			return true
		}
		return false
	}
	for i := len(tail) - 1; i >= 0; i-- {
		e := &tail[i]
		if taken(e.msg.UID) {
			continue
		}
		if e.expunged {
			ch.Expunged = append(ch.Expunged, e.msg.UID)
		} else {
			ch.Updated = append(ch.Updated, e.msg)
		}
	}
	slices.SortFunc(ch.Updated, func(a, b store.Message) int { return cmp.Compare(a.UID, b.UID) })
	slices.Sort(ch.Expunged)
	return ch, true
}
