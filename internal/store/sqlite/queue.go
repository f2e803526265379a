package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// queueSchema keeps the outbound queue (store.Queue): one outbound row per
// message (envelope, blob) and one outbound_rcpts row per recipient. Times
// are Unix milliseconds. A queued message's blob row (and file) stays while
// the message does: collection (collect.go) skips blobs outbound names.
// account is the sending account's name, kept as text: the queue outlives
// an account deleted meanwhile (its bounces then have nowhere to go).
const queueSchema = `
CREATE TABLE IF NOT EXISTS outbound (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	account        TEXT NOT NULL,
	mail_from      TEXT NOT NULL,
	blob_id        TEXT NOT NULL,
	size           INTEGER NOT NULL,
	queued         INTEGER NOT NULL,
	delay_notified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbound_blob ON outbound (blob_id);
CREATE TABLE IF NOT EXISTS outbound_rcpts (
	outbound_id  INTEGER NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,
	idx          INTEGER NOT NULL,
	address      TEXT NOT NULL,
	state        INTEGER NOT NULL DEFAULT 0,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_attempt INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	remote_mta   TEXT NOT NULL DEFAULT '',
	tls          INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (outbound_id, idx)
);
CREATE INDEX IF NOT EXISTS outbound_rcpts_due ON outbound_rcpts (state, next_attempt);
`

// queueDSNSchema keeps the DSN parameters of RFC 3461 (RET and ENVID of a
// message, NOTIFY and ORCPT of a recipient) in tables of their own, so a
// database made before them needs no migration; a message without them
// has no rows there.
const queueDSNSchema = `
CREATE TABLE IF NOT EXISTS outbound_dsn (
	outbound_id INTEGER PRIMARY KEY REFERENCES outbound(id) ON DELETE CASCADE,
	ret         TEXT NOT NULL DEFAULT '',
	envid       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS outbound_rcpt_dsn (
	outbound_id INTEGER NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,
	idx         INTEGER NOT NULL,
	notify      TEXT NOT NULL DEFAULT '',
	orcpt       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (outbound_id, idx)
);
`

var _ store.Queue = (*Store)(nil)

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// Enqueue implements store.Queue with Deliver's durability: the body is
// spooled and fsynced by the caller's goroutine, the committer places it
// under its content address, syncs the directory and commits the rows.
func (s *Store) Enqueue(ctx context.Context, body io.Reader, account, from string, rcpts []string) (store.OutboundMessage, error) {
	return s.EnqueueEnvelope(ctx, body, store.EnvelopeOf(account, from, rcpts))
}

