package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

type scanner interface{ Scan(dest ...any) error }

func scanMailbox(r scanner) (store.MailboxInfo, error) {
	var mi store.MailboxInfo
	var sub int
	var uidnext, hms int64
	err := r.Scan(&mi.ID, &mi.Name, &mi.SpecialUse, &sub, &mi.UIDValidity, &uidnext, &hms)
	mi.Subscribed = sub != 0
	mi.UIDNext = store.UID(uidnext)
	mi.HighestModSeq = store.ModSeq(hms)
	return mi, err
}

// List returns every mailbox of the account, INBOX first, then by name.
func (m *mailboxes) List(ctx context.Context) ([]store.MailboxInfo, error) {
	rows, err := m.s.readQuery(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE account_id = ? ORDER BY name <> 'INBOX', name", m.acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MailboxInfo
	for rows.Next() {
		mi, err := scanMailbox(rows)
		if err != nil {
			return nil, m.s.closedErr(err)
		}
		out = append(out, mi)
	}
	return out, m.s.closedErr(rows.Err())
}

func mailboxByName(ctx context.Context, q queryer, accountID int64, name string) (store.MailboxInfo, error) {
	mi, err := scanMailbox(q.QueryRowContext(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE account_id = ? AND name = ?", accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return mi, store.ErrNoSuchMailbox
	}
	return mi, err
}

func mailboxByID(ctx context.Context, q queryer, id int64) (store.MailboxInfo, error) {
	mi, err := scanMailbox(q.QueryRowContext(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return mi, store.ErrNoSuchMailbox
	}
	return mi, err
}

// Get describes one mailbox.
func (m *mailboxes) Get(ctx context.Context, name string) (store.MailboxInfo, error) {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return store.MailboxInfo{}, err
	}
	if m.s.isClosing() {
		return store.MailboxInfo{}, store.ErrClosed
	}
	mi, err := mailboxByName(ctx, pool{m.s}, m.acc.ID, name)
	return mi, m.s.closedErr(err)
}

// Status counts the messages of one mailbox (RFC 3501 §6.3.10).
func (m *mailboxes) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	var st store.MailboxStatus
	err = m.s.readTx(ctx, func(tx *rtx) error {
		mi, err := mailboxByName(ctx, tx, m.acc.ID, name)
		if err != nil {
			return err
		}
		st, err = m.s.statusOf(ctx, tx, mi, m.s.recentWatermark(mi.ID))
		return err
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
		return store.MailboxInfo{}, fmt.Errorf("sqlite: unknown special-use attribute %q", specialUse)
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
		_, err := mailboxByName(w.ctx, w, acc.ID, p)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNoSuchMailbox) {
			return err
		}
		if _, err := w.createMailbox(acc, p, "", false); err != nil {
			return err
		}
	}
	return nil
}

// createMailbox inserts one mailbox with a fresh UIDVALIDITY and a fresh
// ID (never one a deleted mailbox had: see nextMailboxID). A new mailbox
// starts with UIDNEXT 1 and HIGHESTMODSEQ 1 (RFC 7162 §3.1.1: MODSEQ
// values are positive). subscribed subscribes its name; it is subscribed
// also when the name was before (subscriptions outlive mailboxes).
func (w *wtx) createMailbox(acc store.Account, name, specialUse string, subscribed bool) (store.MailboxInfo, error) {
	if _, err := mailboxByName(w.ctx, w, acc.ID, name); err == nil {
		return store.MailboxInfo{}, store.ErrMailboxExists
	} else if !errors.Is(err, store.ErrNoSuchMailbox) {
		return store.MailboxInfo{}, err
	}
	uv, err := w.nextUIDValidity()
	if err != nil {
		return store.MailboxInfo{}, err
	}
	id, err := w.nextMailboxID()
	if err != nil {
		return store.MailboxInfo{}, err
	}
	res, err := w.exec(`INSERT INTO mailboxes (id, account_id, name, special_use, uidvalidity)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, name) DO NOTHING`, id, acc.ID, name, specialUse, uv)
	if err != nil {
		return store.MailboxInfo{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.MailboxInfo{}, store.ErrMailboxExists
	}
	if subscribed {
		if err := w.subscribe(acc.ID, name); err != nil {
			return store.MailboxInfo{}, err
		}
	}
	mi, err := mailboxByID(w.ctx, w, id)
	if err != nil {
		return store.MailboxInfo{}, err
	}
	w.publish(acc.Name, store.Change{Kind: store.MailboxCreated, MailboxID: id, Mailbox: name, ModSeq: 1})
	return mi, nil
}

// nextMailboxID hands out mailbox IDs that are never reused, not even the
// highest one after it was deleted (SQLite's rowid would reuse it): the
// expunged content of a deleted mailbox, pins and feed events name
// mailboxes by ID.
func (w *wtx) nextMailboxID() (int64, error) {
	var next int64
	err := w.queryRow(`SELECT MAX(
		COALESCE((SELECT value FROM meta WHERE key = 'mailbox_id'), 0),
		COALESCE((SELECT MAX(id) FROM mailboxes), 0),
		COALESCE((SELECT MAX(mailbox_id) FROM expunged), 0)) + 1`).Scan(&next)
	if err != nil {
		return 0, err
	}
	if _, err := w.exec("INSERT INTO meta (key, value) VALUES ('mailbox_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", next); err != nil {
		return 0, err
	}
	return next, nil
}

// nextUIDValidity hands out strictly increasing UIDVALIDITY values, based
// on the clock, so a re-created mailbox never reuses one (RFC 3501
// §2.3.1.1).
func (w *wtx) nextUIDValidity() (uint32, error) {
	var last int64
	err := w.queryRow("SELECT value FROM meta WHERE key = 'uidvalidity'").Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	next := w.s.now().Unix()
	if next <= last {
		next = last + 1
	}
	if next > 0xffffffff || next <= 0 {
		next = last + 1
		if next > 0xffffffff {
			next = 1
		}
	}
	if _, err := w.exec("INSERT INTO meta (key, value) VALUES ('uidvalidity', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", next); err != nil {
		return 0, err
	}
	return uint32(next), nil
}

// childRange returns bounds selecting the names strictly below name:
// name+"/" <= child < name+"0" ('0' follows '/' in byte order).
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
		mi, err := mailboxByName(w.ctx, w, m.acc.ID, name)
		if err != nil {
			return err
		}
		lo, hi := childRange(name)
		var one int
		err = w.queryRow("SELECT 1 FROM mailboxes WHERE account_id = ? AND name >= ? AND name < ? LIMIT 1", m.acc.ID, lo, hi).Scan(&one)
		if err == nil {
			return store.ErrMailboxHasChildren
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := w.deleteMailboxRows(mi.ID, mi.HighestModSeq); err != nil {
			return err
		}
		w.publish(m.acc.Name, store.Change{Kind: store.MailboxDeleted, MailboxID: mi.ID, Mailbox: name, ModSeq: mi.HighestModSeq})
		return nil
	})
}

