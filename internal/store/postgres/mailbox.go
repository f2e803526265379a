package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// mailbox implements store.Mailbox on one mailbox ID.
type mailbox struct {
	s   *Store
	acc store.Account
	id  int64
}

// uidArgs converts UIDs for a bigint[] parameter.
func uidArgs(uids []store.UID) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}

func dateOf(unix int64, offset int32) time.Time {
	return time.Unix(unix, 0).In(time.FixedZone("", int(offset)))
}

// Flags are stored as one space-separated string (flags never contain
// white space: store.NormalizeFlags drops such entries).
func joinFlags(f []string) string { return strings.Join(f, " ") }

func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

func (m *mailbox) Info(ctx context.Context) (store.MailboxInfo, error) {
	q, err := m.s.db()
	if err != nil {
		return store.MailboxInfo{}, err
	}
	return mailboxByID(ctx, q, m.id)
}

const messageColumns = "uid, modseq, flags, internaldate, tzoffset, size, blob_id"

func scanMessage(r pgx.Row, extra ...any) (store.Message, error) {
	var msg store.Message
	var uid, modseq, date int64
	var off int32
	var flags string
	dest := append([]any{&uid, &modseq, &flags, &date, &off, &msg.Size, &msg.BlobID}, extra...)
	if err := r.Scan(dest...); err != nil {
		return msg, err
	}
	msg.UID = store.UID(uid)
	msg.ModSeq = store.ModSeq(modseq)
	msg.Flags = splitFlags(flags)
	msg.InternalDate = dateOf(date, off)
	return msg, nil
}

func queryMessages(ctx context.Context, q querier, sql string, args ...any) ([]store.Message, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Message, error) { return scanMessage(r) })
	if out == nil && err == nil {
		out = []store.Message{}
	}
	return out, err
}

// Messages lists the mailbox in ascending UID order.
func (m *mailbox) Messages(ctx context.Context) ([]store.Message, error) {
	var out []store.Message
	err := m.s.read(ctx, func(tx pgx.Tx) error {
		if _, err := mailboxByID(ctx, tx, m.id); err != nil {
			return err
		}
		var err error
		out, err = queryMessages(ctx, tx, "SELECT "+messageColumns+" FROM messages WHERE mailbox_id = $1 ORDER BY uid", m.id)
		return err
	})
	return out, err
}