// EnqueueEnvelope implements store.Queue.
func (s *Store) EnqueueEnvelope(ctx context.Context, body io.Reader, env store.Envelope) (store.OutboundMessage, error) {
	account, from, rcpts := env.Account, env.From, env.Rcpts
	if len(rcpts) == 0 {
		return store.OutboundMessage{}, errors.New("sqlite: enqueue without recipients")
	}
	if s.isClosing() {
		return store.OutboundMessage{}, store.ErrClosed
	}
	account = store.NormalizeAccount(account)
	tb, err := s.writeTempBlob(body)
	if err != nil {
		return store.OutboundMessage{}, err
	}
	analysis, err := structureOf(tb)
	if err != nil {
		s.fs.Remove(tb.Path)
		return store.OutboundMessage{}, err
	}
	now := s.now()
	msg := store.OutboundMessage{Account: account, From: from, BlobID: tb.ID, Size: tb.Size, Queued: now, Ret: env.Ret, EnvID: env.EnvID}
	placed := false
	err = s.writeBlobs(ctx, func(w *wtx) error {
		if _, err := w.account(account); err != nil {
			return err
		}
		if err := w.insertBlob(tb.ID, tb.Size, analysis); err != nil {
			return err
		}
		if err := w.queryRow(`INSERT INTO outbound (account, mail_from, blob_id, size, queued) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			account, from, tb.ID, tb.Size, ms(now)).Scan(&msg.ID); err != nil {
			return err
		}
		if env.Ret != "" || env.EnvID != "" {
			if _, err := w.exec(`INSERT INTO outbound_dsn (outbound_id, ret, envid) VALUES (?, ?, ?)`, msg.ID, env.Ret, env.EnvID); err != nil {
				return err
			}
		}
		msg.Recipients = msg.Recipients[:0]
		for i, r := range rcpts {
			if _, err := w.exec(`INSERT INTO outbound_rcpts (outbound_id, idx, address, next_attempt) VALUES (?, ?, ?, ?)`,
				msg.ID, i, r.Address, ms(now)); err != nil {
				return err
			}
			if r.Notify != "" || r.ORcpt != "" {
				if _, err := w.exec(`INSERT INTO outbound_rcpt_dsn (outbound_id, idx, notify, orcpt) VALUES (?, ?, ?, ?)`,
					msg.ID, i, r.Notify, r.ORcpt); err != nil {
					return err
				}
			}
			msg.Recipients = append(msg.Recipients, store.OutboundRecipient{Address: r.Address, NextAttempt: fromMS(ms(now)), Notify: r.Notify, ORcpt: r.ORcpt})
		}
		if err := w.placeBlob(tb); err != nil {
			return err
		}
		placed = true
		return nil
	})
	if !placed {
		if rerr := s.fs.Remove(tb.Path); rerr != nil && !isNotExist(rerr) {
			s.log.Warn("removing temp blob", "path", tb.Path, "err", rerr)
		}
	}
	if err != nil {
		return store.OutboundMessage{}, err
	}
	msg.Queued = fromMS(ms(now))
	return msg, nil
}

// queuedColumns reads message and recipient columns in one statement.
const queuedSelect = `SELECT o.id, o.account, o.mail_from, o.blob_id, o.size, o.queued, o.delay_notified,
	coalesce(d.ret, ''), coalesce(d.envid, ''),
	r.address, r.state, r.attempts, r.next_attempt, r.last_attempt, r.last_error, r.remote_mta, r.tls,
	coalesce(rd.notify, ''), coalesce(rd.orcpt, '')
	FROM outbound o JOIN outbound_rcpts r ON r.outbound_id = o.id
	LEFT JOIN outbound_dsn d ON d.outbound_id = o.id
	LEFT JOIN outbound_rcpt_dsn rd ON rd.outbound_id = r.outbound_id AND rd.idx = r.idx`

type rowScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
}

// scanQueued groups rows of queuedSelect (ordered by o.id, r.idx) into
// messages.
func scanQueued(rows rowScanner) ([]store.OutboundMessage, error) {
	var out []store.OutboundMessage
	for rows.Next() {
		var (
			m                         store.OutboundMessage
			r                         store.OutboundRecipient
			queued, next, last        int64
			notified, tls, state, att int64
		)
		if err := rows.Scan(&m.ID, &m.Account, &m.From, &m.BlobID, &m.Size, &queued, &notified, &m.Ret, &m.EnvID,
			&r.Address, &state, &att, &next, &last, &r.LastError, &r.RemoteMTA, &tls, &r.Notify, &r.ORcpt); err != nil {
			return nil, err
		}
		r.State, r.Attempts, r.TLS = store.OutboundState(state), int(att), tls != 0
		r.NextAttempt, r.LastAttempt = fromMS(next), fromMS(last)
		if n := len(out); n > 0 && out[n-1].ID == m.ID {
			out[n-1].Recipients = append(out[n-1].Recipients, r)
			continue
		}
		m.Queued, m.DelayNotified = fromMS(queued), notified != 0
		m.Recipients = []store.OutboundRecipient{r}
		out = append(out, m)
	}
	return out, rows.Err()
}

// QueuedMessages implements store.Queue.
func (s *Store) QueuedMessages(ctx context.Context) ([]store.OutboundMessage, error) {
	rows, err := s.readQuery(ctx, queuedSelect+" ORDER BY o.id, r.idx")
	if err != nil {
		return nil, s.closedErr(err)
	}
	defer rows.Close()
	out, err := scanQueued(rows)
	return out, s.closedErr(err)
}

// QueuedMessage implements store.Queue.
func (s *Store) QueuedMessage(ctx context.Context, id int64) (store.OutboundMessage, error) {
	rows, err := s.readQuery(ctx, queuedSelect+" WHERE o.id = ? ORDER BY r.idx", id)
	if err != nil {
		return store.OutboundMessage{}, s.closedErr(err)
	}
	defer rows.Close()
	out, err := scanQueued(rows)
	if err != nil {
		return store.OutboundMessage{}, s.closedErr(err)
	}
	if len(out) == 0 {
		return store.OutboundMessage{}, store.ErrNoSuchQueued
	}
	return out[0], nil
}

// ClaimDue implements store.Queue: one write on the committer, so two
// claims never overlap.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if limit <= 0 {
		limit = 1
	}
	var out []store.OutboundMessage
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		rows, err := w.query(`SELECT outbound_id FROM outbound_rcpts WHERE state = 0 AND next_attempt <= ?
			GROUP BY outbound_id ORDER BY min(next_attempt), outbound_id LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			rows, err := w.query(queuedSelect+" WHERE o.id = ? ORDER BY r.idx", id)
			if err != nil {
				return err
			}
			ms1, err := scanQueued(rows)
			rows.Close()
			if err != nil {
				return err
			}
			if _, err := w.exec(`UPDATE outbound_rcpts SET next_attempt = ? WHERE outbound_id = ? AND state = 0`,
				ms(now.Add(lease)), id); err != nil {
				return err
			}
			out = append(out, ms1...)
		}
		return nil
	})
	return out, err
}

