package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Options configures Open.
type Options struct {
	// DSN is the PostgreSQL connection string (URL or key=value form, as
	// pgx accepts it, including pgxpool's pool_max_conns; default 16 or
	// 4 per CPU). Tables live in the connection's current schema
	// (search_path), created on first Open.
	DSN string
	// SpoolDir holds incoming bodies while they are received, normalised
	// and hashed, before they are copied into the database; "" means
	// os.TempDir(). Local to the node: nothing in it outlives a delivery.
	SpoolDir string
	// MaxMessageSize refuses larger bodies with store.ErrTooLarge; 0 means
	// no limit.
	MaxMessageSize int64
	// FS is the file-system seam for the spool files; nil means
	// blobfs.OSFS.
	FS blobfs.FS
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock (default delivery time, account creation, fresh
	// UIDVALIDITY values); nil means time.Now.
	Now func() time.Time
	// ExpungedGrace is how long the content of an expunged message stays
	// at least, whatever this node's pins say: pins are only visible on
	// the node that holds them, so a session on another node relies on
	// this delay (see collect.go). 0 means DefaultExpungedGrace.
	ExpungedGrace time.Duration
	// DefaultQuota is the quota of accounts without limits of their own
	// (store.Quotas); zero values mean unlimited.
	DefaultQuota store.QuotaLimits
}

// DefaultExpungedGrace: see Options.ExpungedGrace.
const DefaultExpungedGrace = 10 * time.Minute

// Store is the PostgreSQL driver. It implements store.Store; several
// Stores (letterbox nodes) may share one database and see each other's
// changes, on the change feed too.
type Store struct {
	pool     *pgxpool.Pool
	listenTo *pgx.ConnConfig // for the LISTEN connection
	channel  string
	spoolDir string
	maxSize  int64
	fs       blobfs.FS
	log      *slog.Logger
	now      func() time.Time
	feed     *store.Feed

	closed       atomic.Bool
	closeOnce    sync.Once
	stopListener context.CancelFunc
	listenerDone chan struct{}

	watchMu sync.Mutex
	watched map[string]int // account → open watchers

	listenerPID atomic.Uint32 // backend PID of the LISTEN connection (tests)

	// Writers waiting for their events to be dispatched (dispatch.go).
	nodeID    string
	txSeq     atomic.Uint64
	waitMu    sync.Mutex
	listening bool
	waiters   map[string]chan struct{}
	// reconnectHook, when set (tests), runs before each reconnect attempt.
	reconnectHook atomic.Pointer[func()]
	// resyncFloor: per mailbox, the MODSEQ the last resync announced;
	// used by the listener goroutine only.
	resyncFloor map[int64]store.ModSeq

	// spool is this Store's claim on the spool directory.
	spool *blobfs.SpoolClaim
	// pins registers this node's sessions that may still read expunged
	// content; the collector (collect.go) runs on gcKick and a ticker.
	pins          store.Pins
	grace         time.Duration
	defaultQuota  store.QuotaLimits
	gcKick        chan struct{}
	stopCollector context.CancelFunc
	collectorDone chan struct{}
}

var _ store.Store = (*Store)(nil)

// defaultMinConns is the least pool size when the DSN sets none.
const defaultMinConns = 16

// Open connects, creates or migrates the schema, starts listening for
// changes and returns the store. ctx bounds the start-up only.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.DSN == "" {
		return nil, errors.New("postgres: Options.DSN is empty")
	}
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.AfterConnect = requireDurableCommit
	if !strings.Contains(opts.DSN, "pool_max_conns") {
		// pgxpool's default (max(4, CPUs)) is small for a mail server
		// whose sessions mostly wait on clients: connections are held
		// only for the length of a query or transaction, never across a
		// client round trip.
		cfg.MaxConns = int32(max(defaultMinConns, 4*runtime.NumCPU()))
	}
	s := &Store{
		listenTo:      cfg.ConnConfig.Copy(),
		spoolDir:      opts.SpoolDir,
		maxSize:       opts.MaxMessageSize,
		fs:            opts.FS,
		log:           opts.Logger,
		now:           opts.Now,
		feed:          store.NewFeed(),
		watched:       map[string]int{},
		nodeID:        newNodeID(),
		waiters:       map[string]chan struct{}{},
		listenerDone:  make(chan struct{}),
		grace:         opts.ExpungedGrace,
		defaultQuota:  opts.DefaultQuota,
		gcKick:        make(chan struct{}, 1),
		collectorDone: make(chan struct{}),
	}
	if s.grace <= 0 {
		s.grace = DefaultExpungedGrace
	}
	s.pins.OnMove = func(int64) { s.kickCollector() }
	if s.spoolDir == "" {
		s.spoolDir = os.TempDir()
	}
	if s.fs == nil {
		s.fs = blobfs.OSFS{}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	// Spool files a crash of this host's processes left behind go now;
	// those of a live process sharing the directory stay.
	if s.spool, err = blobfs.ClaimSpool(s.spoolDir, spoolPrefix, s.log); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if s.spool.Removed > 0 {
		s.log.Info("postgres: removed stale spool files", "count", s.spool.Removed)
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		s.spool.Release()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, s.pool); err != nil {
		s.pool.Close()
		s.spool.Release()
		return nil, fmt.Errorf("postgres: schema: %w", err)
	}
	var schema string
	if err := s.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		s.pool.Close()
		s.spool.Release()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.channel = channelFor(schema)
	conn, err := s.connectListener(ctx)
	if err != nil {
		s.pool.Close()
		s.spool.Release()
		return nil, fmt.Errorf("postgres: change-feed listener: %w", err)
	}
	s.setListening(true)
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListener = cancel
	go s.listen(lctx, conn)
	cctx, stop := context.WithCancel(context.Background())
	s.stopCollector = stop
	go s.collectLoop(cctx)
	return s, nil
}

// spoolPrefix starts the names of this driver's spool files (the spool
// directory may be shared, e.g. with IMAP literals).
const spoolPrefix = "letterbox-"

// requireDurableCommit makes sure a COMMIT that returned is on disk: when
// the server's default is synchronous_commit=off, the session turns it on
// (any other value — on, local, remote_write, remote_apply — already waits
// for the local WAL flush). Deliver's contract needs it.
func requireDurableCommit(ctx context.Context, c *pgx.Conn) error {
	var v string
	if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		return err
	}
	if v == "off" {
		_, err := c.Exec(ctx, "SET synchronous_commit = on")
		return err
	}
	return nil
}

// Close stops the listener, closes every watcher and the connection pool.
// Calls after Close fail with store.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stopCollector()
		<-s.collectorDone
		s.stopListener()
		<-s.listenerDone
		s.feed.Close()
		s.pool.Close()
		s.spool.Release()
	})
	return nil
}

// querier is what pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// read runs fn in a read-only REPEATABLE READ transaction: every query of
// fn sees one snapshot (Changes reads the mailbox, its messages and its
// tombstones consistently).
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// db returns the pool for single-statement reads, or ErrClosed.
func (s *Store) db() (querier, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	return s.pool, nil
}
