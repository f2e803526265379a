package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Expunged content and its collection.
//
// An expunge (Expunge, MoveTo, Rename of INBOX, mailbox or account Delete)
// moves each message's row into expunged, with the MODSEQ of its expunge,
// instead of dropping it: a session that has not been told yet may still
// FETCH the message by sequence number (RFC 3501 §7.4.1), and Details and
// OpenBlob must still answer. Each selected session holds a store.Pin of
// its mailbox and advances it as it announces expunges.
//
// Collection runs on the committer goroutine, as its own job, after
// collectDelay (so a burst of expunges and pin moves makes one run):
//
//  1. for each mailbox that had an expunge or whose pins moved, read
//     pins.Floor (no SQL under the Pins lock: Floor returns first);
//  2. with the blob lock held, in one transaction: delete the expunged rows
//     whose MODSEQ m satisfies floor >= m, then delete the blobs rows among
//     theirs that no message and no remaining expunged row refers to;
//  3. after the commit, still under the lock, remove those blobs' files.
//
// Placing a blob (a delivery) and removing one both run on the committer
// goroutine and, across processes, under blobs/.lock, taken before
// SQLite's write lock. So a delivery of the same content either comes first
// (its committed message row keeps the blob) or after (the file is gone,
// it places its own), never in between.

// hmsEntry is the cached HIGHESTMODSEQ of a mailbox; gone marks a deleted
// one (IDs are never reused, so it stays gone).
type hmsEntry struct {
	hms  store.ModSeq
	gone bool
}

// applyCommitted updates the HIGHESTMODSEQ cache (values only rise) and
// the change logs after a commit, under one lock.
func (s *Store) applyCommitted(notes []hmsNote, logs []logNote) {
	if len(notes) == 0 && len(logs) == 0 {
		return
	}
	// Which mailboxes have a session, asked before hmsMu is taken.
	var pinned map[int64]bool
	for _, n := range logs {
		if _, ok := pinned[n.mailbox]; !ok {
			if pinned == nil {
				pinned = make(map[int64]bool)
			}
			pinned[n.mailbox] = s.pins.Floor(n.mailbox) != store.NoPin
		}
	}
	s.hmsMu.Lock()
	defer s.hmsMu.Unlock()
	s.applyLogs(logs, pinned)
	touched := make([]int64, 0, len(notes)+len(pinned))
	for id := range pinned {
		touched = append(touched, id)
	}
	for _, n := range notes {
		touched = append(touched, n.id)
		e := s.hms[n.id]
		if n.gone {
			e.gone = true
			delete(s.logs, n.id)
			s.forgetRecent(n.id)
		} else if n.hms > e.hms {
			e.hms = n.hms
		}
		s.hms[n.id] = e
	}
	s.dropStaleLogs(touched)
}

// cachedHMS returns the cached entry of mailbox id.
func (s *Store) cachedHMS(id int64) (hmsEntry, bool) {
	s.hmsMu.RLock()
	defer s.hmsMu.RUnlock()
	e, ok := s.hms[id]
	return e, ok
}

// learnHMS caches a value read from the database. The read may be older
// than a commit the committer already cached, so the higher value wins.
func (s *Store) learnHMS(id int64, e hmsEntry) hmsEntry {
	s.hmsMu.Lock()
	defer s.hmsMu.Unlock()
	cur, ok := s.hms[id]
	if ok {
		cur.gone = cur.gone || e.gone
		cur.hms = max(cur.hms, e.hms)
		e = cur
	}
	s.hms[id] = e
	return e
}