// NextDue implements store.Queue.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	err := pool{s}.QueryRowContext(ctx, "SELECT min(next_attempt) FROM outbound_rcpts WHERE state = 0").Scan(&v)
	if err != nil {
		return time.Time{}, false, s.closedErr(err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(v.Int64), true, nil
}

// UpdateQueued implements store.Queue.
func (s *Store) UpdateQueued(ctx context.Context, id int64, updates []store.RecipientUpdate, delayNotified bool) error {
	return s.writeBlobs(ctx, func(w *wtx) error {
		res, err := w.exec("UPDATE outbound SET delay_notified = max(delay_notified, ?) WHERE id = ?", delayNotified, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNoSuchQueued
		}
		for _, u := range updates {
			att := 0
			if u.Attempted {
				att = 1
			}
			if _, err := w.exec(`UPDATE outbound_rcpts SET state = ?, next_attempt = ?, attempts = attempts + ?,
				last_attempt = CASE WHEN ? THEN ? ELSE last_attempt END,
				last_error = ?, remote_mta = ?, tls = ? WHERE outbound_id = ? AND address = ? AND state = 0`,
				int(u.State), ms(u.NextAttempt), att, u.Attempted, ms(u.At), u.LastError, u.RemoteMTA, u.TLS,
				id, u.Address); err != nil {
				return err
			}
		}
		var pending int
		if err := w.queryRow("SELECT count(*) FROM outbound_rcpts WHERE outbound_id = ? AND state = 0", id).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			return w.dropQueued(id)
		}
		return nil
	})
}

// RetryQueued implements store.Queue.
func (s *Store) RetryQueued(ctx context.Context, id int64, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		var one int
		if err := w.queryRow("SELECT 1 FROM outbound WHERE id = ?", id).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNoSuchQueued
			}
			return err
		}
		_, err := w.exec("UPDATE outbound_rcpts SET next_attempt = ? WHERE outbound_id = ? AND state = 0", ms(at), id)
		return err
	})
}

// DropQueued implements store.Queue.
func (s *Store) DropQueued(ctx context.Context, id int64) error {
	return s.writeBlobs(ctx, func(w *wtx) error { return w.dropQueued(id) })
}

// dropQueued deletes a queued message and, when nothing else names it,
// its blob row; the file goes after the commit (removeAfterCommit), still
// under the blob lock the request's batch holds.
func (w *wtx) dropQueued(id int64) error {
	var blob string
	err := w.queryRow("DELETE FROM outbound WHERE id = ? RETURNING blob_id", id).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNoSuchQueued
	}
	if err != nil {
		return err
	}
	var gone string
	err = w.queryRow(`DELETE FROM blobs WHERE id = ?
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = blobs.id)
		AND NOT EXISTS (SELECT 1 FROM expunged e WHERE e.blob_id = blobs.id)
		AND NOT EXISTS (SELECT 1 FROM outbound q WHERE q.blob_id = blobs.id)
		RETURNING id`, blob).Scan(&gone)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("sqlite: dropping queued blob: %w", err)
	}
	w.removeAfterCommit = append(w.removeAfterCommit, strings.Clone(gone))
	return nil
}
