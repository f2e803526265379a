package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/letterbox/letterbox/internal/store"
)

// mailboxes implements store.Mailboxes for one account.
type mailboxes struct {
	s   *Store
	acc store.Account
}

// Mailboxes returns the mailbox store of account.
func (s *Store) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	acc, err := s.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	return &mailboxes{s: s, acc: acc}, nil
}

func (m *mailboxes) Account() store.Account { return m.acc }

// mailboxColumns are read FROM mailboxes (no alias); Subscribed comes from
// subscriptions, which are kept by name.
const mailboxColumns = `id, name, special_use,
	EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name),
	uidvalidity, uidnext, highestmodseq`

func scanMailbox(r pgx.Row) (store.MailboxInfo, error) {
	var mi store.MailboxInfo
	var uv, uidnext, hms int64
	err := r.Scan(&mi.ID, &mi.Name, &mi.SpecialUse, &mi.Subscribed, &uv, &uidnext, &hms)
	if errors.Is(err, pgx.ErrNoRows) {
		return mi, store.ErrNoSuchMailbox
	}
	mi.UIDValidity = uint32(uv)
	mi.UIDNext = store.UID(uidnext)
	mi.HighestModSeq = store.ModSeq(hms)
	return mi, err
}

// List returns every mailbox of the account, INBOX first, then by name.
func (m *mailboxes) List(ctx context.Context) ([]store.MailboxInfo, error) {
	q, err := m.s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE account_id = $1 ORDER BY name <> 'INBOX', name", m.acc.ID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MailboxInfo, error) { return scanMailbox(r) })
}

func mailboxByName(ctx context.Context, q querier, accountID int64, name string) (store.MailboxInfo, error) {
	return scanMailbox(q.QueryRow(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name))
}

