package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order, each once, by Open; schema_version holds
// how many ran. Never edit a released migration: append a new one.
//
// Layout notes (version 1):
//   - Names are COLLATE "C": byte order, so ORDER BY name and the child
//     range name+'/' <= child < name+'0' mean the same as in the SQLite
//     driver whatever the database's locale.
//   - mailboxes.recent_uid is the \Recent watermark: messages with
//     uid >= recent_uid have not been claimed by a session yet
//     (RFC 3501 §2.3.2, see ClaimRecent).
//   - messages.flags is the sorted, space-separated flag list; seen and
//     deleted mirror \Seen and \Deleted so STATUS counts need no parsing.
//   - internaldate is Unix seconds, tzoffset the zone offset in seconds, so
//     an INTERNALDATE given at APPEND keeps its zone (RFC 3501 §2.3.3).
//   - blobs are message bodies, content-addressed (hex SHA-256 of the
//     CRLF-normalised bytes), one row per content however many messages
//     refer to it, with the parsed structure (internal/mime's encoding).
//     The bytes are in blob_chunks, blobChunkSize octets per row, so no
//     statement ever carries a whole large message.
//   - messages.blob_id references blobs: a delivery that reuses a body
//     holds a key-share lock on its row until it commits, which is what
//     makes collecting unreferenced blobs safe (see collectBlobs).
//   - tombstones keep expunged UIDs with the MODSEQ of their expunge for
//     QRESYNC's VANISHED (RFC 7162 §3.2.10).
//   - meta holds counters: the last UIDVALIDITY handed out, so a mailbox
//     deleted and re-created in the same second gets a new one
//     (RFC 3501 §2.3.1.1), on every node.
//
// Version 2:
//   - expunged keeps the content of expunged messages (as they were when
//     expunged) while a session may still FETCH them (RFC 3501 §7.4.1):
//     modseq is the MODSEQ of the expunge (for a deleted mailbox: its last
//     HIGHESTMODSEQ + 1), msg_modseq the message's own, expunged_at the
//     database's clock. A row keeps its blob like a message row does (the
//     same foreign key); no foreign key to mailboxes, since the rows of a
//     deleted mailbox outlive it. See collect.go for when rows go.
//   - subscriptions are kept by name, apart from the mailboxes (RFC 3501
//     §6.3.6): DELETE leaves them, RENAME moves them. mailboxes.subscribed
//     is copied in and no longer used.
//
// Version 3:
//   - blob_textsigs keeps the search signature of each body (internal/search,
//     computed at delivery with the structure; see search.go), going with
//     its blob. Bodies stored earlier have none and are searched the slow
//     way.
//
// Version 4: mailbox_metadata and server_metadata (metadata.go).
//
// Version 8: object IDs, save dates and previews (objectid.go).
var migrations = []string{
	`
CREATE TABLE IF NOT EXISTS meta (
	key   text PRIMARY KEY,
	value bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
	id            bigserial PRIMARY KEY,
	name          text COLLATE "C" NOT NULL UNIQUE,
	password_hash text NOT NULL,
	created       bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS mailboxes (
	id            bigserial PRIMARY KEY,
	account_id    bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          text COLLATE "C" NOT NULL,
	special_use   text NOT NULL DEFAULT '',
	subscribed    boolean NOT NULL DEFAULT false,
	uidvalidity   bigint NOT NULL,
	uidnext       bigint NOT NULL DEFAULT 1,
	highestmodseq bigint NOT NULL DEFAULT 1,
	recent_uid    bigint NOT NULL DEFAULT 1,
	UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS blobs (
	id         text PRIMARY KEY,
	size       bigint NOT NULL,
	chunk_size integer NOT NULL,
	structure  bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS blob_chunks (
	blob_id text NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
	seq     integer NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (blob_id, seq)
);

CREATE TABLE IF NOT EXISTS messages (
	mailbox_id   bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid          bigint NOT NULL,
	modseq       bigint NOT NULL,
	flags        text NOT NULL DEFAULT '',
	seen         boolean NOT NULL DEFAULT false,
	deleted      boolean NOT NULL DEFAULT false,
	internaldate bigint NOT NULL,
	tzoffset     integer NOT NULL DEFAULT 0,
	size         bigint NOT NULL,
	blob_id      text NOT NULL REFERENCES blobs(id),
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS messages_blob ON messages (blob_id);

CREATE TABLE IF NOT EXISTS tombstones (
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        bigint NOT NULL,
	modseq     bigint NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX IF NOT EXISTS tombstones_modseq ON tombstones (mailbox_id, modseq);
`,
	`
CREATE TABLE expunged (
	mailbox_id   bigint NOT NULL,
	uid          bigint NOT NULL,
	modseq       bigint NOT NULL,
	msg_modseq   bigint NOT NULL,
	flags        text NOT NULL DEFAULT '',
	internaldate bigint NOT NULL,
	tzoffset     integer NOT NULL DEFAULT 0,
	size         bigint NOT NULL,
	blob_id      text NOT NULL REFERENCES blobs(id),
	expunged_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_blob ON expunged (blob_id);
CREATE INDEX expunged_time ON expunged (expunged_at);

CREATE TABLE subscriptions (
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       text COLLATE "C" NOT NULL,
	PRIMARY KEY (account_id, name)
);
INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed
	ON CONFLICT DO NOTHING;
`,
	`
CREATE TABLE blob_textsigs (
	blob_id text PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	sig     bytea NOT NULL
);
`,
	metadataMigration,     // metadata.go
	loginHistoryMigration, // loginhistory.go
	quotaMigration,        // quota.go
	urlauthSchema,         // urlauth.go
	objectMigration,       // objectid.go
	aclMigration,          // acl.go
	tombstoneMigration,    // tombstone.go
	aliasMigration,        // alias.go
	queueMigration,        // queue.go
	queueDSNMigration,     // queue.go
	tokenMigration,        // tokens.go
}

// migrateLockKey is the advisory lock that serialises migrations when
// several nodes start at once ("letterbox" as an int64).
const migrateLockKey = 0x6c6574746572062

// migrate brings the schema in the connection's search_path up to date in
// one transaction, under an advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"); err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&version); err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this letterbox knows (%d)", version, len(migrations))
		}
		if version == len(migrations) {
			return nil
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM schema_version"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", len(migrations))
		return err
	})
}
