package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// Object identity (RFC 8474), save dates (RFC 8514) and previews
// (RFC 8970). Layout:
//   - messages.email_id and thread_id are the numbers of the store's email
//     and thread IDs (store.FormatEmailID, FormatThreadID); savedate is
//     the Unix time the row was saved into its mailbox, 0 when unknown
//     (rows older than schema 3). expunged keeps all three.
//   - thread_index maps a message ID (Message-ID, or one named in
//     In-Reply-To or References) to the thread of the account it belongs
//     to (see assignThread).
//   - blobs.preview is the body's preview, NULL when it was stored before
//     previews were kept.
//
// The indexes on email_id and thread_id are made by migrateObjectIDs (a
// database of schema 2 gets the columns there first).
const objectSchema = `
CREATE TABLE IF NOT EXISTS thread_index (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	message_id TEXT NOT NULL,
	thread_id  INTEGER NOT NULL,
	PRIMARY KEY (account_id, message_id)
) WITHOUT ROWID;
`

// migrateObjectIDs (schema 3) adds the columns a database of an older
// schema lacks, gives every existing row a random email ID and a thread of
// its own (their headers are not read again) and no save date, and makes
// the indexes.
func migrateObjectIDs(tx *sql.Tx) error {
	cols := []struct{ table, col, def string }{
		{"messages", "email_id", "INTEGER NOT NULL DEFAULT 0"},
		{"messages", "thread_id", "INTEGER NOT NULL DEFAULT 0"},
		{"messages", "savedate", "INTEGER NOT NULL DEFAULT 0"},
		{"expunged", "email_id", "INTEGER NOT NULL DEFAULT 0"},
		{"expunged", "thread_id", "INTEGER NOT NULL DEFAULT 0"},
		{"expunged", "savedate", "INTEGER NOT NULL DEFAULT 0"},
		{"blobs", "preview", "TEXT"},
	}
	for _, c := range cols {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", c.table, c.col).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := tx.Exec("ALTER TABLE " + c.table + " ADD COLUMN " + c.col + " " + c.def); err != nil {
			return err
		}
	}
	for _, q := range []string{
		// The same range as store.NewObjectNumber.
		"UPDATE messages SET email_id = 1 + (random() & 0x3fffffffffffffff) WHERE email_id = 0",
		"UPDATE messages SET thread_id = email_id WHERE thread_id = 0",
		"UPDATE expunged SET email_id = 1 + (random() & 0x3fffffffffffffff) WHERE email_id = 0",
		"UPDATE expunged SET thread_id = email_id WHERE thread_id = 0",
		"CREATE INDEX IF NOT EXISTS messages_email ON messages (email_id)",
		"CREATE INDEX IF NOT EXISTS messages_thread ON messages (thread_id)",
	} {
		if _, err := tx.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

// objectIDs are the identity and save date of a new message row.
type objectIDs struct {
	email, thread int64
	saved         time.Time
}

// newObjectIDs makes the identity of a message delivered or appended to
// an account: a new email ID, and the thread assignThread finds.
func (w *wtx) newObjectIDs(accountID int64, a *blobfs.Analysis, now time.Time) (objectIDs, error) {
	email, err := w.nextEmailNumber(accountID)
	if err != nil {
		return objectIDs{}, err
	}
	ids := objectIDs{email: email, saved: now}
	t, err := w.assignThread(accountID, a.MessageID, a.Parents, ids.email)
	ids.thread = t
	return ids, err
}

// Email numbers count up per account: the account's ID in the bits above
// emailSeqBits and the account's own sequence below, kept in meta under
// "email_seq:<account ID>" (never reset, so not even a deleted account's
// reused ID hands a number out twice). Server-wide unique, and they tell
// a user nothing of other accounts. Random numbers (store.NewObjectNumber,
// what a database of schema 3 got) sent every insert into the
// messages_email and messages_thread indexes to a random leaf page: 2.6
// of the 12.5 pages each delivery wrote to the WAL (issue 7). In order,
// the account's deliveries share the last leaf. An account ID or sequence
// beyond the bits falls back to a random number, in the range of the
// old ones; a collision with one of those is as unlikely as between two
// of them.
const (
	emailSeqBits       = 38 // 2.7e11 messages per account
	emailSeqAccountMax = 1<<(62-emailSeqBits) - 1
)

func (w *wtx) nextEmailNumber(accountID int64) (int64, error) {
	if accountID <= 0 || accountID > emailSeqAccountMax {
		return store.NewObjectNumber(), nil
	}
	var n int64
	err := w.queryRow(`INSERT INTO meta (key, value) VALUES (?, 1)
		ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`, "email_seq:"+strconv.FormatInt(accountID, 10)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: email number: %w", err)
	}
	if n <= 0 || n >= 1<<emailSeqBits {
		return store.NewObjectNumber(), nil
	}
	return accountID<<emailSeqBits | n, nil
}

// assignThread is the thread of a new message of the account (see
// docs/ARCHITECTURE.md, "Object identity"): the thread already indexed
// under its own Message-ID (a reply to it arrived first), else under the
// nearest of its parents (In-Reply-To, then References from the end),
// else a new thread numbered like the message. Its own ID and its
// parents' are then indexed under that thread where they are not yet, so
// a later reply, or a parent arriving late, finds it.
func (w *wtx) assignThread(accountID int64, own string, parents []string, emailID int64) (int64, error) {
	keys := make([]string, 0, 1+len(parents))
	if own != "" {
		keys = append(keys, own)
	}
	keys = append(keys, parents...)
	if len(keys) == 0 {
		return emailID, nil
	}
	js, err := json.Marshal(keys)
	if err != nil {
		return 0, err
	}
	rows, err := w.query("SELECT message_id, thread_id FROM thread_index WHERE account_id = ? AND message_id IN (SELECT value FROM json_each(?))",
		accountID, string(js))
	if err != nil {
		return 0, err
	}
	found := map[string]int64{}
	for rows.Next() {
		var id string
		var t int64
		if err := rows.Scan(&id, &t); err != nil {
			rows.Close()
			return 0, err
		}
		found[id] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	thread := emailID
	for _, k := range keys {
		if t, ok := found[k]; ok {
			thread = t
			break
		}
	}
	if len(found) < len(keys) {
		if _, err := w.exec("INSERT OR IGNORE INTO thread_index (account_id, message_id, thread_id) SELECT ?, value, ? FROM json_each(?)",
			accountID, thread, string(js)); err != nil {
			return 0, err
		}
	}
	return thread, nil
}

// FindEmails implements store.ObjectLookup.
func (s *Store) FindEmails(ctx context.Context, account string, emailIDs []string) (map[string][]store.EmailLocation, error) {
	acc, err := s.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	nums := make([]int64, 0, len(emailIDs))
	for _, id := range emailIDs {
		if n, ok := store.ParseEmailID(id); ok {
			nums = append(nums, n)
		}
	}
	out := map[string][]store.EmailLocation{}
	if len(nums) == 0 {
		return out, nil
	}
	js, err := json.Marshal(nums)
	if err != nil {
		return nil, err
	}
	rows, err := s.readQuery(ctx, `SELECT m.email_id, b.id, b.name, b.uidvalidity, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
		WHERE m.email_id IN (SELECT value FROM json_each(?)) AND b.account_id = ? ORDER BY b.id, m.uid`, string(js), acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n, uid int64
		var loc store.EmailLocation
		if err := rows.Scan(&n, &loc.MailboxID, &loc.Mailbox, &loc.UIDValidity, &uid); err != nil {
			return nil, s.closedErr(err)
		}
		loc.UID = store.UID(uid)
		id := store.FormatEmailID(n)
		out[id] = append(out[id], loc)
	}
	return out, s.closedErr(rows.Err())
}

// ThreadEmails implements store.ObjectLookup.
func (s *Store) ThreadEmails(ctx context.Context, account, threadID string) ([]string, error) {
	acc, err := s.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	out := []string{}
	t, ok := store.ParseThreadID(threadID)
	if !ok {
		return out, nil
	}
	rows, err := s.readQuery(ctx, `SELECT m.email_id, MIN(m.internaldate) AS received FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
		WHERE m.thread_id = ? AND b.account_id = ? GROUP BY m.email_id ORDER BY received, m.email_id`, t, acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n, saved int64
		if err := rows.Scan(&n, &saved); err != nil {
			return nil, s.closedErr(err)
		}
		out = append(out, store.FormatEmailID(n))
	}
	return out, s.closedErr(rows.Err())
}

// Previews implements store.PreviewReader.
func (s *Store) Previews(ctx context.Context, blobIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(blobIDs) == 0 {
		return out, nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(blobIDs)))
	js, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readQuery(ctx, "SELECT id, preview FROM blobs WHERE id IN (SELECT value FROM json_each(?)) AND preview IS NOT NULL", string(js))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, s.closedErr(err)
		}
		out[id] = p
	}
	return out, s.closedErr(rows.Err())
}

// insertBlob inserts the row of a body (or, for a body stored before
// previews were kept, adds its preview).
func (w *wtx) insertBlob(id string, size int64, a *blobfs.Analysis) error {
	if _, err := w.exec(`INSERT INTO blobs (id, size, structure, preview) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET preview = excluded.preview WHERE blobs.preview IS NULL`,
		id, size, a.Structure, a.Preview); err != nil {
		return fmt.Errorf("sqlite: insert blob: %w", err)
	}
	return w.putTextSignature(id, a.TextSig)
}

// savedOf is the save date of a savedate column: zero when unknown.
func savedOf(unix int64) time.Time {
	if unix == 0 {
		return time.Time{}
	}
	return time.Unix(unix, 0).UTC()
}

var (
	_ store.ObjectLookup  = (*Store)(nil)
	_ store.PreviewReader = (*Store)(nil)
)

// objectColumns are scan destinations for email_id, thread_id, savedate.
type objectColumns struct{ email, thread, saved int64 }

func (c *objectColumns) fill(m *store.MessageDetail) {
	m.EmailID = store.FormatEmailID(c.email)
	m.ThreadID = store.FormatThreadID(c.thread)
	m.SaveDate = savedOf(c.saved)
}
