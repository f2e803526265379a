package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// Each Store keeps one connection outside the pool that LISTENs on the
// store's channel and turns notifications into events on the local feed
// (see notify.go). When that connection fails it is re-established with
// backoff; notifications sent meanwhile are lost, so after reconnecting
// the listener announces MailboxChanged, with the current HIGHESTMODSEQ,
// for every mailbox of every watched account. Signals are idempotent:
// sessions answer one by asking Mailbox.Changes(since), so a spurious one
// costs a query and a missed one is impossible.

// Watch subscribes to the change feed of account (store.Watcher).
func (s *Store) Watch(account string) store.Watcher {
	account = store.NormalizeAccount(account)
	s.watchMu.Lock()
	s.watched[account]++
	s.watchMu.Unlock()
	return &watcher{Watcher: s.feed.Watch(account), s: s, account: account}
}

// watcher counts open watchers per account, for the resync after a
// reconnect.
type watcher struct {
	store.Watcher
	s       *Store
	account string
	closed  bool
}

func (w *watcher) Close() {
	w.s.watchMu.Lock()
	if !w.closed {
		w.closed = true
		if w.s.watched[w.account]--; w.s.watched[w.account] <= 0 {
			delete(w.s.watched, w.account)
		}
	}
	w.s.watchMu.Unlock()
	w.Watcher.Close()
}

func (s *Store) watchedAccounts() []string {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	out := make([]string, 0, len(s.watched))
	for a := range s.watched {
		out = append(out, a)
	}
	return out
}

// connectListener opens the LISTEN connection.
func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenTo.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	s.listenerPID.Store(conn.PgConn().PID())
	return conn, nil
}

// How often and how patiently a quiet LISTEN connection is checked (a
// variable so tests can shorten it).
var listenPingInterval = 30 * time.Second

const listenPingTimeout = 10 * time.Second

// Reconnect backoff bounds.
const (
	listenBackoffMin = 50 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// listen runs until ctx is cancelled (Close).
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.listenerDone)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			s.dispatch(ctx, n.Payload)
		}
		if err == nil {
			continue
		}
		if ctx.Err() == nil && wctx.Err() != nil {
			// A quiet period: make sure the connection is alive, since a
			// half-open TCP connection would otherwise wait forever.
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err == nil {
				continue
			}
		}
		s.setListening(false)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: change-feed listener lost its connection; reconnecting", "err", err)
		if conn = s.reconnect(ctx); conn == nil {
			return
		}
		s.setListening(true)
		s.resync(ctx)
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// reconnect retries until it has a listening connection, or returns nil
// once ctx is cancelled.
func (s *Store) reconnect(ctx context.Context) *pgx.Conn {
	backoff := listenBackoffMin
	for {
		if hook := s.reconnectHook.Load(); hook != nil {
			(*hook)()
		}
		conn, err := s.connectListener(ctx)
		if err == nil {
			s.log.Info("postgres: change-feed listener reconnected")
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("postgres: change-feed listener cannot reconnect", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// dispatch publishes one notification on the local feed.
func (s *Store) dispatch(ctx context.Context, payload string) {
	account, c, token, err := decodePayload(payload)
	defer s.dispatched(token)
	if err != nil {
		s.log.Warn("postgres: ignoring notification", "payload", payload, "err", err)
		return
	}
	if c.Mailbox == "" && c.Kind != store.MailboxDeleted && c.MailboxID != 0 {
		// The name did not fit in the payload.
		if err := s.pool.QueryRow(ctx, "SELECT name FROM mailboxes WHERE id = $1", c.MailboxID).Scan(&c.Mailbox); err != nil {
			s.log.Debug("postgres: mailbox name of a notification", "mailbox", c.MailboxID, "err", err)
		}
	}
	if c.Kind == store.MailboxChanged {
		if floor, ok := s.resyncFloor[c.MailboxID]; ok {
			if c.ModSeq <= floor {
				// Committed before the resync read the mailbox, and
				// already announced by it: keep the feed in commit order.
				return
			}
			delete(s.resyncFloor, c.MailboxID)
		}
	}
	s.feed.Publish(account, c)
}

// resync announces every mailbox of the watched accounts as changed.
func (s *Store) resync(ctx context.Context) {
	s.resyncFloor = map[int64]store.ModSeq{}
	accounts := s.watchedAccounts()
	if len(accounts) == 0 {
		return
	}
	rows, err := s.pool.Query(ctx, `SELECT a.name, m.id, m.name, m.highestmodseq
		FROM mailboxes m JOIN accounts a ON a.id = m.account_id WHERE a.name = ANY($1) ORDER BY m.id`, accounts)
	if err != nil {
		s.log.Warn("postgres: change-feed resync", "err", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var account string
		var c store.Change
		var hms int64
		if err := rows.Scan(&account, &c.MailboxID, &c.Mailbox, &hms); err != nil {
			s.log.Warn("postgres: change-feed resync", "err", err)
			return
		}
		c.Kind, c.ModSeq = store.MailboxChanged, store.ModSeq(hms)
		s.resyncFloor[c.MailboxID] = c.ModSeq
		s.feed.Publish(account, c)
	}
	if err := rows.Err(); err != nil {
		s.log.Warn("postgres: change-feed resync", "err", err)
	}
}
