package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
)

// Reads run on the pool of read-only connections. Every statement text is
// prepared once on the pool (database/sql then prepares it lazily on each
// connection it runs on and keeps it there), so a read does not parse its
// SQL again. A read that is one statement runs without an explicit
// transaction: one statement reads one WAL snapshot. A read of several
// statements that must agree runs in readTx.

// readStmt returns query prepared on the read pool.
func (s *Store) readStmt(query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.reader.Prepare(query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// readErr maps an error of the read pool: ErrClosed once the store closes.
func (s *Store) readErr(err error) error {
	select {
	case <-s.closing:
		return store.ErrClosed
	default:
	}
	return fmt.Errorf("sqlite: %w", err)
}

// closedErr is err, or ErrClosed when the store closed under the read.
func (s *Store) closedErr(err error) error {
	if err != nil && s.isClosing() {
		return store.ErrClosed
	}
	return err
}

func (s *Store) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// readQuery runs one statement on the read pool, outside any explicit
// transaction.
func (s *Store) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s.isClosing() {
		return nil, store.ErrClosed
	}
	st, err := s.readStmt(query)
	if err != nil {
		return nil, s.readErr(err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	return rows, nil
}

// pool is the read pool as a queryer (mailboxByID and friends), one
// prepared statement per call, no explicit transaction.
type pool struct{ s *Store }

func (p pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.s.readStmt(query)
	if err != nil || p.s.isClosing() {
		// Let Row.Scan report the error.
		return p.s.reader.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// rtx is a read transaction whose statements come from the cache.
type rtx struct {
	s  *Store
	tx *sql.Tx
}

func (r *rtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.s.readStmt(query)
	if err != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

func (r *rtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.s.readStmt(query)
	if err != nil {
		return nil, err
	}
	return r.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// readTx runs fn in a read-only transaction: one consistent WAL snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *rtx) error) error {
	if s.isClosing() {
		return store.ErrClosed
	}
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.readErr(err)
	}
	defer tx.Rollback()
	return fn(&rtx{s: s, tx: tx})
}
