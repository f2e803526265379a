package postgres

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// Expunged content and its collection.
//
// An expunge (Expunge, MoveTo, Rename of INBOX, mailbox or account Delete)
// keeps each removed message's content in expunged, with the MODSEQ of its
// expunge and the database's time: a session that has not been told may
// still FETCH it (RFC 3501 §7.4.1), and Details and OpenBlob still answer.
// Each selected session holds a store.Pin of its mailbox, advanced as it
// announces expunges.
//
// Pins live in one node's memory: no node knows the pins of the others.
// So a node collects a row only when both hold:
//   - its own pins allow it: pins.Floor(mailbox) >= the row's MODSEQ;
//   - the row is older than the grace period (Options.ExpungedGrace,
//     default 10 minutes), which is what sessions on other nodes rely on.
//
// The trade-off: a session on another node that has not announced an
// expunge for longer than the grace period (an idle client that neither
// IDLEs nor sends commands) may find the content gone and get NO for its
// FETCH; a longer grace keeps bodies longer in the database. A collection
// runs on a ticker and shortly after an expunge or a pin move; it deletes
// the rows, then the blobs only they referred to (collectBlobs, which
// never removes a body a concurrent delivery reuses).

// collectDebounce is how long the collector waits after a kick, so a burst
// of pin moves makes one collection.
const collectDebounce = 50 * time.Millisecond

// HighestModSeq reads the committed HIGHESTMODSEQ (one primary-key read).
func (m *mailbox) HighestModSeq(ctx context.Context) (store.ModSeq, error) {
	q, err := m.s.db()
	if err != nil {
		return 0, err
	}
	var hms int64
	err = q.QueryRow(ctx, "SELECT highestmodseq FROM mailboxes WHERE id = $1", m.id).Scan(&hms)
	if err != nil {
		return 0, mailboxGone(err)
	}
	return store.ModSeq(hms), nil
}

// Pin registers a reader of the mailbox's expunged content on this node.
func (m *mailbox) Pin() store.Pin { return m.s.pins.Pin(m.id) }

// kickCollector asks for a collection soon; it never blocks.
func (s *Store) kickCollector() {
	select {
	case s.gcKick <- struct{}{}:
	default:
	}
}

// collectInterval is how often the collector looks for rows whose grace
// period passed.
func (s *Store) collectInterval() time.Duration {
	return min(max(s.grace/2, 50*time.Millisecond), time.Minute)
}

func (s *Store) collectLoop(ctx context.Context) {
	defer close(s.collectorDone)
	tick := time.NewTicker(s.collectInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.gcKick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(collectDebounce):
			}
		}
		if err := s.collect(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("postgres: collecting expunged content", "err", err)
		}
	}
}

// collect deletes the expunged rows older than the grace period that this
// node's pins do not hold, then the bodies only they referred to.
func (s *Store) collect(ctx context.Context) error {
	grace := s.grace.Seconds()
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT mailbox_id FROM expunged
		WHERE expunged_at < now() - make_interval(secs => $1)`, grace)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) == 0 {
		return err
	}
	// Floors are read before any SQL runs on them, never under the Pins
	// lock. A pin made after this point belongs to a session whose view
	// was read after these expunges committed: it cannot refer to them.
	floors := make([]int64, len(ids))
	for i, id := range ids {
		floors[i] = int64(min(s.pins.Floor(id), math.MaxInt64))
	}
	rows, err = s.pool.Query(ctx, `DELETE FROM expunged e USING unnest($1::bigint[], $2::bigint[]) AS f(id, floor)
		WHERE e.mailbox_id = f.id AND e.modseq <= f.floor AND e.expunged_at < now() - make_interval(secs => $3)
		RETURNING e.blob_id`, ids, floors, grace)
	if err != nil {
		return err
	}
	blobs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	s.collectBlobs(ctx, blobs)
	return nil
}

// RecentFrom reads the \Recent watermark (one primary-key read).
func (m *mailbox) RecentFrom(ctx context.Context) (store.UID, error) {
	q, err := m.s.db()
	if err != nil {
		return 0, err
	}
	var from int64
	if err := q.QueryRow(ctx, "SELECT recent_uid FROM mailboxes WHERE id = $1", m.id).Scan(&from); err != nil {
		return 0, mailboxGone(err)
	}
	return store.UID(from), nil
}

// Unclaimed implements store.RecentMarks: the account's mailboxes whose
// \Recent watermark is below UIDNEXT, in one query.
func (m *mailboxes) Unclaimed(ctx context.Context) (map[int64]bool, error) {
	q, err := m.s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT id FROM mailboxes WHERE account_id = $1 AND recent_uid < uidnext", m.acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

var _ store.RecentMarks = (*mailboxes)(nil)