func mailboxByID(ctx context.Context, q querier, id int64) (store.MailboxInfo, error) {
	return scanMailbox(q.QueryRow(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE id = $1", id))
}

// lockMailbox reads a mailbox and locks its row until the transaction
// ends: the writer that holds it is the only one changing the mailbox's
// messages and counters.
func (w *wtx) lockMailbox(id int64) (store.MailboxInfo, error) {
	return scanMailbox(w.queryRow("SELECT "+mailboxColumns+" FROM mailboxes WHERE id = $1 FOR UPDATE", id))
}

// Get describes one mailbox.
func (m *mailboxes) Get(ctx context.Context, name string) (store.MailboxInfo, error) {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return store.MailboxInfo{}, err
	}
	q, err := m.s.db()
	if err != nil {
		return store.MailboxInfo{}, err
	}
	return mailboxByName(ctx, q, m.acc.ID, name)
}

// Status counts the messages of one mailbox (RFC 3501 §6.3.10), from one
// snapshot.
func (m *mailboxes) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	var st store.MailboxStatus
	err = m.s.read(ctx, func(tx pgx.Tx) error {
		mi, err := mailboxByName(ctx, tx, m.acc.ID, name)
		if err != nil {
			return err
		}
		st = store.MailboxStatus{MailboxInfo: mi}
		return tx.QueryRow(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT seen), COUNT(*) FILTER (WHERE deleted),
			COUNT(*) FILTER (WHERE uid >= (SELECT recent_uid FROM mailboxes WHERE id = $1)), COALESCE(SUM(size), 0)::bigint,
			COALESCE(SUM(size) FILTER (WHERE deleted), 0)::bigint
			FROM messages WHERE mailbox_id = $1`, mi.ID).Scan(&st.Messages, &st.Unseen, &st.Deleted, &st.Recent, &st.Size, &st.DeletedSize)
	})
	return st, err
}

// Create makes a mailbox and any missing parents (RFC 3501 §6.3.3).
func (m *mailboxes) Create(ctx context.Context, name, specialUse string) (store.MailboxInfo, error) {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return store.MailboxInfo{}, err
	}
	if !store.ValidSpecialUse(specialUse) {
		return store.MailboxInfo{}, fmt.Errorf("postgres: unknown special-use attribute %q", specialUse)
	}
	var mi store.MailboxInfo
	err = m.s.write(ctx, func(w *wtx) error {
		if err := w.createParents(m.acc, name); err != nil {
			return err
		}
		var err error
		mi, err = w.createMailbox(m.acc, name, specialUse, false)
		return err
	})
	return mi, err
}

// createParents makes the missing ancestors of name (no special use, not
// subscribed).
func (w *wtx) createParents(acc store.Account, name string) error {
	for _, p := range store.ParentNames(name) {
		_, err := w.createMailbox(acc, p, "", false)
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return err
		}
	}
	return nil
}

// createMailbox inserts one mailbox with a fresh UIDVALIDITY. A new mailbox
// starts with UIDNEXT 1 and HIGHESTMODSEQ 1 (RFC 7162 §3.1.1: MODSEQ values
// are positive). An existing name is ErrMailboxExists, also when another
// node creates it concurrently (the insert waits for that commit).
// subscribed subscribes the name; it is subscribed also when it was before
// (subscriptions outlive mailboxes).
func (w *wtx) createMailbox(acc store.Account, name, specialUse string, subscribed bool) (store.MailboxInfo, error) {
	var exists bool
	if err := w.queryRow("SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account_id = $1 AND name = $2)", acc.ID, name).Scan(&exists); err != nil {
		return store.MailboxInfo{}, err
	}
	if exists {
		return store.MailboxInfo{}, store.ErrMailboxExists
	}
	uv, err := w.nextUIDValidity()
	if err != nil {
		return store.MailboxInfo{}, err
	}
	var id int64
	err = w.queryRow(`INSERT INTO mailboxes (account_id, name, special_use, uidvalidity)
		VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, name) DO NOTHING RETURNING id`,
		acc.ID, name, specialUse, int64(uv)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.MailboxInfo{}, store.ErrMailboxExists
	}
	if err != nil {
		return store.MailboxInfo{}, err
	}
	if subscribed {
		if err := w.subscribe(acc.ID, name); err != nil {
			return store.MailboxInfo{}, err
		}
	}
	mi, err := mailboxByID(w.ctx, w.tx, id)
	if err != nil {
		return store.MailboxInfo{}, err
	}
	w.publish(acc.Name, store.Change{Kind: store.MailboxCreated, MailboxID: id, Mailbox: name, ModSeq: 1})
	return mi, nil
}

// nextUIDValidity hands out strictly increasing UIDVALIDITY values, based
// on the clock, so a re-created mailbox never reuses one (RFC 3501
// §2.3.1.1). The meta row is locked until commit, so nodes creating
// mailboxes at the same moment still get distinct values.
func (w *wtx) nextUIDValidity() (uint32, error) {
	now := w.s.now().Unix()
	if now <= 0 || now > math.MaxUint32 {
		now = 1
	}
	var v int64
	err := w.queryRow(`INSERT INTO meta (key, value) VALUES ('uidvalidity', $1)
		ON CONFLICT (key) DO UPDATE SET value = CASE
			WHEN excluded.value > meta.value THEN excluded.value
			WHEN meta.value >= 4294967295 THEN 1
			ELSE meta.value + 1 END
		RETURNING value`, now).Scan(&v)
	return uint32(v), err
}

// childRange returns bounds selecting the names strictly below name:
// name+"/" <= child < name+"0" ('0' follows '/' in byte order; names are
// COLLATE "C").
func childRange(name string) (lo, hi string) {
	return name + "/", name + "0"
}

// Delete removes a mailbox without children, with its messages.
func (m *mailboxes) Delete(ctx context.Context, name string) error {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return err
	}
	if name == store.InboxName {
		return store.ErrCannotDeleteInbox
	}
	return m.s.write(ctx, func(w *wtx) error {
		mi, err := mailboxByName(w.ctx, w.tx, m.acc.ID, name)
		if err != nil {
			return err
		}
		if mi, err = w.lockMailbox(mi.ID); err != nil {
			return err
		}
		lo, hi := childRange(name)
		var children bool
		if err := w.queryRow("SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account_id = $1 AND name >= $2 AND name < $3)",
			m.acc.ID, lo, hi).Scan(&children); err != nil {
			return err
		}
		if children {
			return store.ErrMailboxHasChildren
		}
		if err := w.deleteMailboxRows(mi.ID, mi.HighestModSeq); err != nil {
			return err
		}
		w.publish(m.acc.Name, store.Change{Kind: store.MailboxDeleted, MailboxID: mi.ID, Mailbox: name, ModSeq: mi.HighestModSeq})
		return nil
	})
}

// deleteMailboxRows deletes a mailbox (locked by the caller) with (by
// cascade) its messages and tombstones. The messages' content stays in
// expunged, at MODSEQ hms+1 (hms: the mailbox's last HIGHESTMODSEQ), until
// no pin of the mailbox remains and the grace period passed (collect.go).
// Subscriptions stay (RFC 3501 §6.3.4).
func (w *wtx) deleteMailboxRows(id int64, hms store.ModSeq) error {
	tag, err := w.exec(`INSERT INTO expunged (mailbox_id, uid, modseq, msg_modseq, flags, internaldate, tzoffset, size, blob_id,
			email_id, thread_id, savedate)
		SELECT mailbox_id, uid, $2, modseq, flags, internaldate, tzoffset, size, blob_id, email_id, thread_id, savedate
		FROM messages WHERE mailbox_id = $1
		ON CONFLICT (mailbox_id, uid) DO NOTHING`, id, int64(hms)+1)
	if err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		w.expunged = true
	}
	// The messages first, while the quota trigger can still find their
	// account through the mailbox (quota.go).
	if _, err = w.exec("DELETE FROM messages WHERE mailbox_id = $1", id); err != nil {
		return err
	}
	_, err = w.exec("DELETE FROM mailboxes WHERE id = $1", id)
	return err
}

// Rename renames a mailbox and its children, creating missing parents of
// the new name. Renaming INBOX moves its messages into a new mailbox and
// leaves INBOX empty, with its children in place (RFC 3501 §6.3.5).
func (m *mailboxes) Rename(ctx context.Context, oldName, newName string) error {
	oldName, err := store.NormalizeMailbox(oldName)
	if err != nil {
		return err
	}
	newName, err = store.NormalizeMailbox(newName)
	if err != nil {
		return err
	}
	if newName == store.InboxName {
		return store.ErrMailboxExists
	}
	if newName == oldName || strings.HasPrefix(newName, oldName+"/") {
		return store.ErrInvalidName
	}
	err = m.s.write(ctx, func(w *wtx) error {
		src, err := mailboxByName(w.ctx, w.tx, m.acc.ID, oldName)
		if err != nil {
			return err
		}
		if src, err = w.lockMailbox(src.ID); err != nil {
			return err
		}
		if _, err := mailboxByName(w.ctx, w.tx, m.acc.ID, newName); err == nil {
			return store.ErrMailboxExists
		} else if !errors.Is(err, store.ErrNoSuchMailbox) {
			return err
		}
		if err := w.createParents(m.acc, newName); err != nil {
			return err
		}
		if oldName == store.InboxName {
			return w.renameInbox(m.acc, src, newName)
		}
		lo, hi := childRange(oldName)
		rows, err := w.query(`SELECT id, name, highestmodseq FROM mailboxes
			WHERE account_id = $1 AND (name = $2 OR (name >= $3 AND name < $4)) ORDER BY id FOR UPDATE`,
			m.acc.ID, oldName, lo, hi)
		if err != nil {
			return err
		}
		type renamed struct {
			id   int64
			name string
			hms  int64
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (renamed, error) {
			var x renamed
			err := r.Scan(&x.id, &x.name, &x.hms)
			x.name = newName + x.name[len(oldName):]
			return x, err
		})
		if err != nil {
			return err
		}
		for _, r := range all {
			if _, err := w.exec("UPDATE mailboxes SET name = $1 WHERE id = $2", r.name, r.id); err != nil {
				return err
			}
			w.publish(m.acc.Name, store.Change{Kind: store.MailboxRenamed, MailboxID: r.id, Mailbox: r.name, ModSeq: store.ModSeq(r.hms)})
		}
		return w.moveSubscriptions(m.acc.ID, oldName, newName)
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		// A name under the new one was created concurrently.
		return store.ErrMailboxExists
	}
	return err
}

// renameInbox makes newName with a fresh UIDVALIDITY and moves INBOX's
// messages there keeping UIDs, flags and MODSEQs; INBOX records each moved
// UID as expunged, one MODSEQ per message. INBOX is locked by the caller.
func (w *wtx) renameInbox(acc store.Account, inbox store.MailboxInfo, newName string) error {
	dst, err := w.createMailbox(acc, newName, "", false)
	if err != nil {
		return err
	}
	rows, err := w.query("SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid", inbox.ID)
	if err != nil {
		return err
	}
	uids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	if _, err := w.exec(`UPDATE mailboxes SET uidnext = $1, highestmodseq = $2,
		recent_uid = (SELECT recent_uid FROM mailboxes WHERE id = $3) WHERE id = $4`,
		int64(inbox.UIDNext), int64(inbox.HighestModSeq), inbox.ID, dst.ID); err != nil {
		return err
	}
	// INBOX keeps what its sessions may still FETCH, as after an expunge
	// (MODSEQs numbered like addTombstones').
	if _, err := w.exec(`INSERT INTO expunged (mailbox_id, uid, modseq, msg_modseq, flags, internaldate, tzoffset, size, blob_id,
			email_id, thread_id, savedate)
		SELECT mailbox_id, uid, $2 + row_number() OVER (ORDER BY uid), modseq, flags, internaldate, tzoffset, size, blob_id,
			email_id, thread_id, savedate
		FROM messages WHERE mailbox_id = $1
		ON CONFLICT (mailbox_id, uid) DO NOTHING`, inbox.ID, int64(inbox.HighestModSeq)); err != nil {
		return err
	}
	if len(uids) > 0 {
		w.expunged = true
	}
	if _, err := w.exec("UPDATE messages SET mailbox_id = $1 WHERE mailbox_id = $2", dst.ID, inbox.ID); err != nil {
		return err
	}
	hms, err := w.addTombstones(inbox, uids)
	if err != nil {
		return err
	}
	if len(uids) > 0 {
		w.publish(acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: inbox.ID, Mailbox: store.InboxName, ModSeq: hms})
		w.publish(acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: dst.ID, Mailbox: newName, ModSeq: inbox.HighestModSeq})
	}
	return nil
}

// addTombstones records uids (ascending) as expunged from mi, each with
// its own new MODSEQ, and raises the mailbox's HIGHESTMODSEQ; it returns
// the new HIGHESTMODSEQ. The mailbox is locked by the caller.
func (w *wtx) addTombstones(mi store.MailboxInfo, uids []int64) (store.ModSeq, error) {
	if len(uids) == 0 {
		return mi.HighestModSeq, nil
	}
	// The identity comes from the content row the caller kept in
	// expunged just before (store.TombstoneObjects).
	if _, err := w.exec(`INSERT INTO tombstones (mailbox_id, uid, modseq, email_id, thread_id)
		SELECT $1, t.u, $2 + t.i, COALESCE(e.email_id, 0), COALESCE(e.thread_id, 0)
		FROM unnest($3::bigint[]) WITH ORDINALITY AS t(u, i)
		LEFT JOIN expunged e ON e.mailbox_id = $1 AND e.uid = t.u
		ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq,
			email_id = excluded.email_id, thread_id = excluded.thread_id`,
		mi.ID, int64(mi.HighestModSeq), uids); err != nil {
		return 0, err
	}
	hms := mi.HighestModSeq + store.ModSeq(len(uids))
	if _, err := w.exec("UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2", int64(hms), mi.ID); err != nil {
		return 0, err
	}
	return hms, nil
}

// SetSubscribed adds name to or removes it from the subscriptions, which
// are kept by name: the mailbox need not exist (RFC 3501 §6.3.6).
func (m *mailboxes) SetSubscribed(ctx context.Context, name string, subscribed bool) error {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return err
	}
	return m.s.write(ctx, func(w *wtx) error {
		var tag pgconn.CommandTag
		var err error
		if subscribed {
			tag, err = w.exec("INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", m.acc.ID, name)
		} else {
			tag, err = w.exec("DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", m.acc.ID, name)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() > 0 {
			// Only a real change is announced (RFC 5465 §5.5 watchers).
			w.publish(m.acc.Name, store.Change{Kind: store.SubscriptionChanged, Mailbox: name})
		}
		return nil
	})
}

func (w *wtx) subscribe(accountID int64, name string) error {
	_, err := w.exec("INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", accountID, name)
	return err
}

// moveSubscriptions renames the subscriptions of oldName and of every name
// below it (a subscription already on a new name stays one).
func (w *wtx) moveSubscriptions(accountID int64, oldName, newName string) error {
	lo, hi := childRange(oldName)
	rows, err := w.query(`DELETE FROM subscriptions WHERE account_id = $1 AND (name = $2 OR (name >= $3 AND name < $4)) RETURNING name`,
		accountID, oldName, lo, hi)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) == 0 {
		return err
	}
	for i, n := range names {
		names[i] = newName + n[len(oldName):]
	}
	_, err = w.exec(`INSERT INTO subscriptions (account_id, name) SELECT $1, n FROM unnest($2::text[]) AS n ON CONFLICT DO NOTHING`,
		accountID, names)
	return err
}

// Subscriptions lists the subscribed names in byte order.
func (m *mailboxes) Subscriptions(ctx context.Context) ([]string, error) {
	q, err := m.s.db()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name", m.acc.ID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil && err == nil {
		out = []string{}
	}
	return out, err
}

// Open returns a handle on one mailbox. The handle follows the mailbox
// through renames; once it is deleted, calls fail with ErrNoSuchMailbox.
func (m *mailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	mi, err := m.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return &mailbox{s: m.s, acc: m.acc, id: mi.ID}, nil
}
