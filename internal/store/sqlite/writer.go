package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// All writes go through one goroutine, the committer, on the one writer
// connection. It takes every write request queued at the moment, runs each
// in its own SAVEPOINT inside a single transaction (a failing request is
// rolled back alone), syncs the blob directories the batch touched, and
// commits once: one WAL fsync for the whole batch (group commit). Only then
// are the requests answered and their change-feed events published, in
// commit order. Serialising writes here is also what makes
// read-modify-write operations (StoreFlags, UID allocation) race-free.

// maxBatch bounds how many write requests share one transaction.
const maxBatch = 256

// job is one write request.
type job struct {
	fn   func(w *wtx) error
	err  error
	done chan struct{}
	// blobs: the request may place a blob file; its batch runs under the
	// cross-process blob lock.
	blobs bool
}

// wtx is the write transaction a job runs in.
type wtx struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context

	events   []event             // published after commit
	syncDirs map[string]struct{} // blob directories to fsync before commit
	// newDirs are fan-out directories whose names this batch syncs: known
	// to exist durably once it commits (placeBlob).
	newDirs []string
	// placed lists blobs given their content address in this batch
	// (placeBlob); if the batch fails, those no committed blobs row names
	// are removed again.
	placed []string
	// hms lists the HIGHESTMODSEQ values the batch commits, applied to the
	// in-memory cache right after the commit (HighestModSeq).
	hms []hmsNote
	// logs are the batch's changes for the change logs (changelog.go).
	logs   []logNote
	logged map[int64]bool // see logging
	// collect lists mailboxes that got expunged content to collect later.
	collect []int64
	// recentPersisted are the \Recent marks this batch writes; requeued
	// when it fails.
	recentPersisted map[int64]int64
	// removeAfterCommit lists blob files whose rows the batch deleted
	// (a queued message dropped, queue.go); removed after the commit,
	// under the blob lock.
	removeAfterCommit []string
	// journaled lists the blobs whose bytes this batch put in the blob
	// journal (journal.go): the flusher syncs their files after commit.
	journaled []string
	// counts are the batch's changes to the STATUS counts
	// (statuscounts.go), applied after the commit.
	counts []countNote
}

// hmsNote is one mailbox's HIGHESTMODSEQ after a change; gone marks a
// deleted mailbox.
type hmsNote struct {
	id   int64
	hms  store.ModSeq
	gone bool
}

// noteHMS records that mailbox id's HIGHESTMODSEQ is hms once the batch
// commits.
func (w *wtx) noteHMS(id int64, hms store.ModSeq) {
	w.hms = append(w.hms, hmsNote{id: id, hms: hms})
}

// noteExpunged records that mailbox id has expunged content to collect
// after the commit.
func (w *wtx) noteExpunged(id int64) { w.collect = append(w.collect, id) }

type event struct {
	account string
	change  store.Change
}

// publish queues a change-feed event for after the commit; the MODSEQ it
// carries is the mailbox's HIGHESTMODSEQ, noted for the cache too.
func (w *wtx) publish(account string, c store.Change) {
	w.events = append(w.events, event{account, c})
	if c.Kind == store.SubscriptionChanged {
		return // no mailbox, no HIGHESTMODSEQ
	}
	if c.Kind == store.MailboxDeleted {
		w.hms = append(w.hms, hmsNote{id: c.MailboxID, gone: true})
	} else {
		w.noteHMS(c.MailboxID, c.ModSeq)
	}
}

// exec, query and queryRow run a statement in the write transaction. Every
// statement text is prepared once on the writer connection and reused
// (only the committer goroutine touches the cache).
func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(w.ctx, args...)
}

func (w *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(w.ctx, args...)
}

func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	st, err := w.stmt(query)
	if err != nil {
		// Let Row.Scan report the error.
		return w.tx.QueryRowContext(w.ctx, query, args...)
	}
	return st.QueryRowContext(w.ctx, args...)
}

// QueryRowContext makes the write transaction a queryer (mailboxByID and
// friends) using the statement cache.
func (w *wtx) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return w.queryRow(query, args...)
}

// stmt returns query as a statement of the transaction. A text seen for the
// first time is prepared on the transaction (the writer's one connection
// is busy with it) and queued to be prepared on the connection for good
// after the commit (prepareNew).
func (w *wtx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.s.stmts[query]; ok {
		return w.tx.StmtContext(w.ctx, st), nil
	}
	if w.s.unprepared == nil {
		w.s.unprepared = make(map[string]bool)
	}
	w.s.unprepared[query] = true
	return w.tx.PrepareContext(w.ctx, query)
}

