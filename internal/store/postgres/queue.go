package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// queueMigration keeps the outbound queue (store.Queue): one outbound row
// per message (envelope, body) and one outbound_rcpts row per recipient.
// Times are Unix milliseconds, as on SQLite. The foreign key keeps a queued
// message's body; collectBlobs skips bodies outbound names. account is the
// sender's name as text: the queue outlives an account deleted meanwhile.
const queueMigration = `
CREATE TABLE outbound (
	id             bigserial PRIMARY KEY,
	account        text NOT NULL,
	mail_from      text NOT NULL,
	blob_id        text NOT NULL REFERENCES blobs(id),
	size           bigint NOT NULL,
	queued         bigint NOT NULL,
	delay_notified boolean NOT NULL DEFAULT false
);
CREATE INDEX outbound_blob ON outbound (blob_id);
CREATE TABLE outbound_rcpts (
	outbound_id  bigint NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,
	idx          integer NOT NULL,
	address      text NOT NULL,
	state        integer NOT NULL DEFAULT 0,
	attempts     integer NOT NULL DEFAULT 0,
	next_attempt bigint NOT NULL,
	last_attempt bigint NOT NULL DEFAULT 0,
	last_error   text NOT NULL DEFAULT '',
	remote_mta   text NOT NULL DEFAULT '',
	tls          boolean NOT NULL DEFAULT false,
	PRIMARY KEY (outbound_id, idx)
);
CREATE INDEX outbound_rcpts_due ON outbound_rcpts (state, next_attempt);
`

// queueDSNMigration keeps the DSN parameters of RFC 3461 (RET and ENVID
// of a message, NOTIFY and ORCPT of a recipient) in tables of their own,
// as on SQLite; a message without them has no rows there.
const queueDSNMigration = `
CREATE TABLE outbound_dsn (
	outbound_id bigint PRIMARY KEY REFERENCES outbound(id) ON DELETE CASCADE,
	ret         text NOT NULL DEFAULT '',
	envid       text NOT NULL DEFAULT ''
);
CREATE TABLE outbound_rcpt_dsn (
	outbound_id bigint NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,
	idx         integer NOT NULL,
	notify      text NOT NULL DEFAULT '',
	orcpt       text NOT NULL DEFAULT '',
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

// Enqueue implements store.Queue: the body goes into the database as
// Deliver's does, and the rows commit with it.
func (s *Store) Enqueue(ctx context.Context, body io.Reader, account, from string, rcpts []string) (store.OutboundMessage, error) {
	return s.EnqueueEnvelope(ctx, body, store.EnvelopeOf(account, from, rcpts))
}

// EnqueueEnvelope implements store.Queue.
func (s *Store) EnqueueEnvelope(ctx context.Context, body io.Reader, env store.Envelope) (store.OutboundMessage, error) {
	account, from, rcpts := env.Account, env.From, env.Rcpts
	if len(rcpts) == 0 {
		return store.OutboundMessage{}, errors.New("postgres: enqueue without recipients")
	}
	if s.closed.Load() {
		return store.OutboundMessage{}, store.ErrClosed
	}
	account = store.NormalizeAccount(account)
	tmp, err := blobfs.Spool(body, blobfs.SpoolOptions{FS: s.fs, Dir: s.spoolDir, Pattern: "letterbox-out-*", Max: s.maxSize, Verbatim: store.IsVerbatim(body)})
	if err != nil {
		return store.OutboundMessage{}, fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		if err := s.fs.Remove(tmp.Path); err != nil {
			s.log.Warn("postgres: removing spool file", "path", tmp.Path, "err", err)
		}
	}()
	analysis, err := blobfs.Analyze(tmp.Path, tmp.Size)
	if err != nil {
		return store.OutboundMessage{}, fmt.Errorf("postgres: %w", err)
	}
	now := fromMS(ms(s.now()))
	var msg store.OutboundMessage
	err = s.write(ctx, func(w *wtx) error {
		msg = store.OutboundMessage{Account: account, From: from, BlobID: tmp.ID, Size: tmp.Size, Queued: now, Ret: env.Ret, EnvID: env.EnvID}
		if _, err := lookupAccount(w.ctx, w.tx, account); err != nil {
			return err
		}
		if err := w.storeBlob(tmp, &analysis); err != nil {
			return err
		}
		if err := w.queryRow(`INSERT INTO outbound (account, mail_from, blob_id, size, queued) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			account, from, tmp.ID, tmp.Size, ms(now)).Scan(&msg.ID); err != nil {
			return err
		}
		if env.Ret != "" || env.EnvID != "" {
			if _, err := w.exec(`INSERT INTO outbound_dsn (outbound_id, ret, envid) VALUES ($1, $2, $3)`, msg.ID, env.Ret, env.EnvID); err != nil {
				return err
			}
		}
		for i, r := range rcpts {
			if _, err := w.exec(`INSERT INTO outbound_rcpts (outbound_id, idx, address, next_attempt) VALUES ($1, $2, $3, $4)`,
				msg.ID, i, r.Address, ms(now)); err != nil {
				return err
			}
			if r.Notify != "" || r.ORcpt != "" {
				if _, err := w.exec(`INSERT INTO outbound_rcpt_dsn (outbound_id, idx, notify, orcpt) VALUES ($1, $2, $3, $4)`,
					msg.ID, i, r.Notify, r.ORcpt); err != nil {
					return err
				}
			}
			msg.Recipients = append(msg.Recipients, store.OutboundRecipient{Address: r.Address, NextAttempt: now, Notify: r.Notify, ORcpt: r.ORcpt})
		}
		return nil
	})
	if err != nil {
		return store.OutboundMessage{}, err
	}
	return msg, nil
}

