package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// The blob journal: small bodies made durable by the commit, files synced
// later.
//
// A delivery used to wait for three fsyncs in a row: its blob file, the
// blob's directory, and the WAL at commit. Group commit shares the last
// two across a batch, but every delivery still paid its own file fsync
// before it could join a batch, and at a few concurrent senders (LMTP from
// one MTA) that latency, not CPU, bounded throughput (issue 7).
//
// A body of at most Options.JournalMax octets (8 KiB by default: most
// text mail) is now written to its file without fsync and its bytes also go
// into blob_journal in the same transaction as its rows. The WAL fsync at
// commit makes the message durable: after a crash the journal still has
// the bytes. The file is renamed into place before commit as before, so
// readers (FETCH, RETR) read files as always and never the journal.
//
// A flusher goroutine fsyncs journaled files and their directories (or the
// whole file system at once, with syncfs on Linux) in the background
// (every journalFlushEvery, or sooner when many are pending) and then
// deletes their journal rows. At Open, under the blob lock, every
// journal row whose blob still exists is checked against its file, which
// is rewritten from the journal when it is missing or differs, synced,
// and the row deleted. A journal row is only ever deleted after its file
// was synced, or when no blob row refers to it any more.

const journalSchema = `
CREATE TABLE IF NOT EXISTS blob_journal (
	id   TEXT PRIMARY KEY,
	data BLOB NOT NULL
) WITHOUT ROWID;
`

// defaultJournalMax: see Options.JournalMax. Each journaled byte is
// written three times more (WAL, checkpoint, the row's delete), which costs
// more CPU than a file fsync saves once bodies grow:
// BenchmarkDeliverSizes, 4 concurrent senders, deliveries/s with / without
// the journal: 4 KB 843-873 / 810-813, 16 KB 555-624 / 631-632, 49 KB
// 426-433 / 551-554. Serial delivery of small bodies gains most (2 KB:
// 148 → 380/s), so the bound sits between 4 and 16 KB.
const defaultJournalMax = 8 << 10

// journalFlushEvery is how often the flusher looks; journalFlushBatch
// pending bodies wake it sooner.
const (
	journalFlushEvery = 500 * time.Millisecond
	journalFlushBatch = 256
)

// journal is the flusher's state.
type journal struct {
	max     int64 // bodies up to this size are journaled; 0: none
	mu      sync.Mutex
	pending []string // committed journaled blob IDs, not yet flushed
	every   time.Duration
	kick    chan struct{}
	stopped chan struct{}
}

