package sqlite

import (
	"database/sql"
	"errors"
)

// schema is the whole database layout. Notes:
//   - mailboxes.recent_uid is the persisted copy of the \Recent
//     watermark: messages with uid >= recent_uid have not been claimed by
//     a session yet (RFC 3501 §2.3.2). The live mark is in memory
//     (recent.go); this copy may lag it until the next batch or Close.
//   - messages.flags is the sorted, space-separated flag list; seen and
//     deleted mirror \Seen and \Deleted so STATUS counts need no parsing.
//   - internaldate is Unix seconds, tzoffset the zone offset in seconds, so
//     an INTERNALDATE given at APPEND keeps its zone (RFC 3501 §2.3.3).
//   - blobs lists the stored bodies; a row exists while at least one message
//     refers to it, and its structure (internal/mime's encoding) is computed
//     once per body, shared by every copy.
//   - tombstones keep expunged UIDs with the MODSEQ of their expunge for
//     QRESYNC's VANISHED (RFC 7162 §3.2.10).
//   - expunged keeps the content of expunged messages (as they were when
//     expunged) while a session may still FETCH them: a session learns of
//     an expunge only when it is told (RFC 3501 §7.4.1). modseq is the
//     MODSEQ of the expunge (for a deleted mailbox: its last
//     HIGHESTMODSEQ + 1), msg_modseq the message's own. A row goes once no
//     Pin of the mailbox holds that MODSEQ (collect.go); it keeps its blob
//     (and the file) alive like a message row does. No foreign key to
//     mailboxes: the rows of a deleted mailbox outlive it.
//   - subscriptions are kept by name, apart from the mailboxes (RFC 3501
//     §6.3.6): DELETE leaves them, RENAME moves them. mailboxes.subscribed
//     is no longer used (schema 2 copied it into subscriptions).
//   - messages and expunged carry the object identity (RFC 8474) and the
//     save date (RFC 8514) of each row, blobs the preview (RFC 8970) of
//     each body: see objectid.go (schema 3).
//   - meta holds counters: the last UIDVALIDITY handed out, so a mailbox
//     deleted and re-created in the same second gets a new one
//     (RFC 3501 §2.3.1.1); the last mailbox ID handed out, so an ID is
//     never reused (expunged rows, pins and feed events name mailboxes by
//     ID); the schema version.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS accounts (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	subscribed    INTEGER NOT NULL DEFAULT 0,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	recent_uid    INTEGER NOT NULL DEFAULT 1,
	UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS blobs (
	id        TEXT PRIMARY KEY,
	size      INTEGER NOT NULL,
	structure BLOB,
	preview   TEXT
);

CREATE TABLE IF NOT EXISTS messages (
	mailbox_id   INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid          INTEGER NOT NULL,
	modseq       INTEGER NOT NULL,
	flags        TEXT NOT NULL DEFAULT '',
	seen         INTEGER NOT NULL DEFAULT 0,
	deleted      INTEGER NOT NULL DEFAULT 0,
	internaldate INTEGER NOT NULL,
	tzoffset     INTEGER NOT NULL DEFAULT 0,
	size         INTEGER NOT NULL,
	blob_id      TEXT NOT NULL REFERENCES blobs(id),
	email_id     INTEGER NOT NULL DEFAULT 0,
	thread_id    INTEGER NOT NULL DEFAULT 0,
	savedate     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS messages_blob ON messages (blob_id);

CREATE TABLE IF NOT EXISTS tombstones (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	email_id   INTEGER NOT NULL DEFAULT 0,
	thread_id  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_modseq ON tombstones (mailbox_id, modseq);

CREATE TABLE IF NOT EXISTS expunged (
	mailbox_id   INTEGER NOT NULL,
	uid          INTEGER NOT NULL,
	modseq       INTEGER NOT NULL,
	msg_modseq   INTEGER NOT NULL,
	flags        TEXT NOT NULL DEFAULT '',
	internaldate INTEGER NOT NULL,
	tzoffset     INTEGER NOT NULL DEFAULT 0,
	size         INTEGER NOT NULL,
	blob_id      TEXT NOT NULL REFERENCES blobs(id),
	email_id     INTEGER NOT NULL DEFAULT 0,
	thread_id    INTEGER NOT NULL DEFAULT 0,
	savedate     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged (mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS expunged_blob ON expunged (blob_id);

CREATE TABLE IF NOT EXISTS subscriptions (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
` + searchSchema + // search.go
	metadataSchema + // metadata.go
	loginHistorySchema + // loginhistory.go
	quotaSchema + // quota.go
	urlauthSchema + // urlauth.go
	objectSchema + // objectid.go
	aclSchema + // acl.go
	aliasSchema + // alias.go
	queueSchema + // queue.go
	journalSchema + // journal.go
	queueDSNSchema + // queue.go
	tokenSchema // tokens.go

// schemaVersion is meta's 'schema' value once migrate ran.
const schemaVersion = 4

// migrate brings data of older schemas up to date, once, in one write
// transaction (a second process opening at the same moment waits for it
// and then finds nothing to do):
//   - 2: subscriptions move from mailboxes.subscribed to their own table.
//   - 3: object IDs, save dates and previews (objectid.go,
//     migrateObjectIDs).
//   - 4: tombstones keep the object IDs (tombstone.go,
//     migrateTombstoneObjects).
func migrate(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int64
	err = tx.QueryRow("SELECT value FROM meta WHERE key = 'schema'").Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if v >= schemaVersion {
		return nil
	}
	if v < 2 {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO subscriptions (account_id, name)
			SELECT account_id, name FROM mailboxes WHERE subscribed <> 0`); err != nil {
			return err
		}
	}
	if v < 3 {
		if err := migrateObjectIDs(tx); err != nil {
			return err
		}
	}
	if v < 4 {
		if err := migrateTombstoneObjects(tx); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('schema', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, schemaVersion); err != nil {
		return err
	}
	return tx.Commit()
}
