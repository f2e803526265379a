package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// mailbox implements store.Mailbox on one mailbox ID.
type mailbox struct {
	s   *Store
	acc store.Account
	id  int64
}

// uidsJSON encodes UIDs as a JSON array for json_each(): one statement for
// any number of UIDs.
func uidsJSON(uids []store.UID) string {
	b := make([]byte, 0, 2+len(uids)*6)
	b = append(b, '[')
	for i, u := range uids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(u), 10)
	}
	return string(append(b, ']'))
}

// zones caches one *time.Location per UTC offset: listing 100k messages
// must not make 100k zones.
var zones sync.Map // int64 offset -> *time.Location

func dateOf(unix, offset int64) time.Time {
	return time.Unix(unix, 0).In(zoneOf(offset))
}

func zoneOf(offset int64) *time.Location {
	loc, ok := zones.Load(offset)
	if !ok {
		loc, _ = zones.LoadOrStore(offset, time.FixedZone("", int(offset)))
	}
	return loc.(*time.Location)
}

// Info reads the mailbox row: one prepared statement.
func (m *mailbox) Info(ctx context.Context) (store.MailboxInfo, error) {
	if m.s.isClosing() {
		return store.MailboxInfo{}, store.ErrClosed
	}
	mi, err := mailboxByID(ctx, pool{m.s}, m.id)
	return mi, m.s.closedErr(err)
}

// exists tells an empty answer from a deleted mailbox: it runs only when
// a one-statement read found no rows (a message row exists only while its
// mailbox does).
func (m *mailbox) exists(ctx context.Context) error {
	_, err := m.Info(ctx)
	return err
}

const messageColumns = "uid, modseq, flags, internaldate, tzoffset, size, blob_id"

// messageScanner reads rows of messageColumns (then extra) into messages.
// One scanner serves every row of a result: its destinations are
// allocated once, not per row, and the zone of the last offset is kept.
type messageScanner struct {
	uid, modseq, date, off int64
	size                   int64
	flags, blobID          string
	dest                   []any
	lastOff                int64
	lastLoc                *time.Location
}

func newMessageScanner(extra ...any) *messageScanner {
	ms := &messageScanner{}
	ms.dest = append([]any{&ms.uid, &ms.modseq, &ms.flags, &ms.date, &ms.off, &ms.size, &ms.blobID}, extra...)
	return ms
}

func (ms *messageScanner) scan(r scanner) (store.Message, error) {
	if err := r.Scan(ms.dest...); err != nil {
		return store.Message{}, err
	}
	if ms.lastLoc == nil || ms.off != ms.lastOff {
		ms.lastOff, ms.lastLoc = ms.off, zoneOf(ms.off)
	}
	return store.Message{
		UID:          store.UID(ms.uid),
		ModSeq:       store.ModSeq(ms.modseq),
		Flags:        splitFlags(ms.flags),
		InternalDate: time.Unix(ms.date, 0).In(ms.lastLoc),
		Size:         ms.size,
		BlobID:       ms.blobID,
	}, nil
}