// HighestModSeq answers from memory: the committer sets a mailbox's value
// right after each commit, before it answers the writers, so a write that
// returned is always reflected. A mailbox not seen since Open is read once
// from the database.
func (m *mailbox) HighestModSeq(ctx context.Context) (store.ModSeq, error) {
	select {
	case <-m.s.closing:
		return 0, store.ErrClosed
	default:
	}
	e, ok := m.s.cachedHMS(m.id)
	if !ok {
		var hms int64
		err := pool{m.s}.QueryRowContext(ctx, "SELECT highestmodseq FROM mailboxes WHERE id = ?", m.id).Scan(&hms)
		err = m.s.closedErr(err)
		switch {
		case err == sql.ErrNoRows:
			e = hmsEntry{gone: true}
		case err != nil:
			return 0, err
		default:
			e = hmsEntry{hms: store.ModSeq(hms)}
		}
		e = m.s.learnHMS(m.id, e)
	}
	if e.gone {
		return 0, store.ErrNoSuchMailbox
	}
	return e.hms, nil
}

// Pin registers a reader of the mailbox's expunged content.
func (m *mailbox) Pin() store.Pin { return m.s.pins.Pin(m.id) }

// triggerCollect schedules a collection for the given mailboxes after
// collectDelay, unless one is scheduled already. Safe from any goroutine;
// never blocks.
func (s *Store) triggerCollect(ids ...int64) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	for _, id := range ids {
		s.gcPending[id] = struct{}{}
	}
	if s.gcArmed {
		return
	}
	s.gcArmed = true
	time.AfterFunc(s.collectDelay, func() {
		select {
		case s.gcKick <- struct{}{}:
		default:
		}
	})
}

// collectAllLater schedules every mailbox that has expunged content (at
// Open, when no other process has the store open).
func (s *Store) collectAllLater() error {
	rows, err := s.writer.Query("SELECT DISTINCT mailbox_id FROM expunged")
	if err != nil {
		return err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) > 0 {
		s.triggerCollect(ids...)
	}
	return nil
}

// collect runs one collection on the committer goroutine.
func (s *Store) collect() {
	s.gcMu.Lock()
	pending := s.gcPending
	s.gcPending = make(map[int64]struct{})
	s.gcArmed = false
	s.gcMu.Unlock()
	if len(pending) == 0 {
		return
	}
	ids := make([]int64, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	floors := make([]int64, len(ids))
	for i, id := range ids {
		f := s.pins.Floor(id)
		if f == store.NoPin {
			// No session has the mailbox selected: its change log goes.
			s.dropLog(id)
		}
		if f > math.MaxInt64 {
			f = math.MaxInt64
		}
		floors[i] = int64(f)
	}
	if _, err := s.collectRows(ids, floors); err != nil {
		s.log.Warn("collecting expunged content", "err", err)
		// Try again later; nothing was removed.
		s.triggerCollect(ids...)
	}
}

// collectRows deletes the expunged rows no pin holds and the blobs only
// they referred to, then those blobs' files, all under the blob lock. It
// returns the blobs removed.
func (s *Store) collectRows(ids, floors []int64) ([]string, error) {
	if err := s.blobLock.Lock(); err != nil {
		return nil, err
	}
	defer s.blobLock.Unlock()
	ctx := context.Background()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var candidates []string
	for i, id := range ids {
		rows, err := tx.QueryContext(ctx, "DELETE FROM expunged WHERE mailbox_id = ? AND modseq <= ? RETURNING blob_id", id, floors[i])
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, err
			}
			candidates = append(candidates, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(candidates) == 0 {
		return nil, tx.Commit()
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	js, err := json.Marshal(candidates)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `DELETE FROM blobs WHERE id IN (SELECT value FROM json_each(?))
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = blobs.id)
		AND NOT EXISTS (SELECT 1 FROM expunged e WHERE e.blob_id = blobs.id)
		AND NOT EXISTS (SELECT 1 FROM outbound q WHERE q.blob_id = blobs.id)
		RETURNING id`, string(js))
	if err != nil {
		return nil, err
	}
	var gone []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		gone = append(gone, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	// The rows are gone for good; a crash before the files go leaves
	// unreferenced files, harmless (replaced if the content comes back).
	if s.removeHook != nil {
		s.removeHook()
	}
	for _, id := range gone {
		if err := s.fs.Remove(s.blobPath(id)); err != nil && !isNotExist(err) {
			s.log.Warn("removing unreferenced blob", "blob", id, "err", err)
		}
	}
	return gone, nil
}