const queuedSelect = `SELECT o.id, o.account, o.mail_from, o.blob_id, o.size, o.queued, o.delay_notified,
	coalesce(d.ret, ''), coalesce(d.envid, ''),
	r.address, r.state, r.attempts, r.next_attempt, r.last_attempt, r.last_error, r.remote_mta, r.tls,
	coalesce(rd.notify, ''), coalesce(rd.orcpt, '')
	FROM outbound o JOIN outbound_rcpts r ON r.outbound_id = o.id
	LEFT JOIN outbound_dsn d ON d.outbound_id = o.id
	LEFT JOIN outbound_rcpt_dsn rd ON rd.outbound_id = r.outbound_id AND rd.idx = r.idx`

// scanQueued groups rows of queuedSelect (ordered by o.id, r.idx) into
// messages.
func scanQueued(rows pgx.Rows) ([]store.OutboundMessage, error) {
	defer rows.Close()
	var out []store.OutboundMessage
	for rows.Next() {
		var (
			m                  store.OutboundMessage
			r                  store.OutboundRecipient
			queued, next, last int64
			state, att         int32
		)
		if err := rows.Scan(&m.ID, &m.Account, &m.From, &m.BlobID, &m.Size, &queued, &m.DelayNotified, &m.Ret, &m.EnvID,
			&r.Address, &state, &att, &next, &last, &r.LastError, &r.RemoteMTA, &r.TLS, &r.Notify, &r.ORcpt); err != nil {
			return nil, err
		}
		r.State, r.Attempts = store.OutboundState(state), int(att)
		r.NextAttempt, r.LastAttempt = fromMS(next), fromMS(last)
		if n := len(out); n > 0 && out[n-1].ID == m.ID {
			out[n-1].Recipients = append(out[n-1].Recipients, r)
			continue
		}
		m.Queued = fromMS(queued)
		m.Recipients = []store.OutboundRecipient{r}
		out = append(out, m)
	}
	return out, rows.Err()
}

// QueuedMessages implements store.Queue.
func (s *Store) QueuedMessages(ctx context.Context) ([]store.OutboundMessage, error) {
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, queuedSelect+" ORDER BY o.id, r.idx")
	if err != nil {
		return nil, err
	}
	return scanQueued(rows)
}

// QueuedMessage implements store.Queue.
func (s *Store) QueuedMessage(ctx context.Context, id int64) (store.OutboundMessage, error) {
	q, err := s.db()
	if err != nil {
		return store.OutboundMessage{}, err
	}
	rows, err := q.Query(ctx, queuedSelect+" WHERE o.id = $1 ORDER BY r.idx", id)
	if err != nil {
		return store.OutboundMessage{}, err
	}
	out, err := scanQueued(rows)
	if err != nil {
		return store.OutboundMessage{}, err
	}
	if len(out) == 0 {
		return store.OutboundMessage{}, store.ErrNoSuchQueued
	}
	return out[0], nil
}