// Messages lists the mailbox in ascending UID order.
//
// Reading a row through database/sql and the driver costs more than
// SQLite's own work for it (every column is a locked call and a boxed
// value), so the rows come back as one text per chunk of messagesChunk,
// built by group_concat and split here: about half the CPU time of
// reading 10,000 rows one by one. A mailbox that fits in one chunk is one
// statement (one snapshot, which also says whether the mailbox exists);
// a larger one is read chunk by chunk in one read transaction.
func (m *mailbox) Messages(ctx context.Context) ([]store.Message, error) {
	var out []store.Message
	if _, big := m.s.bigMailboxes.Load(m.id); !big {
		var more bool
		var err error
		if out, more, err = m.messagesFrom(ctx, pool{m.s}, 0, nil); err != nil || !more {
			return out, err
		}
		m.s.bigMailboxes.Store(m.id, struct{}{})
	}
	err := m.s.readTx(ctx, func(tx *rtx) error {
		out = out[:0]
		var after store.UID
		for {
			var more bool
			var err error
			if out, more, err = m.messagesFrom(ctx, tx, after, out); err != nil || !more {
				return err
			}
			after = out[len(out)-1].UID
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// messagesChunk is how many messages one statement of Messages returns
// (about 110 bytes of text each).
var messagesChunk = 32768

// messagesQuery reads the chunk after UID ?2: whether the mailbox exists,
// how many messages the chunk has, and their lines
// "uid,modseq,internaldate,tzoffset,size,blob_id,flags" (flags last: a
// keyword may hold a comma, never a newline). group_concat takes the rows
// in the order the ordered, limited subquery yields them (an ORDER BY in
// the aggregate would sort them again, which costs as much as the rest);
// messagesFrom checks the order and sorts if it ever is not ascending.
const messagesQuery = `SELECT (SELECT 1 FROM mailboxes WHERE id = ?1), COUNT(*),
	COALESCE(group_concat(uid || ',' || modseq || ',' || internaldate || ',' || tzoffset || ',' || size || ',' || blob_id || ',' || flags, char(10)), '')
	FROM (SELECT uid, modseq, internaldate, tzoffset, size, blob_id, flags FROM messages
		WHERE mailbox_id = ?1 AND uid > ?2 ORDER BY uid LIMIT ?3)`

// messagesFrom appends the chunk after UID after to out; more says a full
// chunk came back (there may be more).
func (m *mailbox) messagesFrom(ctx context.Context, q queryer, after store.UID, out []store.Message) ([]store.Message, bool, error) {
	if m.s.isClosing() {
		return nil, false, store.ErrClosed
	}
	var exists sql.NullInt64
	var n int
	var text string
	if err := q.QueryRowContext(ctx, messagesQuery, m.id, int64(after), messagesChunk).Scan(&exists, &n, &text); err != nil {
		return nil, false, m.s.closedErr(err)
	}
	if !exists.Valid {
		return nil, false, store.ErrNoSuchMailbox
	}
	if out == nil {
		out = make([]store.Message, 0, n)
	}
	out = slices.Grow(out, n)
	var lastOff int64
	var lastLoc *time.Location
	start := len(out)
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		var f [6]string
		rest := line
		for i := range f {
			var ok bool
			if f[i], rest, ok = strings.Cut(rest, ","); !ok {
				return nil, false, fmt.Errorf("sqlite: bad messages line %q", line)
			}
		}
		uid, err1 := strconv.ParseInt(f[0], 10, 64)
		modseq, err2 := strconv.ParseInt(f[1], 10, 64)
		date, err3 := strconv.ParseInt(f[2], 10, 64)
		off, err4 := strconv.ParseInt(f[3], 10, 64)
		size, err5 := strconv.ParseInt(f[4], 10, 64)
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, false, fmt.Errorf("sqlite: bad messages line %q: %w", line, err)
		}
		if lastLoc == nil || off != lastOff {
			lastOff, lastLoc = off, zoneOf(off)
		}
		out = append(out, store.Message{
			UID:          store.UID(uid),
			ModSeq:       store.ModSeq(modseq),
			Flags:        splitFlags(rest),
			InternalDate: time.Unix(date, 0).In(lastLoc),
			Size:         size,
			// A copy: a substring would keep the whole chunk's text alive.
			BlobID: strings.Clone(f[5]),
		})
	}
	if chunk := out[start:]; !slices.IsSortedFunc(chunk, func(a, b store.Message) int { return cmp.Compare(a.UID, b.UID) }) {
		slices.SortFunc(chunk, func(a, b store.Message) int { return cmp.Compare(a.UID, b.UID) })
	}
	if len(out) == 0 {
		out = []store.Message{}
	}
	return out, n == messagesChunk, nil
}

// changesQuery reads, in one statement (one snapshot), the mailbox's
// UIDNEXT and HIGHESTMODSEQ (kind 0; no row: the mailbox is gone), the
// messages with MODSEQ > ?2 (kind 1) and the tombstones above it (kind 2).
const changesQuery = `SELECT 0, uidnext, highestmodseq, '', 0, 0, 0, '' FROM mailboxes WHERE id = ?1
	UNION ALL
	SELECT 1, uid, modseq, flags, internaldate, tzoffset, size, blob_id FROM messages WHERE mailbox_id = ?1 AND modseq > ?2
	UNION ALL
	SELECT 2, uid, 0, '', 0, 0, 0, '' FROM tombstones WHERE mailbox_id = ?1 AND modseq > ?2
	ORDER BY 1, 2`

// Changes reports messages with MODSEQ > since and UIDs expunged after it
// (RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.10 VANISHED), from one snapshot.
// Most calls are answered from the change log (changelog.go).
func (m *mailbox) Changes(ctx context.Context, since store.ModSeq) (store.Changes, error) {
	if m.s.isClosing() {
		return store.Changes{}, store.ErrClosed
	}
	if ch, ok := m.s.logChanges(m.id, since); ok {
		return ch, nil
	}
	return m.changesSQL(ctx, since)
}

func (m *mailbox) changesSQL(ctx context.Context, since store.ModSeq) (store.Changes, error) {
	ch := store.Changes{Updated: []store.Message{}, Expunged: []store.UID{}}
	rows, err := m.s.readQuery(ctx, changesQuery, m.id, int64(since))
	if err != nil {
		return ch, err
	}
	defer rows.Close()
	found := false
	var kind int
	ms := newMessageScanner()
	ms.dest = append([]any{&kind}, ms.dest...)
	for rows.Next() {
		msg, err := ms.scan(rows)
		if err != nil {
			return ch, m.s.closedErr(err)
		}
		switch kind {
		case 0:
			found = true
			ch.UIDNext = store.UID(ms.uid)
			ch.HighestModSeq = store.ModSeq(ms.modseq)
		case 1:
			ch.Updated = append(ch.Updated, msg)
		case 2:
			ch.Expunged = append(ch.Expunged, msg.UID)
		}
	}
	if err := rows.Err(); err != nil {
		return ch, m.s.closedErr(err)
	}
	if !found {
		return store.Changes{}, store.ErrNoSuchMailbox
	}
	return ch, nil
}

// lockedInfo reads the mailbox inside the write transaction.
func (w *wtx) mailboxInfo(id int64) (store.MailboxInfo, error) {
	return mailboxByID(w.ctx, w, id)
}

// Expunge removes messages, leaving a tombstone per UID with the MODSEQ of
// its removal (one change per message).
func (m *mailbox) Expunge(ctx context.Context, uids []store.UID) ([]store.UID, error) {
	var out []store.UID
	err := m.s.write(ctx, func(w *wtx) error {
		mi, err := w.mailboxInfo(m.id)
		if err != nil {
			return err
		}
		out, err = w.expunge(m.acc, mi, uids)
		return err
	})
	return out, err
}

// expunge removes the messages of mi with the given UIDs: each leaves a
// tombstone and its content in expunged, with the next MODSEQ.
func (w *wtx) expunge(acc store.Account, mi store.MailboxInfo, uids []store.UID) ([]store.UID, error) {
	rows, err := w.query("SELECT uid FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
		mi.ID, uidsJSON(uids))
	if err != nil {
		return nil, err
	}
	var gone []store.UID
	for rows.Next() {
		var uid int64
		if err := rows.Scan(&uid); err != nil {
			rows.Close()
			return nil, err
		}
		gone = append(gone, store.UID(uid))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(gone) == 0 {
		return []store.UID{}, nil
	}
	del, err := w.stmt("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?")
	if err != nil {
		return nil, err
	}
	hms := mi.HighestModSeq
	for _, uid := range gone {
		hms++
		if err := w.keepExpunged(mi.ID, mi.ID, uid, hms); err != nil {
			return nil, err
		}
		w.logExpunge(mi.ID, mi.UIDNext, uid, hms)
		if _, err := del.ExecContext(w.ctx, mi.ID, int64(uid)); err != nil {
			return nil, err
		}
	}
	if _, err := w.exec("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", int64(hms), mi.ID); err != nil {
		return nil, err
	}
	w.noteExpunged(mi.ID)
	w.publish(acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: mi.ID, Mailbox: mi.Name, ModSeq: hms})
	return gone, nil
}

// keepExpunged records UID uid of mailbox mbID as expunged at modseq: a
// tombstone (QRESYNC) with the message's object IDs, and its content, copied from the live row, which is
// in mailbox from (mbID, or where Rename of INBOX moved it).
func (w *wtx) keepExpunged(mbID, from int64, uid store.UID, modseq store.ModSeq) error {
	if _, err := w.exec(`INSERT OR REPLACE INTO tombstones (mailbox_id, uid, modseq, email_id, thread_id)
		SELECT ?1, ?2, ?3, COALESCE(MAX(email_id), 0), COALESCE(MAX(thread_id), 0)
		FROM messages WHERE mailbox_id = ?4 AND uid = ?2`, mbID, int64(uid), int64(modseq), from); err != nil {
		return err
	}
	_, err := w.exec(`INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq, msg_modseq, flags, internaldate, tzoffset, size, blob_id,
			email_id, thread_id, savedate)
		SELECT ?, uid, ?, modseq, flags, internaldate, tzoffset, size, blob_id, email_id, thread_id, savedate
		FROM messages WHERE mailbox_id = ? AND uid = ?`,
		mbID, int64(modseq), from, int64(uid))
	return err
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
		src, err := w.mailboxInfo(m.id)
		if err != nil {
			return err
		}
		dst, err := mailboxByName(w.ctx, w, m.acc.ID, dest)
		if err != nil {
			return err
		}
		// The copies keep the identity of their originals (RFC 8474
		// §5.1) and are saved now (RFC 8514 §1).
		rows, err := w.query("SELECT "+messageColumns+", email_id, thread_id FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
			m.id, uidsJSON(uids))
		if err != nil {
			return err
		}
		var msgs []store.Message
		var ids []objectIDs
		var id objectIDs
		ms := newMessageScanner(&id.email, &id.thread)
		now := w.s.now()
		for rows.Next() {
			msg, err := ms.scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			msgs = append(msgs, msg)
			id.saved = now
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res.UIDValidity = dst.UIDValidity
		res.SourceUIDs = []store.UID{}
		res.DestUIDs = []store.UID{}
		var last store.ModSeq
		for i, msg := range msgs {
			uid, modseq, err := w.appendMessage(dst.ID, msg.Flags, msg.InternalDate, msg.Size, msg.BlobID, ids[i])
			if err != nil {
				return err
			}
			res.SourceUIDs = append(res.SourceUIDs, msg.UID)
			res.DestUIDs = append(res.DestUIDs, uid)
			last = modseq
		}
		if len(msgs) == 0 {
			return nil
		}
		// COPY adds to the account's usage; MOVE within it does not and is
		// never refused for quota (RFC 9208 §4.1; Dovecot does the same).
		if !move {
			if err := w.checkQuota(m.acc.ID); err != nil {
				return err
			}
		}
		w.publish(m.acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: dst.ID, Mailbox: dst.Name, ModSeq: last})
		if move {
			if dst.ID == src.ID {
				// Moving into the same mailbox: the copies took new MODSEQs
				// already; reread so expunge continues after them.
				if src, err = w.mailboxInfo(m.id); err != nil {
					return err
				}
			}
			if _, err := w.expunge(m.acc, src, res.SourceUIDs); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}
