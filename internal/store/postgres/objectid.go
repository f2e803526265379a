package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/blobfs"
)

// objectMigration (version 8) adds object identity (RFC 8474), save dates
// (RFC 8514) and previews (RFC 8970), as the SQLite driver has them (see
// its objectid.go): messages and expunged get email_id, thread_id (the
// numbers of store.FormatEmailID and FormatThreadID) and savedate (Unix
// seconds, 0 when unknown); blobs get preview (NULL: stored before
// previews were kept); thread_index maps a message ID of an account to its
// thread. Existing rows get a random email ID (62 bits of an MD5 of their
// key and a random number, the range of store.NewObjectNumber), a thread
// of their own and no save date.
const objectMigration = `
ALTER TABLE messages ADD COLUMN email_id bigint NOT NULL DEFAULT 0,
	ADD COLUMN thread_id bigint NOT NULL DEFAULT 0,
	ADD COLUMN savedate bigint NOT NULL DEFAULT 0;
ALTER TABLE expunged ADD COLUMN email_id bigint NOT NULL DEFAULT 0,
	ADD COLUMN thread_id bigint NOT NULL DEFAULT 0,
	ADD COLUMN savedate bigint NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN preview text;
UPDATE messages SET email_id = 1 + (('x' || substr(md5(mailbox_id || ':' || uid || ':' || random()), 1, 16))::bit(64)::bigint & 4611686018427387903);
UPDATE messages SET thread_id = email_id;
UPDATE expunged SET email_id = 1 + (('x' || substr(md5(mailbox_id || ':' || uid || ':' || random()), 1, 16))::bit(64)::bigint & 4611686018427387903);
UPDATE expunged SET thread_id = email_id;
CREATE INDEX messages_email ON messages (email_id);
CREATE INDEX messages_thread ON messages (thread_id);
CREATE TABLE thread_index (
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	message_id text COLLATE "C" NOT NULL,
	thread_id  bigint NOT NULL,
	PRIMARY KEY (account_id, message_id)
);
`

// objectIDs are the identity and save date of a new message row.
type objectIDs struct {
	email, thread int64
	saved         time.Time
}

// newObjectIDs makes the identity of a message delivered or appended to
// an account: a new email ID, and the thread assignThread finds.
func (w *wtx) newObjectIDs(accountID int64, a *blobfs.Analysis, now time.Time) (objectIDs, error) {
	ids := objectIDs{email: store.NewObjectNumber(), saved: now}
	t, err := w.assignThread(accountID, a.MessageID, a.Parents, ids.email)
	ids.thread = t
	return ids, err
}

// assignThread is the thread of a new message of the account, by the rule
// of the SQLite driver's assignThread (docs/ARCHITECTURE.md, "Object
// identity").
func (w *wtx) assignThread(accountID int64, own string, parents []string, emailID int64) (int64, error) {
	keys := make([]string, 0, 1+len(parents))
	if own != "" {
		keys = append(keys, own)
	}
	keys = append(keys, parents...)
	if len(keys) == 0 {
		return emailID, nil
	}
	rows, err := w.query("SELECT message_id, thread_id FROM thread_index WHERE account_id = $1 AND message_id = ANY($2::text[])",
		accountID, keys)
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
		// In one order for every writer: two deliveries naming the same
		// IDs wait for each other instead of deadlocking.
		sorted := slices.Sorted(slices.Values(keys))
		if _, err := w.exec(`INSERT INTO thread_index (account_id, message_id, thread_id)
			SELECT $1, k, $2 FROM unnest($3::text[]) AS k ORDER BY k
			ON CONFLICT DO NOTHING`, accountID, thread, sorted); err != nil {
			return 0, err
		}
	}
	return thread, nil
}

// FindEmails implements store.ObjectLookup.
func (s *Store) FindEmails(ctx context.Context, account string, emailIDs []string) (map[string][]store.EmailLocation, error) {
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	acc, err := lookupAccount(ctx, q, store.NormalizeAccount(account))
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
	rows, err := q.Query(ctx, `SELECT m.email_id, b.id, b.name, b.uidvalidity, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
		WHERE m.email_id = ANY($1::bigint[]) AND b.account_id = $2 ORDER BY b.id, m.uid`, nums, acc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n, uid, uidvalidity int64
		var loc store.EmailLocation
		if err := rows.Scan(&n, &loc.MailboxID, &loc.Mailbox, &uidvalidity, &uid); err != nil {
			return nil, err
		}
		loc.UID, loc.UIDValidity = store.UID(uid), uint32(uidvalidity)
		id := store.FormatEmailID(n)
		out[id] = append(out[id], loc)
	}
	return out, rows.Err()
}

// ThreadEmails implements store.ObjectLookup.
func (s *Store) ThreadEmails(ctx context.Context, account, threadID string) ([]string, error) {
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	acc, err := lookupAccount(ctx, q, store.NormalizeAccount(account))
	if err != nil {
		return nil, err
	}
	out := []string{}
	t, ok := store.ParseThreadID(threadID)
	if !ok {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT m.email_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
		WHERE m.thread_id = $1 AND b.account_id = $2 GROUP BY m.email_id ORDER BY MIN(m.internaldate), m.email_id`, t, acc.ID)
	if err != nil {
		return nil, err
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	for _, n := range nums {
		out = append(out, store.FormatEmailID(n))
	}
	return out, nil
}

// Previews implements store.PreviewReader.
func (s *Store) Previews(ctx context.Context, blobIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(blobIDs) == 0 {
		return out, nil
	}
	q, err := s.db()
	if err != nil {
		return nil, err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(blobIDs)))
	rows, err := q.Query(ctx, "SELECT id, preview FROM blobs WHERE id = ANY($1::text[]) AND preview IS NOT NULL", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
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
