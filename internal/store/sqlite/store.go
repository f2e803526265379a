package sqlite

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Options configures Open.
type Options struct {
	// Dir is the data directory: the database is Dir/letterbox.db, message
	// bodies live under Dir/blobs. Created when missing.
	Dir string
	// MaxMessageSize refuses larger bodies with store.ErrTooLarge; 0 means
	// no limit.
	MaxMessageSize int64
	// FS is the durability seam for blob files; nil means OSFS.
	FS FS
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock (default delivery time, account creation, fresh
	// UIDVALIDITY values); nil means time.Now.
	Now func() time.Time
	// StructureCache is the byte budget of the process-wide cache of
	// stored message structures (Details); 0 means 32 MiB, negative
	// disables it.
	StructureCache int64
	// CollectDelay is how long the committer waits after an expunge or a
	// Pin moved before it collects expunged content nobody can see any
	// more, so a burst of triggers makes one collection; 0 means
	// defaultCollectDelay.
	CollectDelay time.Duration
	// DefaultQuota is the quota of accounts without limits of their own
	// (store.Quotas); zero values mean unlimited.
	DefaultQuota store.QuotaLimits
	// JournalMax: bodies of at most this many octets are made durable by
	// the commit (the blob journal, journal.go) and their files synced in
	// the background; 0 means 8 KiB, negative turns the journal off
	// (every body file is synced before its commit).
	JournalMax int64
	// journalFlushEvery overrides journalFlushEvery (tests).
	journalFlushEvery time.Duration
}

// defaultCollectDelay: see Options.CollectDelay.
const defaultCollectDelay = 100 * time.Millisecond

// Store is the SQLite driver. It implements store.Store.
type Store struct {
	dir     string
	blobDir string
	tmpDir  string
	maxSize int64
	fs      FS
	log     *slog.Logger
	now     func() time.Time

	// knownDirs holds the blob fan-out directories (blobs/xx) whose names
	// a committed batch synced: placeBlob skips their mkdir. Nothing
	// removes a fan-out directory while a store is open.
	knownDirs sync.Map
	// spool is this Store's claim on blobs/tmp (its temp file names).
	spool *blobfs.SpoolClaim
	// blobLock (blobs/.lock) is held by the committer around a batch that
	// places blob files and around a collection that removes them, so
	// another process on the same directory never removes a file this one
	// is reusing, nor the other way round (see collect.go).
	blobLock *blobfs.Lock

	// pins registers the sessions that may still read expunged content.
	pins store.Pins
	// hms caches each mailbox's committed HIGHESTMODSEQ (HighestModSeq);
	// logs are the change logs of selected mailboxes (changelog.go).
	hmsMu sync.RWMutex
	hms   map[int64]hmsEntry
	logs  map[int64]*changeLog
	// statusCounts caches the STATUS counts per mailbox (statuscounts.go).
	statusCounts statusCounts
	// recent holds the in-memory \Recent watermarks (recent.go);
	// recentDirty those moved since they were last persisted.
	recentMu    sync.Mutex
	recent      map[int64]*recentMark
	recentDirty map[int64]int64
	// Collection of expunged content: the mailboxes to look at, whether a
	// collection is due, and the committer's wake-up for it.
	collectDelay time.Duration
	defaultQuota store.QuotaLimits
	gcMu         sync.Mutex
	gcPending    map[int64]struct{}
	gcArmed      bool
	gcKick       chan struct{}

	writer *sql.DB // exactly one connection, used by the committer only
	// stmts are prepared on writer, unprepared are texts still to prepare;
	// both touched by the committer goroutine only.
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool
	reader     *sql.DB // pool for reads (WAL snapshots)
	// structs caches stored structures by blob ID (details.go).
	structs *structCache
	// bigMailboxes remembers the mailboxes Messages read in more than one
	// chunk: it reads them in a transaction from the start next time.
	bigMailboxes sync.Map // mailbox ID -> struct{}
	// readStmts caches statements prepared on reader (reads.go).
	readStmts sync.Map // string -> *sql.Stmt
	feed      *store.Feed

	jobs      chan *job
	closeMu   sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closing   chan struct{}
	stopped   chan struct{}

	// batches and batchedJobs count committed batches and the write
	// requests in them (group-commit effectiveness, for benchmarks).
	batches, batchedJobs atomic.Int64
	// spooling counts deliveries reading their body, on their way to the
	// committer (groupWait).
	spooling atomic.Int64
	// busy is the committer's time in batches (ns): what writers queue
	// behind (benchmarks).
	busy atomic.Int64

	// commitHook, when set (by tests), runs right after each batch commits.
	commitHook func()
	journal    *journal // the blob journal's flusher (journal.go)
	// detailsHook, when set (by tests), runs in Details between the read
	// of the rows and the read of the structures the cache lacks.
	detailsHook func()
	// removeHook, when set (by tests), runs in a collection between the
	// commit that deleted blobs rows and the removal of their files.
	removeHook func()
}

var _ store.Store = (*Store)(nil)

// readerConns is the size of the read pool.
const readerConns = 8

// Open opens (creating when needed) the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("sqlite: Options.Dir is empty")
	}
	s := &Store{
		dir:     opts.Dir,
		blobDir: filepath.Join(opts.Dir, "blobs"),
		tmpDir:  filepath.Join(opts.Dir, "blobs", "tmp"),
		maxSize: opts.MaxMessageSize,
		fs:      opts.FS,
		log:     opts.Logger,
		now:     opts.Now,
		feed:    store.NewFeed(),
		jobs:    make(chan *job, 1024),
		stmts:   make(map[string]*sql.Stmt),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),

		structs:      newStructCache(opts.StructureCache),
		hms:          make(map[int64]hmsEntry),
		logs:         make(map[int64]*changeLog),
		recent:       make(map[int64]*recentMark),
		recentDirty:  make(map[int64]int64),
		collectDelay: opts.CollectDelay,
		defaultQuota: opts.DefaultQuota,
		gcPending:    make(map[int64]struct{}),
		gcKick:       make(chan struct{}, 1),
		journal:      newJournal(opts.JournalMax, opts.journalFlushEvery),
	}
	if s.collectDelay <= 0 {
		s.collectDelay = defaultCollectDelay
	}
	s.pins.OnMove = func(id int64) { s.triggerCollect(id) }
	if s.fs == nil {
		s.fs = OSFS{}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Temp files a crash left behind go now; those of another process
	// using the directory (the CLI while the server runs) stay.
	var err error
	if s.spool, err = blobfs.ClaimSpool(s.tmpDir, "", s.log); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if s.spool.Removed > 0 {
		s.log.Info("removed stale temp blobs", "count", s.spool.Removed)
	}
	if s.blobLock, err = blobfs.OpenLock(filepath.Join(s.blobDir, ".lock")); err != nil {
		s.spool.Release()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	fail := func(err error) (*Store, error) {
		if s.writer != nil {
			s.writer.Close()
		}
		if s.reader != nil {
			s.reader.Close()
		}
		s.blobLock.Close()
		s.spool.Release()
		return nil, err
	}

	dbPath := filepath.Join(opts.Dir, "letterbox.db")
	// synchronous(FULL) with WAL: every COMMIT fsyncs the WAL, so a commit
	// that returned survives power loss. busy_timeout covers other processes
	// (the CLI) writing the same file.
	common := []pragma{{"busy_timeout", "10000"}, {"foreign_keys", "1"}, {"synchronous", "FULL"}}
	u := (&url.URL{Scheme: "file", Path: dbPath}).String()
	s.writer, err = sql.Open(driverName, dsn(u, true, append(common, pragma{"journal_mode", "WAL"})...))
	if err != nil {
		return fail(fmt.Errorf("sqlite: %w", err))
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if err := retryBusy(func() error {
		if _, err := s.writer.Exec(schema); err != nil {
			return fmt.Errorf("sqlite: schema: %w", err)
		}
		if err := migrate(s.writer); err != nil {
			return fmt.Errorf("sqlite: migrating schema: %w", err)
		}
		if _, err := s.writer.Exec(quotaInit); err != nil {
			return fmt.Errorf("sqlite: quota counters: %w", err)
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	s.reader, err = sql.Open(driverName, dsn(u, false, append(common, pragma{"query_only", "1"})...))
	if err != nil {
		return fail(fmt.Errorf("sqlite: %w", err))
	}
	s.reader.SetMaxOpenConns(readerConns)
	s.reader.SetMaxIdleConns(readerConns)
	if s.spool.Alone {
		// No other process has the store open and this one has no
		// session yet: no Pin anywhere holds expunged content, so what a
		// previous run left uncollected can go.
		if err := s.collectAllLater(); err != nil {
			return fail(fmt.Errorf("sqlite: %w", err))
		}
	}
	if err := s.recoverJournal(); err != nil {
		return fail(fmt.Errorf("sqlite: blob journal: %w", err))
	}
	go s.commitLoop()
	go s.flushLoop()
	return s, nil
}

// Close stops the committer after the writes already queued, closes the
// feed and the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.closing)
		<-s.stopped
		<-s.journal.stopped
		for _, st := range s.stmts {
			st.Close()
		}
		s.readStmts.Range(func(_, st any) bool {
			st.(*sql.Stmt).Close()
			return true
		})
		s.feed.Close()
		s.blobLock.Close()
		s.spool.Release()
	})
	err := s.reader.Close()
	if werr := s.writer.Close(); err == nil {
		err = werr
	}
	return err
}

// Watch subscribes to the change feed of account (store.Watcher).
func (s *Store) Watch(account string) store.Watcher {
	return s.feed.Watch(store.NormalizeAccount(account))
}

// retryBusy runs fn again while it fails with SQLITE_BUSY, for up to about
// 15 s. Two processes opening a new database at once (the server and a
// `letterbox user add`, or two of those) race to switch it to WAL and
// create the schema; SQLite answers the loser BUSY at once, without its
// busy handler, while the WAL is being set up.
func retryBusy(fn func() error) error {
	var err error
	for i := 0; i < 150; i++ {
		if err = fn(); err == nil || !isBusy(err) {
			return err
		}
		time.Sleep(time.Duration(50+i) * time.Millisecond)
	}
	return err
}

// pragma is one PRAGMA name and value that dsn (engine_*.go) applies to
// every new connection.
type pragma struct{ name, value string }
