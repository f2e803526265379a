package sqlite

import (
	"context"
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

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/letterbox/letterbox/internal/store"
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
}

// Store is the SQLite driver. It implements store.Store.
type Store struct {
	dir     string
	blobDir string
	tmpDir  string
	maxSize int64
	fs      FS
	log     *slog.Logger
	now     func() time.Time

	writer *sql.DB // exactly one connection, used by the committer only
	// stmts are prepared on writer, unprepared are texts still to prepare;
	// both touched by the committer goroutine only.
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool
	reader     *sql.DB // pool for reads (WAL snapshots)
	feed       *store.Feed

	jobs      chan *job
	closeMu   sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closing   chan struct{}
	stopped   chan struct{}

	// batches and batchedJobs count committed batches and the write
	// requests in them (group-commit effectiveness, for benchmarks).
	batches, batchedJobs atomic.Int64

	// commitHook, when set (by tests), runs right after each batch commits.
	commitHook func()
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
	}
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
	s.removeStaleTemps()

	dbPath := filepath.Join(opts.Dir, "letterbox.db")
	// synchronous(FULL) with WAL: every COMMIT fsyncs the WAL, so a commit
	// that returned survives power loss. busy_timeout covers other processes
	// (the CLI) writing the same file.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	u := (&url.URL{Scheme: "file", Path: dbPath}).String()
	var err error
	s.writer, err = sql.Open("sqlite", u+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if _, err := s.writer.Exec(schema); err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("sqlite: schema: %w", err)
	}
	s.reader, err = sql.Open("sqlite", u+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.reader.SetMaxOpenConns(readerConns)
	s.reader.SetMaxIdleConns(readerConns)
	go s.commitLoop()
	return s, nil
}

// removeStaleTemps deletes blob temp files a crash left behind: nothing
// refers to them (a delivery only commits after its temp file was renamed).
func (s *Store) removeStaleTemps() {
	entries, err := os.ReadDir(s.tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(s.tmpDir, e.Name())); err != nil {
			s.log.Warn("removing stale temp blob", "name", e.Name(), "err", err)
		}
	}
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
		for _, st := range s.stmts {
			st.Close()
		}
		s.feed.Close()
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

// readTx runs fn in a read-only transaction: one consistent WAL snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case <-s.closing:
		return store.ErrClosed
	default:
	}
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		select {
		case <-s.closing:
			return store.ErrClosed
		default:
		}
		return fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