// Details returns the given messages with their stored structure: live
// messages, and for UIDs no longer live the content kept for sessions that
// may still FETCH them (collect.go), from one snapshot.
func (m *mailbox) Details(ctx context.Context, uids []store.UID) ([]store.MessageDetail, error) {
	out := []store.MessageDetail{}
	err := m.s.read(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		if _, err := mailboxByID(ctx, tx, m.id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT m.uid, m.modseq, m.flags, m.internaldate, m.tzoffset, m.size, m.blob_id, b.structure,
					m.email_id, m.thread_id, m.savedate
				FROM messages m JOIN blobs b ON b.id = m.blob_id
				WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])
			UNION ALL
			SELECT e.uid, e.msg_modseq, e.flags, e.internaldate, e.tzoffset, e.size, e.blob_id, b.structure,
					e.email_id, e.thread_id, e.savedate
				FROM expunged e JOIN blobs b ON b.id = e.blob_id
				WHERE e.mailbox_id = $1 AND e.uid = ANY($2::bigint[])
				AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.mailbox_id = e.mailbox_id AND x.uid = e.uid)
			ORDER BY 1`, m.id, uidArgs(uids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d store.MessageDetail
			var email, thread, saved int64
			if d.Message, err = scanMessage(rows, &d.Structure, &email, &thread, &saved); err != nil {
				return err
			}
			d.EmailID, d.ThreadID, d.SaveDate = store.FormatEmailID(email), store.FormatThreadID(thread), savedOf(saved)
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// Changes reports messages with MODSEQ > since and UIDs expunged after it
// (RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.10 VANISHED), from one snapshot.
func (m *mailbox) Changes(ctx context.Context, since store.ModSeq) (store.Changes, error) {
	var ch store.Changes
	err := m.s.read(ctx, func(tx pgx.Tx) error {
		mi, err := mailboxByID(ctx, tx, m.id)
		if err != nil {
			return err
		}
		ch = store.Changes{HighestModSeq: mi.HighestModSeq, UIDNext: mi.UIDNext}
		ch.Updated, err = queryMessages(ctx, tx, "SELECT "+messageColumns+" FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
			m.id, int64(since))
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT uid FROM tombstones WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", m.id, int64(since))
		if err != nil {
			return err
		}
		ch.Expunged, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UID, error) {
			var u int64
			err := r.Scan(&u)
			return store.UID(u), err
		})
		if ch.Expunged == nil {
			ch.Expunged = []store.UID{}
		}
		return err
	})
	return ch, err
}

// ClaimRecent returns the UIDs that arrived since the last claim and moves
// the watermark past them, under the mailbox row lock, so exactly one
// caller on any node gets each (RFC 3501 §2.3.2). Claiming is not a
// change: MODSEQ does not move.
func (m *mailbox) ClaimRecent(ctx context.Context) ([]store.UID, error) {
	var out []store.UID
	err := m.s.write(ctx, func(w *wtx) error {
		out = nil
		var recent, uidnext int64
		if err := w.queryRow("SELECT recent_uid, uidnext FROM mailboxes WHERE id = $1 FOR UPDATE", m.id).Scan(&recent, &uidnext); err != nil {
			if err == pgx.ErrNoRows {
				return store.ErrNoSuchMailbox
			}
			return err
		}
		rows, err := w.query("SELECT uid FROM messages WHERE mailbox_id = $1 AND uid >= $2 ORDER BY uid", m.id, recent)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UID, error) {
			var u int64
			err := r.Scan(&u)
			return store.UID(u), err
		})
		if err != nil {
			return err
		}
		_, err = w.exec("UPDATE mailboxes SET recent_uid = $1 WHERE id = $2", uidnext, m.id)
		return err
	})
	return out, err
}

// StoreFlags changes flags in one transaction (RFC 3501 §6.4.6, RFC 7162
// §3.1.3 UNCHANGEDSINCE). The mailbox row is locked first, so the flags
// read are the flags replaced even with writers on other nodes. Each
// message whose flags change takes its own new MODSEQ (ascending with
// UID), so HIGHESTMODSEQ rises by the number of messages changed.
func (m *mailbox) StoreFlags(ctx context.Context, uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, error) {
	var res store.StoreResult
	err := m.s.write(ctx, func(w *wtx) error {
		mi, err := w.lockMailbox(m.id)
		if err != nil {
			return err
		}
		rows, err := w.query("SELECT uid, modseq, flags FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid",
			m.id, uidArgs(uids))
		if err != nil {
			return err
		}
		cur, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.FlagUpdate, error) {
			var uid, modseq int64
			var flags string
			err := r.Scan(&uid, &modseq, &flags)
			return store.FlagUpdate{UID: store.UID(uid), ModSeq: store.ModSeq(modseq), Flags: splitFlags(flags)}, err
		})
		if err != nil {
			return err
		}
		var hms store.ModSeq
		res, hms = store.PlanStore(cur, op, flags, unchangedSince, mi.HighestModSeq)
		var upUIDs, upModSeqs []int64
		var upFlags []string
		var upSeen, upDeleted []bool
		for _, u := range res.Updated {
			upUIDs = append(upUIDs, int64(u.UID))
			upModSeqs = append(upModSeqs, int64(u.ModSeq))
			upFlags = append(upFlags, joinFlags(u.Flags))
			upSeen = append(upSeen, slices.Contains(u.Flags, store.FlagSeen))
			upDeleted = append(upDeleted, slices.Contains(u.Flags, store.FlagDeleted))
		}
		if len(upUIDs) == 0 {
			return nil
		}
		if _, err := w.exec(`UPDATE messages m SET flags = u.flags, seen = u.seen, deleted = u.deleted, modseq = u.modseq
			FROM unnest($2::bigint[], $3::text[], $4::boolean[], $5::boolean[], $6::bigint[]) AS u(uid, flags, seen, deleted, modseq)
			WHERE m.mailbox_id = $1 AND m.uid = u.uid`,
			m.id, upUIDs, upFlags, upSeen, upDeleted, upModSeqs); err != nil {
			return err
		}
		if _, err := w.exec("UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2", int64(hms), m.id); err != nil {
			return err
		}
		w.publish(m.acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: m.id, Mailbox: mi.Name, ModSeq: hms})
		return nil
	})
	return res, err
}

// Expunge removes messages, leaving a tombstone per UID with the MODSEQ of
// its removal (one change per message).
func (m *mailbox) Expunge(ctx context.Context, uids []store.UID) ([]store.UID, error) {
	var out []store.UID
	err := m.s.write(ctx, func(w *wtx) error {
		mi, err := w.lockMailbox(m.id)
		if err != nil {
			return err
		}
		out, err = w.expunge(m.acc, mi, uids)
		return err
	})
	return out, err
}

// expunge deletes the messages of mi (locked by the caller) with the given
// UIDs and returns the UIDs removed, ascending. Each leaves a tombstone and
// its content in expunged, with the next MODSEQ (in UID order).
func (w *wtx) expunge(acc store.Account, mi store.MailboxInfo, uids []store.UID) ([]store.UID, error) {
	rows, err := w.query(`WITH gone AS (
			DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING *
		), kept AS (
			INSERT INTO expunged (mailbox_id, uid, modseq, msg_modseq, flags, internaldate, tzoffset, size, blob_id,
				email_id, thread_id, savedate)
			SELECT mailbox_id, uid, $3 + row_number() OVER (ORDER BY uid), modseq, flags, internaldate, tzoffset, size, blob_id,
				email_id, thread_id, savedate
			FROM gone
			ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq, msg_modseq = excluded.msg_modseq,
				flags = excluded.flags, internaldate = excluded.internaldate, tzoffset = excluded.tzoffset,
				size = excluded.size, blob_id = excluded.blob_id, expunged_at = now(),
				email_id = excluded.email_id, thread_id = excluded.thread_id, savedate = excluded.savedate
		)
		SELECT uid FROM gone ORDER BY uid`,
		mi.ID, uidArgs(uids), int64(mi.HighestModSeq))
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []store.UID{}, nil
	}
	out := make([]store.UID, len(ids))
	for i, u := range ids {
		out[i] = store.UID(u)
	}
	// addTombstones numbers the MODSEQs the same way: HIGHESTMODSEQ + i
	// in UID order.
	hms, err := w.addTombstones(mi, ids)
	if err != nil {
		return nil, err
	}
	w.expunged = true
	w.publish(acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: mi.ID, Mailbox: mi.Name, ModSeq: hms})
	return out, nil
}

// CopyTo copies messages to dest keeping flags and INTERNALDATE; each copy
// is an append in dest (next UID, next MODSEQ). RFC 4315 COPYUID data is
// returned.
func (m *mailbox) CopyTo(ctx context.Context, uids []store.UID, dest string) (store.CopyResult, error) {
	return m.copyOrMove(ctx, uids, dest, false)
}

// MoveTo copies then expunges in one transaction (RFC 6851 §3.3).
func (m *mailbox) MoveTo(ctx context.Context, uids []store.UID, dest string) (store.CopyResult, error) {
	return m.copyOrMove(ctx, uids, dest, true)
}

func (m *mailbox) copyOrMove(ctx context.Context, uids []store.UID, dest string, move bool) (store.CopyResult, error) {
	dest, err := store.NormalizeMailbox(dest)
	if err != nil {
		return store.CopyResult{}, err
	}
	var res store.CopyResult
	err = m.s.write(ctx, func(w *wtx) error {
		res = store.CopyResult{}
		if _, err := mailboxByID(w.ctx, w.tx, m.id); err != nil {
			return err
		}
		dst, err := mailboxByName(w.ctx, w.tx, m.acc.ID, dest)
		if err != nil {
			return err
		}
		// Lock both in ID order, as every writer locking two does.
		for _, id := range []int64{min(m.id, dst.ID), max(m.id, dst.ID)} {
			if _, err := w.lockMailbox(id); err != nil {
				return err
			}
		}
		// The copies keep the identity of their originals (RFC 8474
		// §5.1) and are saved now (RFC 8514 §1).
		rows, err := w.query("SELECT "+messageColumns+", email_id, thread_id FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid",
			m.id, uidArgs(uids))
		if err != nil {
			return err
		}
		var msgs []store.Message
		var ids []objectIDs
		now := w.s.now()
		for rows.Next() {
			id := objectIDs{saved: now}
			msg, err := scanMessage(rows, &id.email, &id.thread)
			if err != nil {
				rows.Close()
				return err
			}
			msgs, ids = append(msgs, msg), append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res.UIDValidity = dst.UIDValidity
		res.SourceUIDs = []store.UID{}
		res.DestUIDs = []store.UID{}
		if len(msgs) == 0 {
			return nil
		}
		added, last, err := w.appendMessages(dst.ID, msgs, ids)
		if err != nil {
			return err
		}
		// COPY adds to the account's usage; MOVE within it does not and is
		// never refused for quota (RFC 9208 §4.1; Dovecot does the same).
		if !move {
			if err := w.checkQuota(m.acc.ID); err != nil {
				return err
			}
		}
		for i, msg := range msgs {
			res.SourceUIDs = append(res.SourceUIDs, msg.UID)
			res.DestUIDs = append(res.DestUIDs, added[i])
		}
		w.publish(m.acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: dst.ID, Mailbox: dst.Name, ModSeq: last})
		if move {
			// Reread: when moving into the same mailbox the copies took
			// new MODSEQs already, and expunge continues after them.
			src, err := mailboxByID(w.ctx, w.tx, m.id)
			if err != nil {
				return err
			}
			if _, err := w.expunge(m.acc, src, res.SourceUIDs); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}
