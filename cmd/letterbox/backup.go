package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

func init() {
	register(&command{
		name:    "backup",
		usage:   "DIR",
		summary: "copy the store, consistently, into DIR while the server runs (SQLite; PostgreSQL: pg_dump)",
		run:     backup,
	})
	register(&command{
		name:    "restore",
		usage:   "DIR",
		summary: "restore a backup made by `letterbox backup` into an empty data directory",
		run:     restore,
	})
	register(&command{
		name:    "fsck",
		usage:   "[--hash] [--repair]",
		summary: "check message files against the database; --repair removes orphaned files",
		run:     fsck,
	})
}

func backup(e *env, args []string) error {
	return withStore(e, "backup", args, 1, func(s *setup, st store.Store, pos []string) error {
		if s.cfg.Store.Driver == config.DriverPostgres {
			return fmt.Errorf("with the postgres driver every message is in the database: back it up with pg_dump")
		}
		b, ok := st.(store.Backuper)
		if !ok {
			return fmt.Errorf("this store cannot back itself up")
		}
		dir, err := filepath.Abs(pos[0])
		if err != nil {
			return err
		}
		start := time.Now()
		stats, err := b.Backup(e.ctx, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "backup in %s: %d messages, %d bodies, %d octets, %v\n", dir, stats.Messages, stats.Blobs, stats.Bytes, time.Since(start).Round(time.Millisecond))
		return nil
	})
}

func restore(e *env, args []string) error {
	fs, common := newFlagSet(e, "restore")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want 1 argument (the backup directory), got %d", len(pos))
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	if s.cfg.Store.Driver == config.DriverPostgres {
		return fmt.Errorf("with the postgres driver restore the database with pg_restore")
	}
	stats, err := sqlite.Restore(pos[0], s.dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored into %s: %d messages, %d bodies, %d octets\n", s.dataDir, stats.Messages, stats.Blobs, stats.Bytes)
	return nil
}

func fsck(e *env, args []string) error {
	fs, common := newFlagSet(e, "fsck")
	hash := fs.Bool("hash", false, "also read every body and compare it with its content address (SHA-256)")
	repair := fs.Bool("repair", false, "remove message files no database row refers to")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments expected")
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	st, err := s.openStore(e.ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	c, ok := st.(store.Checker)
	if !ok {
		return fmt.Errorf("this store has no files to check (PostgreSQL keeps bodies in the database)")
	}
	r, err := c.Check(e.ctx, *hash, *repair)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "%d messages, %d bodies, %d octets\n", r.Messages, r.Blobs, r.Bytes)
	for _, id := range r.Missing {
		fmt.Fprintf(w, "missing body %s\n", id)
	}
	for _, id := range r.Damaged {
		fmt.Fprintf(w, "damaged body %s\n", id)
	}
	if n := len(r.Missing) + len(r.Damaged); n > 0 {
		fmt.Fprintf(w, "%d bodies missing or damaged, %d messages affected: restore them from a backup\n", n, r.Affected)
	}
	switch {
	case len(r.Orphans) > 0 && r.Removed > 0:
		fmt.Fprintf(w, "%d orphaned files removed\n", r.Removed)
	case len(r.Orphans) > 0:
		fmt.Fprintf(w, "%d orphaned files (no message refers to them); --repair removes them\n", len(r.Orphans))
	}
	if len(r.Missing)+len(r.Damaged) > 0 {
		return fmt.Errorf("store damaged")
	}
	if len(r.Missing)+len(r.Damaged)+len(r.Orphans) == 0 {
		fmt.Fprintln(w, "no problems found")
	}
	return nil
}