// prepareNew prepares the statements first used by the last batch on the
// writer connection, outside any transaction.
func (s *Store) prepareNew() {
	for q := range s.unprepared {
		st, err := s.writer.Prepare(q)
		if err != nil {
			s.log.Warn("preparing statement", "err", err)
			continue
		}
		s.stmts[q] = st
	}
	clear(s.unprepared)
}

// savepoint runs fn inside a SAVEPOINT; when fn fails its writes and events
// are undone and its error returned.
func (w *wtx) savepoint(fn func() error) error {
	if _, err := w.exec("SAVEPOINT sp"); err != nil {
		return err
	}
	nevents, nhms, nlogs, nremove := len(w.events), len(w.hms), len(w.logs), len(w.removeAfterCommit)
	njournaled, ncounts := len(w.journaled), len(w.counts)
	if err := runRecovered(fn); err != nil {
		w.events, w.hms, w.logs = w.events[:nevents], w.hms[:nhms], w.logs[:nlogs]
		w.removeAfterCommit = w.removeAfterCommit[:nremove]
		w.journaled = w.journaled[:njournaled]
		w.counts = w.counts[:ncounts]
		if _, rerr := w.exec("ROLLBACK TO sp"); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		if _, rerr := w.exec("RELEASE sp"); rerr != nil {
			return fmt.Errorf("%w (release: %v)", err, rerr)
		}
		return err
	}
	_, err := w.exec("RELEASE sp")
	return err
}

// write queues fn and waits until the batch it ran in committed. The
// caller's ctx only bounds the wait to be queued: once queued, the request
// runs and is committed or failed as a whole.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.queue(ctx, &job{fn: fn, done: make(chan struct{})})
}

// writeBlobs is write for a request that may place a blob file: its batch
// holds the cross-process blob lock.
func (s *Store) writeBlobs(ctx context.Context, fn func(w *wtx) error) error {
	return s.queue(ctx, &job{fn: fn, done: make(chan struct{}), blobs: true})
}

func (s *Store) queue(ctx context.Context, j *job) error {
	// closeMu makes "not closed, so queue" atomic with respect to Close:
	// every job queued before Close is run by the committer's final drain.
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	select {
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	case s.jobs <- j:
	}
	s.closeMu.RUnlock()
	<-j.done
	return j.err
}

func (s *Store) commitLoop() {
	defer close(s.stopped)
	for {
		var first *job
		select {
		case first = <-s.jobs:
		case <-s.gcKick:
			s.collect()
			continue
		case <-s.closing:
			// Answer whatever was queued before Close, then persist the
			// \Recent marks no batch took along.
			for {
				select {
				case j := <-s.jobs:
					s.runBatch([]*job{j})
				default:
					if s.hasRecentDirty() {
						s.runBatch([]*job{{fn: func(*wtx) error { return nil }, done: make(chan struct{})}})
					}
					return
				}
			}
		}
		batch := []*job{first}
	collect:
		for len(batch) < maxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		batch = s.groupWait(batch)
		s.runBatch(batch)
	}
}

// groupWaitMax bounds how long a batch waits for deliveries still being
// spooled (groupWait).
const groupWaitMax = 500 * time.Microsecond

// groupWait lets batch wait, at most groupWaitMax, for the deliveries
// being spooled meanwhile, so they share its commit. Every commit writes
// the last leaf page of each table and index a delivery touches (about
// ten) and syncs the WAL once: at 1.8 deliveries per commit, which
// is what four LMTP senders made without waiting, those pages were half
// of the WAL frames a delivery cost.
func (s *Store) groupWait(batch []*job) []*job {
	if len(batch) >= maxBatch || s.spooling.Load() == 0 {
		return batch
	}
	t := time.NewTimer(groupWaitMax)
	defer t.Stop()
	for len(batch) < maxBatch && s.spooling.Load() > 0 {
		select {
		case j := <-s.jobs:
			batch = append(batch, j)
		case <-t.C:
			return batch
		}
	}
	return batch
}