// ClaimDue implements store.Queue. The due messages are locked with FOR
// UPDATE SKIP LOCKED, so two nodes claiming at once take different ones.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if limit <= 0 {
		limit = 1
	}
	var out []store.OutboundMessage
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		rows, err := w.query(`SELECT o.id FROM outbound o
			WHERE EXISTS (SELECT 1 FROM outbound_rcpts r WHERE r.outbound_id = o.id AND r.state = 0 AND r.next_attempt <= $1)
			ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED`, ms(now), limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err = w.query(queuedSelect+" WHERE o.id = ANY($1) ORDER BY o.id, r.idx", ids)
		if err != nil {
			return err
		}
		if out, err = scanQueued(rows); err != nil {
			return err
		}
		_, err = w.exec("UPDATE outbound_rcpts SET next_attempt = $1 WHERE outbound_id = ANY($2) AND state = 0",
			ms(now.Add(lease)), ids)
		return err
	})
	return out, err
}

// NextDue implements store.Queue.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	q, err := s.db()
	if err != nil {
		return time.Time{}, false, err
	}
	var v *int64
	if err := q.QueryRow(ctx, "SELECT min(next_attempt) FROM outbound_rcpts WHERE state = 0").Scan(&v); err != nil {
		return time.Time{}, false, err
	}
	if v == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(*v), true, nil
}

// UpdateQueued implements store.Queue.
func (s *Store) UpdateQueued(ctx context.Context, id int64, updates []store.RecipientUpdate, delayNotified bool) error {
	var blob string
	err := s.write(ctx, func(w *wtx) error {
		blob = ""
		tag, err := w.exec("UPDATE outbound SET delay_notified = delay_notified OR $1 WHERE id = $2", delayNotified, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoSuchQueued
		}
		for _, u := range updates {
			att := 0
			if u.Attempted {
				att = 1
			}
			if _, err := w.exec(`UPDATE outbound_rcpts SET state = $1, next_attempt = $2, attempts = attempts + $3,
				last_attempt = CASE WHEN $4 THEN $5 ELSE last_attempt END,
				last_error = $6, remote_mta = $7, tls = $8 WHERE outbound_id = $9 AND address = $10 AND state = 0`,
				int(u.State), ms(u.NextAttempt), att, u.Attempted, ms(u.At), u.LastError, u.RemoteMTA, u.TLS,
				id, u.Address); err != nil {
				return err
			}
		}
		var pending int
		if err := w.queryRow("SELECT count(*) FROM outbound_rcpts WHERE outbound_id = $1 AND state = 0", id).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			blob, err = w.dropQueued(id)
			return err
		}
		return nil
	})
	if err == nil && blob != "" {
		s.collectBlobs(ctx, []string{blob})
	}
	return err
}

// RetryQueued implements store.Queue.
func (s *Store) RetryQueued(ctx context.Context, id int64, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		var one int
		if err := w.queryRow("SELECT 1 FROM outbound WHERE id = $1", id).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNoSuchQueued
			}
			return err
		}
		_, err := w.exec("UPDATE outbound_rcpts SET next_attempt = $1 WHERE outbound_id = $2 AND state = 0", ms(at), id)
		return err
	})
}

// DropQueued implements store.Queue.
func (s *Store) DropQueued(ctx context.Context, id int64) error {
	var blob string
	err := s.write(ctx, func(w *wtx) error {
		var err error
		blob, err = w.dropQueued(id)
		return err
	})
	if err == nil {
		s.collectBlobs(ctx, []string{blob})
	}
	return err
}

// dropQueued deletes a queued message and returns its body's ID; the body
// is collected after the commit (collectBlobs), when nothing names it.
func (w *wtx) dropQueued(id int64) (string, error) {
	var blob string
	err := w.queryRow("DELETE FROM outbound WHERE id = $1 RETURNING blob_id", id).Scan(&blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNoSuchQueued
	}
	return blob, err
}
