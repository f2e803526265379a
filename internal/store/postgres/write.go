package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/letterbox/letterbox/internal/store"
)

// Writes run in READ COMMITTED transactions and serialise per mailbox on
// the mailbox row: every operation that changes a mailbox's messages
// first locks that row (UPDATE ... RETURNING when it allocates a UID and
// MODSEQ, SELECT ... FOR UPDATE otherwise) and keeps the lock until
// COMMIT. That makes UID and MODSEQ allocation, StoreFlags'
// read-compute-write and ClaimRecent atomic across goroutines and nodes.
//
// There is no group commit here: PostgreSQL's COMMIT is durable when it
// returns (synchronous_commit, see requireDurableCommit), concurrent
// commits already share WAL flushes inside the server, and each caller
// has its own connection.
//
// A transaction that PostgreSQL aborts because of a deadlock (two writers
// locking the same mailboxes in opposite orders), a serialization failure,
// or a foreign-key race with blob collection (see collectBlobs) is run
// again from the start, up to maxAttempts times.

const maxAttempts = 8

// wtx is the write transaction one request runs in.
type wtx struct {
	s      *Store
	ctx    context.Context
	tx     pgx.Tx
	events []event // notified just before COMMIT
	// expunged: the transaction kept expunged content; the collector is
	// woken after the commit.
	expunged bool

	token      string          // on the last notification (dispatch.go)
	dispatched <-chan struct{} // closed when the listener dispatched token
}

type event struct {
	account string
	change  store.Change
}

// publish queues a change-feed event; it is sent only if the transaction
// commits.
func (w *wtx) publish(account string, c store.Change) {
	w.events = append(w.events, event{account, c})
}

func (w *wtx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	return w.tx.Exec(w.ctx, sql, args...)
}

func (w *wtx) query(sql string, args ...any) (pgx.Rows, error) {
	return w.tx.Query(w.ctx, sql, args...)
}

func (w *wtx) queryRow(sql string, args ...any) pgx.Row {
	return w.tx.QueryRow(w.ctx, sql, args...)
}

// write runs fn in a transaction and commits, retrying on the transient
// failures listed above. fn must set its results from scratch on every
// run.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	for attempt := 1; ; attempt++ {
		if s.closed.Load() {
			return store.ErrClosed
		}
		w, err := s.writeOnce(ctx, fn)
		if err == nil {
			s.awaitDispatch(w.token, w.dispatched)
			if w.expunged {
				s.kickCollector()
			}
			return nil
		}
		if !retryable(err) || attempt == maxAttempts {
			return err
		}
		s.log.Debug("postgres: retrying write transaction", "attempt", attempt, "err", err)
		// Back off a little, randomly, so the writers that collided do not
		// collide again.
		d := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(w *wtx) error) (*wtx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	w := &wtx{s: s, ctx: ctx, tx: tx}
	if err := runRecovered(func() error { return fn(w) }); err != nil {
		return nil, err
	}
	if err := w.notify(); err != nil {
		s.dropToken(w.token)
		return nil, fmt.Errorf("postgres: notify: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		s.dropToken(w.token)
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return w, nil
}

// notify sends the queued events with one statement; they are delivered
// at COMMIT, in this order.
func (w *wtx) notify() error {
	if len(w.events) == 0 {
		return nil
	}
	w.token, w.dispatched = w.s.newToken()
	payloads := make([]string, len(w.events))
	for i, e := range w.events {
		token := ""
		if i == len(w.events)-1 {
			token = w.token
		}
		payloads[i] = encodePayload(e.account, e.change, token)
	}
	_, err := w.exec("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", w.s.channel, payloads)
	return err
}

// savepoint runs fn inside a SAVEPOINT; when fn fails its writes and
// events are undone and its error returned.
func (w *wtx) savepoint(fn func() error) error {
	outer := w.tx
	sp, err := outer.Begin(w.ctx)
	if err != nil {
		return err
	}
	nevents := len(w.events)
	w.tx = sp
	err = runRecovered(fn)
	w.tx = outer
	if err != nil {
		w.events = w.events[:nevents]
		if rerr := sp.Rollback(w.ctx); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	return sp.Commit(w.ctx)
}

// retryable reports the failures that are worth running a transaction
// again for: deadlock_detected, serialization_failure and
// foreign_key_violation (a body collected between our check and our
// insert; the next run stores it again).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40P01", "40001", "23503":
		return true
	}
	return false
}

// runRecovered turns a panic in a write request into its error.
func runRecovered(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("postgres: write request panicked: %v", r)
		}
	}()
	return fn()
}
