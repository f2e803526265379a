// Package jmapserver is letterbox's JMAP front end: the core protocol of
// RFC 8620 (session resource, API requests with result references, blobs,
// push over EventSource) and the mail objects of RFC 8621 (Mailbox, Thread,
// Email, SearchSnippet, Identity, EmailSubmission), served over HTTP from the
// same store as IMAP and POP3.
//
// It imports the store contract, auth and mime only (internal/archtest).
// State strings are derived from the store's per-mailbox HIGHESTMODSEQ (see
// state.go); /changes answers from the store's tombstones, the same query
// that serves IMAP QRESYNC; push is the store's change feed.
//
// Files by concept: server.go (HTTP, TLS sniffing, authentication),
// session.go (the session resource, §2), request.go (request/response and
// result references, §3), errors.go (error types and limits, §3.6),
// pointer.go (JSON pointers, §3.7), state.go (state strings), blob.go
// (upload/download, Blob/copy, §6), push.go (EventSource, §7.3),
// shared.go (accounts of the mailboxes other users shared through IMAP
// ACLs, with their rights), tokens.go (login tokens kept in the store), and
// one file per object type's methods.
package jmapserver
