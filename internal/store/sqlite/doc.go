// Package sqlite is letterbox's embedded store driver: metadata in SQLite
// (WAL mode) at Dir/letterbox.db, message bodies as immutable
// content-addressed files under Dir/blobs. The SQLite engine is
// modernc.org/sqlite (pure Go) by default, github.com/mattn/go-sqlite3
// (cgo) with -tags sqlite_cgo; engine_*.go hold all that differs.
//
// # Writes: one committer, group commit
//
// Every write (delivery, flag change, expunge, mailbox change) is a request
// to one committer goroutine that owns the only writer connection. It takes
// all requests queued at that moment, runs each in its own SAVEPOINT of a
// single transaction (a failing request, or a failing delivery target, is
// rolled back alone), fsyncs the blob directories the batch touched, and
// commits once. Callers are answered, and change-feed events published in
// commit order, only after that commit. Serialising writes this way also
// makes read-modify-write operations (UID and MODSEQ allocation, +FLAGS)
// race-free without locks in SQL. Reads use a separate pool of read-only
// connections with prepared statements (reads.go); a read is one
// statement where it can be (one statement sees one WAL snapshot), else
// one transaction.
//
// # Durability of a delivery
//
//  1. The calling goroutine streams the body into Dir/blobs/tmp, normalising
//     line endings to CRLF (a bare LF becomes CRLF; a bare CR is kept),
//     computing its SHA-256 and enforcing MaxMessageSize, then fsyncs the
//     file. The MIME structure is parsed from it (internal/mime).
//  2. The committer renames it to Dir/blobs/<2 hex>/<62 hex> — or drops it
//     when that content is already stored (one copy for every recipient and
//     every later identical delivery; a file there that no committed row
//     names is replaced, not trusted) — and inserts the rows.
//  3. Before the commit it fsyncs each blob directory touched by the batch
//     (and Dir/blobs when a fan-out directory was created).
//  4. It commits with synchronous=FULL in WAL mode: the WAL is fsynced, so a
//     returned commit survives power loss.
//  5. Only then does Deliver return. A kill -9 at any point leaves either no
//     row (the message was not acknowledged; a leftover temp file is removed
//     at the next Open, a leftover renamed blob is harmless and replaced if
//     the same content arrives) or a committed row whose blob is durable.
//
// The FS option is the seam the durability tests use to record this order.
//
// # MODSEQ
//
// A change is one message appended, one message whose flags changed, or one
// message expunged; each takes the next MODSEQ of its mailbox (RFC 7162
// §3.1), so a STORE over K messages that changes all of them raises
// HIGHESTMODSEQ by K. A new mailbox starts at HIGHESTMODSEQ 1. Expunged
// UIDs stay as tombstones with the MODSEQ of their expunge.
//
// # Expunged content and blob lifetime
//
// An expunge (also MOVE, RENAME of INBOX, mailbox or account DELETE) keeps
// each removed message's content in the expunged table, with the MODSEQ of
// its expunge, while a store.Pin of its mailbox may still refer to it: a
// session that has not announced the expunge can still FETCH the message
// (Details and OpenBlob answer). A collection on the committer goroutine
// (collect.go) deletes the rows no pin holds any more, then the blobs rows
// no message and no remaining expunged row refers to, then their files.
// Placement and removal of blob files both run on the committer and, across
// processes sharing the directory, under the flock on blobs/.lock, so a
// delivery of the same content never loses its file.
//
// # What is answered from memory
//
// Ten sessions on one mailbox turn every write into ten reads of it, and
// all writes wait for the one committer, so what needs no SQL does not
// use it:
//   - Mailbox.HighestModSeq answers from a per-mailbox value the
//     committer sets right after each COMMIT, before it answers the
//     writers and publishes; a mailbox not seen since Open is read once
//     from the database (a stale read never lowers a newer value).
//   - Mailbox.Changes answers from a per-mailbox change log (changelog.go)
//     that the committer fills at the same moment, under the same lock,
//     for mailboxes a session has pinned; a since below the log's horizon
//     goes to SQL.
//   - The \Recent watermark is in memory (recent.go): ClaimRecent is one
//     read, never a write; the mark is persisted with the next batch and
//     at Close.
//   - Stored structures are cached by content address (details.go); a
//     dense UID set is read as one range.
//
// # Limits
//
// The change feed, the HIGHESTMODSEQ cache, the change logs, the \Recent
// marks and the pins are in-process: a second process writing the same
// data directory (the CLI while the server runs) is safe for the data
// (SQLite locking, busy_timeout, the blob lock; each process removes only
// its own dead temp files, see blobfs.ClaimSpool) but its changes are not
// announced to the server's sessions, the server's HighestModSeq and
// change logs do not see them (a log finds the gap at this process's next
// write to the mailbox and starts again), and its collections do not know
// the server's pins (it only collects mailboxes it changed itself). What a
// crash left uncollected goes at the next Open that finds no other
// process using the directory.
package sqlite
