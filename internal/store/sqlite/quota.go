package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/letterbox/letterbox/internal/store"
)

// quotaSchema keeps each account's quota (RFC 9208; store/quota.go):
// storage_used and messages_used count the account's live message rows
// (size and number) and are kept exact by triggers on messages, so every
// path that adds or removes a row (delivery, APPEND, COPY, MOVE, EXPUNGE,
// mailbox DELETE) updates them in its own transaction; a row going to
// expunged no longer counts. MOVE and RENAME of INBOX change mailbox_id or
// insert then delete, and leave the sums as they were. storage_limit and
// message_limit are the account's own limits (NULL: the store's default;
// 0: unlimited). The row is made with the account (trigger) and goes with
// it (ON DELETE CASCADE).
const quotaSchema = `
CREATE TABLE IF NOT EXISTS account_quota (
	account_id    INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	storage_used  INTEGER NOT NULL DEFAULT 0,
	messages_used INTEGER NOT NULL DEFAULT 0,
	storage_limit INTEGER,
	message_limit INTEGER
);
CREATE TRIGGER IF NOT EXISTS account_quota_new AFTER INSERT ON accounts BEGIN
	INSERT OR IGNORE INTO account_quota (account_id) VALUES (NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS account_quota_add AFTER INSERT ON messages BEGIN
	UPDATE account_quota SET storage_used = storage_used + NEW.size, messages_used = messages_used + 1
		WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = NEW.mailbox_id);
END;
CREATE TRIGGER IF NOT EXISTS account_quota_remove AFTER DELETE ON messages BEGIN
	UPDATE account_quota SET storage_used = storage_used - OLD.size, messages_used = messages_used - 1
		WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = OLD.mailbox_id);
END;
`

// quotaInit gives accounts of a database made before quotaSchema their
// counters, from their rows; one statement, so atomic. It finds nothing to
// do once every account has its row.
const quotaInit = `
INSERT OR IGNORE INTO account_quota (account_id, storage_used, messages_used)
SELECT a.id,
	(SELECT COALESCE(SUM(m.size), 0) FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id WHERE b.account_id = a.id),
	(SELECT COUNT(*) FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id WHERE b.account_id = a.id)
FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM account_quota q WHERE q.account_id = a.id)`

const quotaQuery = `SELECT q.storage_used, q.messages_used, q.storage_limit, q.message_limit
	FROM account_quota q WHERE q.account_id = ?`

const quotaByName = `SELECT q.storage_used, q.messages_used, q.storage_limit, q.message_limit
	FROM accounts a JOIN account_quota q ON q.account_id = a.id WHERE a.name = ?`

// scanQuota reads quotaQuery's row and applies the default limits.
func scanQuota(row *sql.Row, def store.QuotaLimits) (store.Quota, error) {
	var q store.Quota
	var sl, ml sql.NullInt64
	if err := row.Scan(&q.Storage.Used, &q.Messages.Used, &sl, &ml); err != nil {
		return q, err
	}
	q.Storage.Limit, q.Storage.Default = store.EffectiveLimit(sl.Int64, sl.Valid, def.Storage)
	q.Messages.Limit, q.Messages.Default = store.EffectiveLimit(ml.Int64, ml.Valid, def.Messages)
	return q, nil
}

// checkQuota is called after rows were added to the account in this
// transaction: ErrOverQuota when the usage is now above a limit, and the
// caller rolls back (a savepoint for one delivery target, the whole
// request for COPY). The single committer makes check and insert one step.
func (w *wtx) checkQuota(accountID int64) error {
	q, err := scanQuota(w.queryRow(quotaQuery, accountID), w.s.defaultQuota)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // deleted in this transaction
	}
	if err != nil {
		return err
	}
	if q.OverQuota() {
		return store.ErrOverQuota
	}
	return nil
}

// Quota returns the account's usage and limits (store.Quotas).
func (s *Store) Quota(ctx context.Context, account string) (store.Quota, error) {
	if s.isClosing() {
		return store.Quota{}, store.ErrClosed
	}
	st, err := s.readStmt(quotaByName)
	if err != nil {
		return store.Quota{}, s.readErr(err)
	}
	q, err := scanQuota(st.QueryRowContext(ctx, store.NormalizeAccount(account)), s.defaultQuota)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Quota{}, store.ErrNoSuchAccount
	}
	return q, s.closedErr(err)
}

// SetQuota sets the account's own limits (store.Quotas).
func (s *Store) SetQuota(ctx context.Context, account string, storage, messages int64) error {
	account = store.NormalizeAccount(account)
	arg := func(v int64) any {
		if v < 0 {
			return nil
		}
		return v
	}
	return s.write(ctx, func(w *wtx) error {
		acc, err := w.account(account)
		if err != nil {
			return err
		}
		_, err = w.exec(`UPDATE account_quota SET storage_limit = ?, message_limit = ? WHERE account_id = ?`,
			arg(storage), arg(messages), acc.ID)
		return err
	})
}
