package sqlite

// schema is the whole database layout. Notes:
//   - mailboxes.recent_uid is the \Recent watermark: messages with
//     uid >= recent_uid have not been claimed by a session yet
//     (RFC 3501 §2.3.2, see ClaimRecent).
//   - messages.flags is the sorted, space-separated flag list; seen and
//     deleted mirror \Seen and \Deleted so STATUS counts need no parsing.
//   - internaldate is Unix seconds, tzoffset the zone offset in seconds, so
//     an INTERNALDATE given at APPEND keeps its zone (RFC 3501 §2.3.3).
//   - blobs lists the stored bodies; a row exists while at least one message
//     refers to it, and its structure (internal/mime's encoding) is computed
//     once per body, shared by every copy.
//   - tombstones keep expunged UIDs with the MODSEQ of their expunge for
//     QRESYNC's VANISHED (RFC 7162 §3.2.10).
//   - meta holds counters: the last UIDVALIDITY handed out, so a mailbox
//     deleted and re-created in the same second gets a new one
//     (RFC 3501 §2.3.1.1).
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
	structure BLOB
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
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS messages_blob ON messages (blob_id);

CREATE TABLE IF NOT EXISTS tombstones (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_modseq ON tombstones (mailbox_id, modseq);
`
