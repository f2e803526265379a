package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/postgres"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// storeOpenTimeout bounds connecting to PostgreSQL and migrating its
// schema at start-up.
const storeOpenTimeout = 30 * time.Second

// openStore opens the store [store] configures: the SQLite database in the
// data directory, or the PostgreSQL database that several nodes may share.
// serve and the user verbs both open it here, so an account added with
// `letterbox user add` lands where the servers look. The data directory is
// created either way (it holds the certificate and, for postgres, the
// default spool).
func (s *setup) openStore(ctx context.Context, log *slog.Logger) (store.Store, error) {
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, err
	}
	switch s.cfg.Store.Driver {
	case config.DriverPostgres:
		spool := s.spoolDir()
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("store.spool_dir: %w", err)
		}
		ctx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
		defer cancel()
		st, err := postgres.Open(ctx, postgres.Options{
			DSN:            s.cfg.Store.DSN,
			SpoolDir:       spool,
			MaxMessageSize: int64(s.cfg.MaxMessageSize),
			Logger:         log,
			DefaultQuota:   s.defaultQuota(),
		})
		if err != nil {
			return nil, fmt.Errorf("opening store (%s): %w", s.storeDescription(), err)
		}
		return st, nil
	default:
		// An absolute path: the driver turns it into a file: URI.
		dir, err := filepath.Abs(s.dataDir)
		if err != nil {
			return nil, err
		}
		st, err := sqlite.Open(sqlite.Options{Dir: dir, MaxMessageSize: int64(s.cfg.MaxMessageSize), Logger: log,
			DefaultQuota: s.defaultQuota()})
		if err != nil {
			return nil, fmt.Errorf("opening store in %s: %w", s.dataDir, err)
		}
		return st, nil
	}
}

// spoolDir is store.spool_dir, or DATA/spool.
func (s *setup) spoolDir() string {
	if s.cfg.Store.SpoolDir != "" {
		return s.cfg.Store.SpoolDir
	}
	return filepath.Join(s.dataDir, "spool")
}

// storeDescription names the store for messages, without the password:
// "sqlite in DIR" or "postgres user@host:port/database", plus the
// search_path when the DSN sets one.
func (s *setup) storeDescription() string {
	if s.cfg.Store.Driver != config.DriverPostgres {
		return "sqlite in " + s.dataDir
	}
	pc, err := pgconn.ParseConfig(s.cfg.Store.DSN)
	if err != nil {
		return "postgres" // config validation has reported why
	}
	d := fmt.Sprintf("postgres %s@%s:%d/%s", pc.User, pc.Host, pc.Port, pc.Database)
	if sp := pc.RuntimeParams["search_path"]; sp != "" {
		d += " (search_path " + sp + ")"
	}
	return d
}

// defaultQuota is [quota]: the limits of accounts without their own.
func (s *setup) defaultQuota() store.QuotaLimits {
	return store.QuotaLimits{Storage: int64(s.cfg.Quota.Storage), Messages: s.cfg.Quota.Messages}
}