// deleteMailboxRows deletes a mailbox, its messages and tombstones. The
// messages' content stays in expunged, at MODSEQ hms+1 (hms: the mailbox's
// last HIGHESTMODSEQ), until no Pin of the mailbox remains: its sessions
// are closed by the front end, but one may be in the middle of a FETCH.
// Subscriptions stay (RFC 3501 §6.3.4).
func (w *wtx) deleteMailboxRows(id int64, hms store.ModSeq) error {
	if _, err := w.exec(`INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq, msg_modseq, flags, internaldate, tzoffset, size, blob_id,
			email_id, thread_id, savedate)
		SELECT mailbox_id, uid, ?, modseq, flags, internaldate, tzoffset, size, blob_id, email_id, thread_id, savedate
		FROM messages WHERE mailbox_id = ?`,
		int64(hms)+1, id); err != nil {
		return err
	}
	// The ID is never handed out again (nextMailboxID).
	if _, err := w.exec(`INSERT INTO meta (key, value) VALUES ('mailbox_id', ?)
		ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`, id); err != nil {
		return err
	}
	for _, q := range []string{
		"DELETE FROM messages WHERE mailbox_id = ?",
		"DELETE FROM tombstones WHERE mailbox_id = ?",
		"DELETE FROM mailboxes WHERE id = ?",
	} {
		if _, err := w.exec(q, id); err != nil {
			return err
		}
	}
	w.noteExpunged(id)
	return nil
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
	return m.s.write(ctx, func(w *wtx) error {
		src, err := mailboxByName(w.ctx, w, m.acc.ID, oldName)
		if err != nil {
			return err
		}
		if _, err := mailboxByName(w.ctx, w, m.acc.ID, newName); err == nil {
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
		rows, err := w.query("SELECT id, name, highestmodseq FROM mailboxes WHERE account_id = ? AND (name = ? OR (name >= ? AND name < ?))",
			m.acc.ID, oldName, lo, hi)
		if err != nil {
			return err
		}
		type renamed struct {
			id   int64
			name string
			hms  int64
		}
		var all []renamed
		for rows.Next() {
			var r renamed
			if err := rows.Scan(&r.id, &r.name, &r.hms); err != nil {
				rows.Close()
				return err
			}
			r.name = newName + r.name[len(oldName):]
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range all {
			if _, err := w.exec("UPDATE mailboxes SET name = ? WHERE id = ?", r.name, r.id); err != nil {
				return err
			}
			w.publish(m.acc.Name, store.Change{Kind: store.MailboxRenamed, MailboxID: r.id, Mailbox: r.name, ModSeq: store.ModSeq(r.hms)})
		}
		// The subscriptions of the mailbox and of every name below it
		// move with it (a subscription already on a new name stays one).
		_, err = w.exec(`UPDATE OR REPLACE subscriptions SET name = ?1 || substr(name, length(?2) + 1)
			WHERE account_id = ?3 AND (name = ?2 OR (name >= ?4 AND name < ?5))`,
			newName, oldName, m.acc.ID, lo, hi)
		return err
	})
}

// renameInbox makes newName with a fresh UIDVALIDITY and moves INBOX's
// messages there keeping UIDs, flags and MODSEQs; INBOX records each moved
// UID as expunged, one MODSEQ per message.
func (w *wtx) renameInbox(acc store.Account, inbox store.MailboxInfo, newName string) error {
	dst, err := w.createMailbox(acc, newName, "", false)
	if err != nil {
		return err
	}
	uids, err := w.uidsOf(inbox.ID)
	if err != nil {
		return err
	}
	recent, err := w.recentForRename(inbox.ID)
	if err != nil {
		return err
	}
	if _, err := w.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, recent_uid = ? WHERE id = ?`,
		inbox.UIDNext, inbox.HighestModSeq, recent, dst.ID); err != nil {
		return err
	}
	// INBOX keeps what its sessions may still FETCH (as after an expunge).
	hms := inbox.HighestModSeq
	for _, uid := range uids {
		hms++
		if err := w.keepExpunged(inbox.ID, inbox.ID, uid, hms); err != nil {
			return err
		}
		w.logExpunge(inbox.ID, inbox.UIDNext, uid, hms)
	}
	if _, err := w.exec("UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?", dst.ID, inbox.ID); err != nil {
		return err
	}
	w.noteHMS(dst.ID, inbox.HighestModSeq)
	if len(uids) > 0 {
		w.noteExpunged(inbox.ID)
	}
	if _, err := w.exec("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", int64(hms), inbox.ID); err != nil {
		return err
	}
	if len(uids) > 0 {
		w.publish(acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: inbox.ID, Mailbox: store.InboxName, ModSeq: hms})
		w.publish(acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: dst.ID, Mailbox: newName, ModSeq: inbox.HighestModSeq})
	}
	return nil
}

func (w *wtx) uidsOf(mailboxID int64) ([]store.UID, error) {
	rows, err := w.query("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.UID
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, store.UID(u))
	}
	return out, rows.Err()
}

// SetSubscribed adds name to or removes it from the subscriptions, which
// are kept by name: the mailbox need not exist (RFC 3501 §6.3.6).
func (m *mailboxes) SetSubscribed(ctx context.Context, name string, subscribed bool) error {
	name, err := store.NormalizeMailbox(name)
	if err != nil {
		return err
	}
	return m.s.write(ctx, func(w *wtx) error {
		var res sql.Result
		var err error
		if subscribed {
			res, err = w.exec("INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)", m.acc.ID, name)
		} else {
			res, err = w.exec("DELETE FROM subscriptions WHERE account_id = ? AND name = ?", m.acc.ID, name)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			// Only a real change is announced (RFC 5465 §5.5 watchers).
			w.publish(m.acc.Name, store.Change{Kind: store.SubscriptionChanged, Mailbox: name})
		}
		return nil
	})
}

func (w *wtx) subscribe(accountID int64, name string) error {
	_, err := w.exec("INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)", accountID, name)
	return err
}

// Subscriptions lists the subscribed names in byte order.
func (m *mailboxes) Subscriptions(ctx context.Context) ([]string, error) {
	rows, err := m.s.readQuery(ctx, "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", m.acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, m.s.closedErr(err)
		}
		out = append(out, n)
	}
	return out, m.s.closedErr(rows.Err())
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