func newJournal(max int64, every time.Duration) *journal {
	if every <= 0 {
		every = journalFlushEvery
	}
	switch {
	case max == 0:
		max = defaultJournalMax
	case max < 0:
		max = 0
	}
	return &journal{max: max, every: every, kick: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// journalBlob records t's bytes in the journal inside the transaction.
func (w *wtx) journalBlob(t tempBlob) error {
	if _, err := w.exec("INSERT OR IGNORE INTO blob_journal (id, data) VALUES (?, ?)", t.ID, t.Data); err != nil {
		return fmt.Errorf("sqlite: blob journal: %w", err)
	}
	w.journaled = append(w.journaled, t.ID)
	return nil
}

// noteJournaled hands a committed batch's journaled IDs to the flusher.
func (s *Store) noteJournaled(ids []string) {
	j := s.journal
	j.mu.Lock()
	j.pending = append(j.pending, ids...)
	n := len(j.pending)
	j.mu.Unlock()
	if n >= journalFlushBatch {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
}

// flushLoop runs until the store closes. What is pending then stays in
// the journal and is flushed by the next Open.
func (s *Store) flushLoop() {
	j := s.journal
	defer close(j.stopped)
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		case <-j.kick:
		}
		if err := s.flushJournal(); err != nil {
			s.log.Warn("blob journal flush failed; retrying", "err", err)
		}
	}
}

// flushJournal syncs the pending journaled files and their directories and
// then deletes their journal rows. On failure the IDs stay pending.
func (s *Store) flushJournal() error {
	j := s.journal
	j.mu.Lock()
	ids := j.pending
	j.pending = nil
	j.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	requeue := func(err error) error {
		j.mu.Lock()
		j.pending = append(j.pending, ids...)
		j.mu.Unlock()
		return err
	}
	var synced, gone []string
	dirs := map[string]struct{}{s.blobDir: {}}
	// Each file is fsynced, then the directories. Where the file system
	// can be synced whole (syncfs on Linux), each file is only looked up
	// and one call at the end makes every file and directory durable: an
	// fsync of each file and of each fan-out directory was two of a small
	// delivery's three fsyncs.
	check, finish := syncFile, func() error { return s.syncDirs(dirs) }
	if syncer, ok := s.fs.(blobfs.FSSyncer); ok {
		check, finish = s.mustExist, func() error { return syncer.SyncFS(s.blobDir) }
	}
	for _, id := range ids {
		switch err := check(s.blobPath(id)); {
		case err == nil:
			synced = append(synced, id)
			dirs[s.blobDirOf(id)] = struct{}{}
		case isNotExist(err):
			gone = append(gone, id) // collected meanwhile, or never placed
		default:
			return requeue(err)
		}
	}
	if err := finish(); err != nil {
		return requeue(err)
	}
	// The fan-out directories' names are durable now too (the parent was
	// synced after they were made): placeBlob may skip their mkdir.
	for d := range dirs {
		if d != s.blobDir {
			s.knownDirs.Store(d, struct{}{})
		}
	}
	err := s.write(context.Background(), func(w *wtx) error {
		for _, id := range synced {
			if _, err := w.exec("DELETE FROM blob_journal WHERE id = ?", id); err != nil {
				return err
			}
		}
		// A file that is not there may only lose its journal row when
		// no blob row names it.
		for _, id := range gone {
			if _, err := w.exec("DELETE FROM blob_journal WHERE id = ? AND NOT EXISTS (SELECT 1 FROM blobs WHERE id = ?)", id, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return requeue(err)
	}
	return nil
}

// mustExist is nil when the file at path exists, an fs.ErrNotExist error
// when it does not.
func (s *Store) mustExist(path string) error {
	ok, err := s.fs.Exists(path)
	if err == nil && !ok {
		err = &os.PathError{Op: "stat", Path: path, Err: os.ErrNotExist}
	}
	return err
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// recoverJournal runs at Open, before any write: every journal row whose
// blob exists gets its file checked, rewritten from the journal when
// missing or different, and synced; then the rows read are deleted (those
// without a blob too). Rows another process adds meanwhile are left to it.
func (s *Store) recoverJournal() error {
	if err := s.blobLock.Lock(); err != nil {
		return err
	}
	defer s.blobLock.Unlock()
	rows, err := s.writer.Query("SELECT j.id, j.data, b.id IS NOT NULL FROM blob_journal j LEFT JOIN blobs b ON b.id = j.id")
	if err != nil {
		return err
	}
	type entry struct {
		id   string
		data []byte
		live bool
	}
	var ents []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.id, &e.data, &e.live); err != nil {
			rows.Close()
			return err
		}
		ents = append(ents, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ents) == 0 {
		return err
	}
	dirs := map[string]struct{}{s.blobDir: {}}
	rewritten := 0
	for _, e := range ents {
		if !e.live || !blobfs.ValidID(e.id) {
			continue
		}
		path := s.blobPath(e.id)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, e.data) {
			if err := syncFile(path); err != nil {
				return err
			}
		} else {
			if err := s.rewriteBlob(e.id, e.data); err != nil {
				return err
			}
			rewritten++
		}
		dirs[s.blobDirOf(e.id)] = struct{}{}
	}
	if err := s.syncDirs(dirs); err != nil {
		return err
	}
	tx, err := s.writer.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, e := range ents {
		if _, err := tx.Exec("DELETE FROM blob_journal WHERE id = ? AND data = ?", e.id, e.data); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.log.Info("blob journal recovered", "bodies", len(ents), "rewritten", rewritten)
	return nil
}

// rewriteBlob writes data as blob id's file: a synced temp file renamed
// into place.
func (s *Store) rewriteBlob(id string, data []byte) error {
	f, err := s.fs.CreateTemp(s.tmpDir, "journal-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if merr := s.fs.Mkdir(s.blobDirOf(id)); merr != nil && !errors.Is(merr, os.ErrExist) {
			err = merr
		}
	}
	if err == nil {
		err = s.fs.Rename(f.Name(), s.blobPath(id))
	}
	if err != nil {
		s.fs.Remove(f.Name())
		return fmt.Errorf("sqlite: rewriting body %s from the journal: %w", id, err)
	}
	return nil
}
