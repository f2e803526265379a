package sqlite

import (
	"context"
	"sync"

	"github.com/letterbox/letterbox/internal/store"
)

// \Recent (RFC 3501 §2.3.2) is per-session state: a message is \Recent in
// the one session that first saw it. The watermark that hands each UID to
// exactly one session lives in memory (recentMark): claiming is a read of
// the UIDs above the mark and a move of the mark under its mutex, never a
// write through the committer. The mark is copied into
// mailboxes.recent_uid by the next batch that commits anyway and at Close,
// so STATUS in another process and the next start see it; a crash can lose
// a move, and the messages above the persisted mark are then \Recent
// again after the restart, which RFC 3501 allows (a new server session).

// recentMark is one mailbox's \Recent watermark: messages with
// uid >= uid are unclaimed. loaded is false until the persisted value was
// read.
type recentMark struct {
	mu     sync.Mutex
	loaded bool
	uid    int64
}

// recentOf returns mailbox id's mark, creating an unloaded one.
func (s *Store) recentOf(id int64) *recentMark {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	rm := s.recent[id]
	if rm == nil {
		rm = &recentMark{}
		s.recent[id] = rm
	}
	return rm
}

// recentWatermark is the in-memory mark of mailbox id, 0 when not known
// (the persisted one then applies).
func (s *Store) recentWatermark(id int64) int64 {
	s.recentMu.Lock()
	rm := s.recent[id]
	s.recentMu.Unlock()
	if rm == nil {
		return 0
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.uid
}

// forgetRecent drops the mark of a deleted mailbox (IDs are never reused).
func (s *Store) forgetRecent(id int64) {
	s.recentMu.Lock()
	delete(s.recent, id)
	delete(s.recentDirty, id)
	s.recentMu.Unlock()
}

// markRecentDirty queues mailbox id's mark to be persisted.
func (s *Store) markRecentDirty(id, uid int64) {
	s.recentMu.Lock()
	if uid > s.recentDirty[id] {
		s.recentDirty[id] = uid
	}
	s.recentMu.Unlock()
}

// hasRecentDirty says whether marks wait to be persisted.
func (s *Store) hasRecentDirty() bool {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	return len(s.recentDirty) > 0
}

// takeRecentDirty returns and clears the marks to persist.
func (s *Store) takeRecentDirty() map[int64]int64 {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	if len(s.recentDirty) == 0 {
		return nil
	}
	d := s.recentDirty
	s.recentDirty = make(map[int64]int64)
	return d
}

// persistRecent writes the moved marks in the committer's transaction (in
// its own savepoint: a failure puts them back for the next batch and does
// not fail the batch). The persisted mark never moves back.
func (w *wtx) persistRecent() {
	dirty := w.s.takeRecentDirty()
	if len(dirty) == 0 {
		return
	}
	err := w.savepoint(func() error {
		for id, uid := range dirty {
			if _, err := w.exec("UPDATE mailboxes SET recent_uid = MAX(recent_uid, ?) WHERE id = ?", uid, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.s.log.Warn("persisting \\Recent watermarks", "err", err)
		w.s.requeueRecent(dirty)
		return
	}
	w.recentPersisted = dirty
}

// requeueRecent puts marks whose write did not commit back in the queue.
func (s *Store) requeueRecent(marks map[int64]int64) {
	for id, uid := range marks {
		s.markRecentDirty(id, uid)
	}
}

// ClaimRecent returns the UIDs that arrived since the last claim and moves
// the watermark past them, so exactly one caller gets each (RFC 3501
// §2.3.2). Claiming is not a change: MODSEQ does not move, and nothing
// waits for the committer.
func (m *mailbox) ClaimRecent(ctx context.Context) ([]store.UID, error) {
	rm := m.s.recentOf(m.id)
	rm.mu.Lock()
	defer rm.mu.Unlock()
	// One statement, one snapshot: the persisted mark (which also says the
	// mailbox exists), then the UIDs at or above the higher of both marks.
	rows, err := m.s.readQuery(ctx, `SELECT 0, recent_uid FROM mailboxes WHERE id = ?1
		UNION ALL
		SELECT 1, uid FROM messages WHERE mailbox_id = ?1 AND uid >= MAX(?2, (SELECT recent_uid FROM mailboxes WHERE id = ?1))
		ORDER BY 1, 2`, m.id, rm.uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.UID
	found := false
	for rows.Next() {
		var kind, v int64
		if err := rows.Scan(&kind, &v); err != nil {
			return nil, err
		}
		if kind == 0 {
			found = true
			rm.uid = max(rm.uid, v)
			continue
		}
		out = append(out, store.UID(v))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, store.ErrNoSuchMailbox
	}
	rm.loaded = true
	if len(out) > 0 {
		rm.uid = int64(out[len(out)-1]) + 1
		m.s.markRecentDirty(m.id, rm.uid)
	}
	return out, nil
}

// recentForRename is the mark INBOX's messages take with them when INBOX
// is renamed (on the committer, inside the rename's transaction): the
// higher of the persisted and the in-memory one.
func (w *wtx) recentForRename(inboxID int64) (int64, error) {
	var db int64
	if err := w.queryRow("SELECT recent_uid FROM mailboxes WHERE id = ?", inboxID).Scan(&db); err != nil {
		return 0, err
	}
	return max(db, w.s.recentWatermark(inboxID)), nil
}

// RecentFrom is the lowest unclaimed UID: the higher of the in-memory and
// the persisted mark.
func (m *mailbox) RecentFrom(ctx context.Context) (store.UID, error) {
	rm := m.s.recentOf(m.id)
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rows, err := m.s.readQuery(ctx, "SELECT recent_uid FROM mailboxes WHERE id = ?", m.id)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, err
		}
		return 0, store.ErrNoSuchMailbox
	}
	var db int64
	if err := rows.Scan(&db); err != nil {
		return 0, err
	}
	return store.UID(max(db, rm.uid)), rows.Err()
}

// Unclaimed implements store.RecentMarks: one read of every mailbox's
// persisted watermark and UIDNEXT, each watermark raised to the in-memory
// one (claims not yet persisted), as RecentFrom does.
func (m *mailboxes) Unclaimed(ctx context.Context) (map[int64]bool, error) {
	rows, err := m.s.readQuery(ctx, "SELECT id, recent_uid, uidnext FROM mailboxes WHERE account_id = ?", m.acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id, recent, next int64
		if err := rows.Scan(&id, &recent, &next); err != nil {
			return nil, err
		}
		if max(recent, m.s.recentWatermark(id)) < next {
			out[id] = true
		}
	}
	return out, rows.Err()
}

var _ store.RecentMarks = (*mailboxes)(nil)
