package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// quotaMigration (schema version 4) keeps each account's quota (RFC 9208;
// store/quota.go): storage_used and messages_used count the account's live
// message rows and are kept exact by statement-level triggers on messages
// (one UPDATE per statement, however many rows it inserted or deleted), so
// every path that adds or removes rows updates them in its own
// transaction. The UPDATE locks the account's row until commit: concurrent
// deliveries to one account take turns there, and each checks the sum it
// made (checkQuota), so two of them cannot both squeeze under a limit.
// The triggers look the account up through mailboxes, so a mailbox's
// messages are deleted before the mailbox (deleteMailboxRows). Existing
// accounts get their counters from their rows here.
const quotaMigration = `
CREATE TABLE account_quota (
	account_id    bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	storage_used  bigint NOT NULL DEFAULT 0,
	messages_used bigint NOT NULL DEFAULT 0,
	storage_limit bigint,
	message_limit bigint
);

CREATE FUNCTION account_quota_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO account_quota (account_id) SELECT id FROM new_rows ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER account_quota_new AFTER INSERT ON accounts
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION account_quota_new();

CREATE FUNCTION account_quota_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE account_quota q SET storage_used = q.storage_used + d.size, messages_used = q.messages_used + d.n
	FROM (SELECT b.account_id, SUM(r.size) AS size, COUNT(*) AS n
		FROM new_rows r JOIN mailboxes b ON b.id = r.mailbox_id GROUP BY b.account_id) d
	WHERE q.account_id = d.account_id;
	RETURN NULL;
END $$;
CREATE TRIGGER account_quota_add AFTER INSERT ON messages
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION account_quota_add();

CREATE FUNCTION account_quota_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE account_quota q SET storage_used = q.storage_used - d.size, messages_used = q.messages_used - d.n
	FROM (SELECT b.account_id, SUM(r.size) AS size, COUNT(*) AS n
		FROM old_rows r JOIN mailboxes b ON b.id = r.mailbox_id GROUP BY b.account_id) d
	WHERE q.account_id = d.account_id;
	RETURN NULL;
END $$;
CREATE TRIGGER account_quota_remove AFTER DELETE ON messages
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION account_quota_remove();

INSERT INTO account_quota (account_id, storage_used, messages_used)
SELECT a.id, COALESCE(SUM(m.size), 0), COUNT(m.uid)
FROM accounts a LEFT JOIN mailboxes b ON b.account_id = a.id LEFT JOIN messages m ON m.mailbox_id = b.id
GROUP BY a.id;
`

const quotaColumns = "q.storage_used, q.messages_used, q.storage_limit, q.message_limit"

// scanQuota reads quotaColumns and applies the default limits.
func scanQuota(row pgx.Row, def store.QuotaLimits) (store.Quota, error) {
	var q store.Quota
	var sl, ml *int64
	if err := row.Scan(&q.Storage.Used, &q.Messages.Used, &sl, &ml); err != nil {
		return q, err
	}
	val := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	q.Storage.Limit, q.Storage.Default = store.EffectiveLimit(val(sl), sl != nil, def.Storage)
	q.Messages.Limit, q.Messages.Default = store.EffectiveLimit(val(ml), ml != nil, def.Messages)
	return q, nil
}

// checkQuota is called after rows were added to the account in this
// transaction (whose trigger holds the account's quota row locked):
// ErrOverQuota when the usage is now above a limit, and the caller rolls
// back (a savepoint for one delivery target, the transaction for COPY).
func (w *wtx) checkQuota(accountID int64) error {
	q, err := scanQuota(w.queryRow("SELECT "+quotaColumns+" FROM account_quota q WHERE q.account_id = $1", accountID), w.s.defaultQuota)
	if errors.Is(err, pgx.ErrNoRows) {
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
	q, err := s.db()
	if err != nil {
		return store.Quota{}, err
	}
	res, err := scanQuota(q.QueryRow(ctx, "SELECT "+quotaColumns+" FROM accounts a JOIN account_quota q ON q.account_id = a.id WHERE a.name = $1",
		store.NormalizeAccount(account)), s.defaultQuota)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Quota{}, store.ErrNoSuchAccount
	}
	return res, err
}

// SetQuota sets the account's own limits (store.Quotas).
func (s *Store) SetQuota(ctx context.Context, account string, storage, messages int64) error {
	arg := func(v int64) *int64 {
		if v < 0 {
			return nil
		}
		return &v
	}
	return s.write(ctx, func(w *wtx) error {
		tag, err := w.exec(`UPDATE account_quota q SET storage_limit = $2, message_limit = $3
			FROM accounts a WHERE a.id = q.account_id AND a.name = $1`,
			store.NormalizeAccount(account), arg(storage), arg(messages))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoSuchAccount
		}
		return nil
	})
}