func (s *Store) runBatch(batch []*job) {
	start := time.Now()
	defer func() { s.busy.Add(int64(time.Since(start))) }()
	ctx := context.Background()
	w := &wtx{s: s, ctx: ctx, syncDirs: map[string]struct{}{}}
	// A batch that may place blob files holds the blob lock from before
	// its transaction until its failure cleanup is done: the lock is always
	// taken before SQLite's write lock, by every process.
	for _, j := range batch {
		if j.blobs {
			if err := s.blobLock.Lock(); err != nil {
				for _, j := range batch {
					j.err = fmt.Errorf("sqlite: %w", err)
					close(j.done)
				}
				return
			}
			defer s.blobLock.Unlock()
			break
		}
	}
	// A failed batch cleans up before answering: a writer that got its
	// error must not find a file of its failed delivery still there.
	fail := func(err error) {
		s.cleanupBlobs(w.placed)
		s.requeueRecent(w.recentPersisted)
		for _, j := range batch {
			if j.err == nil {
				j.err = err
			}
			close(j.done)
		}
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	w.tx = tx
	if len(batch) == 1 {
		// Alone in its batch, a request needs no SAVEPOINT of its own
		// (two statements less, and no statement journal for the pages
		// it changes): if it fails, the whole transaction goes.
		j := batch[0]
		if err := runRecovered(func() error { return j.fn(w) }); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	} else {
		for _, j := range batch {
			j.err = w.savepoint(func() error { return j.fn(w) })
		}
	}
	w.persistRecent()
	// The blob files this batch refers to were synced by their writers;
	// their directory entries are synced here, once per directory, before
	// the rows naming them commit.
	if err := s.syncDirs(w.syncDirs); err != nil {
		tx.Rollback()
		fail(fmt.Errorf("sqlite: sync blob directory: %w", err))
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	for _, d := range w.newDirs {
		s.knownDirs.Store(d, struct{}{})
	}
	for _, id := range w.removeAfterCommit {
		if err := s.fs.Remove(s.blobPath(id)); err != nil && !isNotExist(err) {
			s.log.Warn("removing unreferenced blob", "blob", id, "err", err)
		}
	}
	if len(w.journaled) > 0 {
		s.noteJournaled(w.journaled)
	}
	s.batches.Add(1)
	s.batchedJobs.Add(int64(len(batch)))
	if s.commitHook != nil {
		s.commitHook()
	}
	// HIGHESTMODSEQ and the change logs first, then the feed, then the
	// callers: once a writer returned, HighestModSeq, Changes and every
	// watcher see its change.
	s.applyCommitted(w.hms, w.logs)
	s.statusCounts.apply(w.counts, w.hms)
	for _, e := range w.events {
		s.feed.Publish(e.account, e.change)
	}
	for _, j := range batch {
		close(j.done)
	}
	s.prepareNew()
	if len(w.collect) > 0 {
		s.triggerCollect(w.collect...)
	}
}

// maxParallelDirSyncs bounds the directory fsyncs in flight. A batch
// touches up to one fan-out directory per new blob; syncing them
// concurrently lets the file system share one journal commit among them
// instead of paying one per directory.
const maxParallelDirSyncs = 16

// syncDirs fsyncs every directory in dirs, concurrently; the blobs
// directory itself (a new fan-out directory's name) goes last so its child
// exists durably first. It returns the first error.
func (s *Store) syncDirs(dirs map[string]struct{}) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, maxParallelDirSyncs)
	for dir := range dirs {
		if dir == s.blobDir {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.fs.SyncDir(dir); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if _, ok := dirs[s.blobDir]; ok {
		return s.fs.SyncDir(s.blobDir)
	}
	return nil
}

// cleanupBlobs removes the files of blobs placed by a failed batch that no
// committed row refers to. It runs on the committer goroutine under the
// blob lock, so no delivery (of this process or another) can be placing or
// reusing the same file meanwhile.
func (s *Store) cleanupBlobs(ids []string) {
	for _, id := range ids {
		var one int
		err := s.writer.QueryRow("SELECT 1 FROM blobs WHERE id = ?", id).Scan(&one)
		if err == nil {
			continue
		}
		if err != sql.ErrNoRows {
			s.log.Warn("checking blob", "blob", id, "err", err)
			continue
		}
		if err := s.fs.Remove(s.blobPath(id)); err != nil && !isNotExist(err) {
			s.log.Warn("removing unreferenced blob", "blob", id, "err", err)
		}
	}
}

// runRecovered turns a panic in a write request into its error, so one bad
// request cannot take the committer down.
func runRecovered(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write request panicked: %v", r)
		}
	}()
	return fn()
}
