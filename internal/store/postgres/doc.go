// Package postgres is letterbox's multi-node store driver: several
// letterbox nodes open one PostgreSQL database (github.com/jackc/pgx/v5,
// pgxpool) and share accounts, mailboxes, messages and the change feed.
//
//	s, err := postgres.Open(ctx, postgres.Options{DSN: "postgres://..."})
//
// It implements store.Store with the SQLite driver's semantics and passes
// the same conformance suite (internal/store/storetest). Decisions:
//
//   - Schema: created or migrated by Open, in the connection's current
//     schema (search_path), one transaction under an advisory lock so
//     nodes starting together do not race; schema_version records the
//     migrations applied (schema.go).
//   - Bodies are stored in the database (blobs + blob_chunks, bytea rows of
//     256 KiB), not on a shared file system: nodes share nothing but the
//     database. A delivery spools the body to a local temp file (CRLF
//     normalisation, SHA-256 content address, size limit: the shared
//     internal/store/blobfs code), then COPYs it in chunk by chunk; a Blob
//     reads one chunk at a time. One row per content, however many copies.
//     Spool files are named per Store under a flock (blobfs.ClaimSpool), so
//     Open removes what a killed process left without touching a live
//     one's.
//   - Expunged content (collect.go) stays readable (Details, OpenBlob)
//     while this node's pins hold it and, in any case, for a grace period
//     (Options.ExpungedGrace, default 10 minutes) that sessions on other
//     nodes rely on: pins are per node. HighestModSeq is one primary-key
//     read.
//   - Concurrency: READ COMMITTED write transactions that lock the
//     mailbox row before changing its messages. UID and MODSEQ come from
//     UPDATE mailboxes SET uidnext = uidnext + n, highestmodseq =
//     highestmodseq + n ... RETURNING, so allocation is atomic across
//     nodes; StoreFlags, Expunge, ClaimRecent lock with SELECT ... FOR
//     UPDATE. Deadlocks and foreign-key races are retried (write.go).
//     Reads that need one snapshot (Changes, Status, Messages) run in
//     REPEATABLE READ READ ONLY transactions.
//   - Durability: Deliver returns after COMMIT; a session whose server
//     default is synchronous_commit=off turns it on. No group commit in
//     the driver: PostgreSQL already groups concurrent WAL flushes.
//   - Change feed: each write queues its events and sends them with
//     pg_notify on channel letterbox_changes (per schema: see channelFor)
//     right before COMMIT, so they are delivered only if it commits, in
//     commit order. One LISTEN connection per Store feeds a local
//     store.Feed; a writer returns once its own events are on that feed.
//     The listener reconnects with backoff and then announces every
//     mailbox of the watched accounts as changed (notify.go, listener.go,
//     dispatch.go).
package postgres
